// pnpm fleet: a benchmark of a fleet of Lambda environments against one small database (issue 13).
// It starts its own MariaDB (own data directory and port) with a small max_connections, and plays
// the same day (scripts/fleet/day.ts) for each variant of one function: @thaw/db-connection,
// serverless-mysql 2.1 as its README recommends, and one module-scope mysql2 connection. A bystander
// application holds idle sessions under the same database user all day. It reports what the server
// saw and what the callers got; the README's "Fleet" section shows a run and how to read it.
//
//   pnpm fleet [--environments 100] [--max-connections 40] [--rounds 2] [--gap-seconds 20]
//              [--variants thaw,serverless-mysql,module-scope] [--thaw-options '{"fleet":{…}}']
//   pnpm fleet --variants pg [--series-file fleet-pg.json]: the PostgreSQL days (fleet/pg-day.ts)
import { parseArgs } from 'node:util'
import { bundleFleetHandler } from './fleet/bundle.ts'
import { type DayOptions, type DayReport, runDay } from './fleet/day.ts'
import { type PgDayReport, pgVariants, runPgDays } from './fleet/pg-day.ts'
import { fleetUser, startFleetServer } from './fleet/server.ts'

const { values } = parseArgs({
  options: {
    environments: { type: 'string', default: '100' },
    'max-connections': { type: 'string', default: '40' },
    rounds: { type: 'string', default: '2' },
    waves: { type: 'string', default: '3' },
    'gap-seconds': { type: 'string', default: '20' },
    'trickle-seconds': { type: 'string', default: '4' },
    'trickle-environments': { type: 'string', default: '8' },
    'work-ms': { type: 'string', default: '20' },
    'timeout-ms': { type: 'string', default: '6000' },
    'bystander-sessions': { type: 'string', default: '4' },
    variants: { type: 'string', default: 'thaw,serverless-mysql,module-scope' },
    'thaw-options': { type: 'string', default: '' },
    'series-file': { type: 'string' },
  },
})

const integer = (name: keyof typeof values, minimum: number) => {
  const value = Number(values[name])
  if (!Number.isSafeInteger(value) || value < minimum) {
    console.error(`fleet: --${name} must be an integer of at least ${minimum}, got ${values[name]}`)
    process.exit(2)
  }
  return value
}

const options: DayOptions = {
  environments: integer('environments', 1),
  rounds: integer('rounds', 1),
  waves: integer('waves', 1),
  workMs: integer('work-ms', 0),
  trickleEnvironments: integer('trickle-environments', 1),
  trickleMs: integer('trickle-seconds', 1) * 1000,
  gapMs: integer('gap-seconds', 0) * 1000,
  retireFraction: 0.25,
  timeoutMs: integer('timeout-ms', 100),
  // Lambda's smallest size: a hundred Node processes fit a 24 GiB machine with room to spare.
  memoryMb: 128,
  bystanderSessions: integer('bystander-sessions', 0),
  startConcurrency: 4,
}
// MariaDB 10.11 raises a smaller max_connections to 10.
const maxConnections = integer('max-connections', 10)
const variants = (values.variants as string)
  .split(',')
  .flatMap((variant) => (variant === 'pg' ? pgVariants : [variant]))
  .filter(Boolean)
const known = new Set(['thaw', 'serverless-mysql', 'module-scope', ...pgVariants])
for (const variant of variants) {
  if (!known.has(variant)) {
    console.error(`fleet: unknown variant '${variant}' (expected ${[...known].join(', ')})`)
    process.exit(2)
  }
}

// One line rewritten in place on a terminal; elsewhere (CI, a file) a line per change of phase.
let lastPhase = ''
const progress = (line: string) => {
  if (!process.stderr.isTTY) {
    const phase = line.split(' · ')[0] as string
    if (phase === lastPhase) return
    lastPhase = phase
  }
  if (process.stderr.isTTY)
    process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 160) - 1)}`)
  else process.stderr.write(`${line}\n`)
}

const mysqlVariants = variants.filter((variant) => !pgVariants.includes(variant))
const server = mysqlVariants.length > 0 ? await startFleetServer(maxConnections) : undefined
const reports: (DayReport | PgDayReport)[] = []
try {
  for (const variant of mysqlVariants) {
    if (!server) break
    const entry = await bundleFleetHandler(variant)
    const env: Record<string, string> =
      variant === 'thaw' && values['thaw-options'] ? { FLEET_THAW_OPTIONS: values['thaw-options'] } : {}
    reports.push(await runDay(variant, entry, server, options, env, progress))
    // The next variant starts on an empty server: the environments' sessions end with their processes.
    const deadline = Date.now() + 30_000
    for (;;) {
      const [rows] = await server.admin.query(
        'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?',
        [fleetUser],
      )
      if (Number((rows as { n: number }[])[0]?.n) === 0 || Date.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
} finally {
  await server?.stop()
}
const pgDays = variants.filter((variant) => pgVariants.includes(variant))
if (pgDays.length > 0) {
  const thawOptions = values['thaw-options'] ? JSON.parse(values['thaw-options']) : {}
  reports.push(
    ...(await runPgDays(pgDays, options, maxConnections, thawOptions, values['series-file'], progress)),
  )
}
if (process.stderr.isTTY) process.stderr.write('\n')

const one = (value: number) => value.toFixed(1)
const ms = (value: number) =>
  Number.isNaN(value) ? '-' : value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(0)} ms`
const rows = reports.map((report) => [
  report.variant,
  `${report.failed} of ${report.invocations}`,
  String(report.peak.server),
  one(report.average.server),
  `${one(report.average.heldByFrozen)} (peak ${report.peak.heldByFrozen})`,
  String(report.afterGap.environments),
  `${report.duringLastTrickle} (${options.trickleEnvironments} running)`,
  ms(report.p50Ms),
  ms(report.p99Ms),
  String(report.bystanderKilled),
  'terminated' in report ? String(report.terminated) : '-',
])
const header = [
  'variant',
  'failed',
  'server peak',
  'server mean',
  'held by frozen (mean)',
  'held after idle gap',
  'held in last trickle',
  'p50',
  'p99',
  'bystander killed',
  'terminated',
]
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
)
const line = (cells: string[]) =>
  `| ${cells.map((cell, column) => cell.padEnd(widths[column] as number)).join(' | ')} |`
console.log(
  `\nFleet: ${options.environments} classic environments, max_connections ${maxConnections}, ${options.bystanderSessions} bystander sessions, ${options.rounds} rounds of ${options.waves} burst waves, ${options.gapMs / 1000} s idle gaps, timeout ${options.timeoutMs} ms\n`,
)
console.log(line(header))
console.log(line(widths.map((width) => '-'.repeat(width))))
for (const row of rows) console.log(line(row))
for (const report of reports) {
  if (report.failures.size === 0) continue
  console.log(`\n${report.variant} failures (${report.durationS.toFixed(0)} s day):`)
  for (const [kind, count] of [...report.failures].sort((a, b) => b[1] - a[1]).slice(0, 5))
    console.log(`  ${count} × ${kind}`)
}
