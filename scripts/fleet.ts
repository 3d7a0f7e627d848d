// pnpm fleet: a benchmark of a fleet of Lambda environments against one small database.
// It plays days (scripts/fleet/days.ts), each against one limit and each on a database server of its
// own: for MySQL, the server's max_connections and the application user's MAX_USER_CONNECTIONS
// (scripts/fleet/mysql-days.ts), and for PostgreSQL its max_connections (scripts/fleet/pg-day.ts). A day plays the same schedule (scripts/fleet/day.ts) for each variant
// of one function while a bystander application holds idle sessions under the same database user, and
// reports what the server saw and what the callers got: a table per day, and a chart per day (SVG,
// scripts/fleet/chart.ts) of the sessions held over the day and the failures. docs/benchmarks.md's
// "Fleet" section shows a run and how to read it.
//
//   pnpm fleet [--days mysql-server-limit,mysql-user-limit] [--variants thaw,serverless-mysql,module-scope]
//              [--environments N] [--limit N] [--rounds N] [--gap-seconds N] [--timeout-ms N]
//              [--thaw-options '{"fleet":{…}}'] [--chart-dir reports/fleet]
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { writeFleetChart } from './fleet/chart.ts'
import type { FleetDay, FleetDayRun, FleetOverrides } from './fleet/days.ts'
import { installInterruptHandler } from './fleet/interrupt.ts'
import { mysqlServerLimitDay, mysqlUserLimitDay } from './fleet/mysql-days.ts'
import { pgServerLimitDay } from './fleet/pg-day.ts'

// Every day the command knows, in the order played. A new day is one more entry.
const days: FleetDay[] = [mysqlServerLimitDay, mysqlUserLimitDay, pgServerLimitDay]

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: days.map((day) => day.name).join(',') },
    variants: { type: 'string' },
    environments: { type: 'string' },
    // Each chosen day's limit: max_connections, or the user's MAX_USER_CONNECTIONS.
    limit: { type: 'string' },
    rounds: { type: 'string' },
    waves: { type: 'string' },
    'gap-seconds': { type: 'string' },
    'trickle-seconds': { type: 'string' },
    'trickle-environments': { type: 'string' },
    'work-ms': { type: 'string' },
    'timeout-ms': { type: 'string' },
    'bystander-sessions': { type: 'string' },
    'thaw-options': { type: 'string', default: '' },
    'chart-dir': { type: 'string', default: 'reports/fleet' },
  },
})

const fail = (message: string): never => {
  console.error(`fleet: ${message}`)
  process.exit(2)
}

const integer = (name: keyof typeof values, minimum: number, scale = 1): number | undefined => {
  if (values[name] === undefined) return undefined
  const value = Number(values[name])
  if (!Number.isSafeInteger(value) || value < minimum)
    fail(`--${name} must be an integer of at least ${minimum}, got ${values[name]}`)
  return value * scale
}

const overrides: FleetOverrides = {
  environments: integer('environments', 1),
  limit: integer('limit', 1),
  rounds: integer('rounds', 1),
  waves: integer('waves', 1),
  gapMs: integer('gap-seconds', 0, 1000),
  trickleMs: integer('trickle-seconds', 1, 1000),
  trickleEnvironments: integer('trickle-environments', 1),
  workMs: integer('work-ms', 0),
  timeoutMs: integer('timeout-ms', 100),
  bystanderSessions: integer('bystander-sessions', 0),
  thawOptions: values['thaw-options'] || undefined,
}

const chosenDays = (values.days as string).split(',').filter(Boolean)
const plan = chosenDays.map((name) => {
  const day = days.find((candidate) => candidate.name === name)
  if (!day) return fail(`unknown day '${name}' (expected ${days.map((known) => known.name).join(', ')})`)
  const variants = values.variants ? values.variants.split(',').filter(Boolean) : [...day.variants]
  for (const variant of variants) {
    if (!day.variants.includes(variant))
      fail(`unknown variant '${variant}' for ${day.name} (expected ${day.variants.join(', ')})`)
  }
  return { day, variants }
})

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

const one = (value: number) => value.toFixed(1)
const ms = (value: number) =>
  Number.isNaN(value) ? '-' : value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(0)} ms`
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

const printRun = ({ heading, options, reports }: FleetDayRun) => {
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
    // Sessions the server ended for pg_terminate_backend (the PostgreSQL days count them).
    'terminated' in report ? String(report.terminated) : '-',
  ])
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
  )
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] as number)).join(' | ')} |`
  console.log(
    `\n${heading}, ${options.bystanderSessions} bystander sessions, ${options.rounds} rounds of ${options.waves} burst waves of a ${options.workMs} ms statement, ${options.gapMs / 1000} s idle gaps, timeout ${options.timeoutMs} ms\n`,
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
}

installInterruptHandler()
for (const { day, variants } of plan) {
  const run = await day.play(variants, overrides, progress)
  if (process.stderr.isTTY) process.stderr.write('\n')
  printRun(run)
  const chart = await writeFleetChart(join(values['chart-dir'] as string, `${day.name}.svg`), {
    title: run.heading,
    limit: run.limit,
    points: run.reports.flatMap((report) => report.timeline),
  })
  console.log(`\nchart: ${chart}`)
}
