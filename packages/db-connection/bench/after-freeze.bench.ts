// The warm invocation after a freeze: what every warm invocation on Lambda does,
// which db-connection.bench.ts (one process, never frozen) does not measure. Each variant runs in a
// real @thaw/lambda-sim environment (AWS's aws-lambda-ric, SIGSTOP of its process group between
// invocations, SIGCONT before the next), one environment per variant, started once; the variants are
// invoked in turn, invocation by invocation, in a rotating order, each doing `SELECT 1` through its
// own connection. Per invocation: the environment's CPU time from SIGCONT to the next SIGSTOP (all its
// threads, Linux schedstat), and the invoke() round trip.
//   node --conditions=@thaw/source bench/after-freeze.bench.ts [invocations per variant and gap]
//   (DATABASE_URL, default mysql://root@127.0.0.1:3306/test)
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import { databaseUrl, processCpuMs, sleep, waitUntilStopped, withDeadline } from '@thaw/test-support'
import mysql from 'mysql2/promise'

const perGap = Number(process.argv[2] ?? 300)
const warmUp = 50
// Frozen between two invocations of one environment: back to back (the other variants' invocations
// only, a few ms), and 200 ms. Below validateAfterIdleMs (60 s) either way: thaw's path is the poll.
const gapsMs = [0, 200]
const deadlineMs = 10_000

interface Variant {
  name: string
  fixture: string
  env?: Record<string, string>
  user?: string
  environment?: LambdaEnvironment
  frozenSince?: number
  // Per gap: environment CPU ms, invoke round trip ms, time frozen before the invocation ms.
  cpu: number[][]
  wall: number[][]
  frozen: number[][]
}
const variant = (name: string, fixture: string, env?: Record<string, string>): Variant => ({
  name,
  fixture,
  ...(env ? { env } : {}),
  cpu: gapsMs.map(() => []),
  wall: gapsMs.map(() => []),
  frozen: gapsMs.map(() => []),
})
// The first is the baseline: the hand-written middleware of db-connection.bench.ts.
const variants = [
  variant('hand-written middleware', 'hand-written'),
  variant('naive module-scope connection', 'naive-module-scope'),
  variant('@thaw/db-connection', 'thaw'),
  // What a warm invocation after a freeze longer than validateAfterIdleMs (60 s) does: a ping first.
  variant('@thaw/db-connection, validateAfterIdleMs 0 (a ping every invocation)', 'thaw', {
    DBC_VALIDATE_AFTER_IDLE_MS: '0',
  }),
]

const admin = await withDeadline(mysql.createConnection(databaseUrl()), deadlineMs, 'connecting as admin')
const base = new URL(databaseUrl())
const suffix = randomBytes(3).toString('hex')

// Each variant connects as its own user, so nothing of one variant's is ever mistaken for another's.
const createUser = async (label: string) => {
  const user = `dbc_freeze_${label}_${suffix}`
  const password = `pw-${randomBytes(6).toString('hex')}`
  await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password])
  await admin.query(`GRANT SELECT ON \`${decodeURIComponent(base.pathname.slice(1)) || 'test'}\`.* TO ?@?`, [
    user,
    '%',
  ])
  return { user, url: `mysql://${user}:${password}@${base.hostname}:${base.port || 3306}${base.pathname}` }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
const p99 = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.99))] as number

const invoke = async (into: Variant, gapIndex: number | undefined) => {
  const environment = into.environment as LambdaEnvironment
  const pid = environment.pid as number
  const frozenMs = performance.now() - (into.frozenSince ?? 0)
  const cpuBefore = processCpuMs(pid)
  const start = performance.now()
  const outcome = await environment.invoke({})
  const wallMs = performance.now() - start
  if (!outcome.ok) throw new Error(`${into.name}: ${outcome.error.name}: ${outcome.error.message}`)
  if (JSON.stringify(outcome.result) !== '[{"one":1}]')
    throw new Error(`${into.name}: answered ${JSON.stringify(outcome.result)}`)
  if (environment.pid !== pid) throw new Error(`${into.name}: the environment was reset`)
  // invoke() resolves once SIGSTOP is sent; the CPU is read once every thread has stopped.
  await waitUntilStopped(pid, 1_000)
  const cpu = processCpuMs(pid) - cpuBefore
  into.frozenSince = performance.now()
  if (gapIndex === undefined) return
  into.cpu[gapIndex]?.push(cpu)
  into.wall[gapIndex]?.push(wallMs)
  into.frozen[gapIndex]?.push(frozenMs)
}

try {
  for (const [index, into] of variants.entries()) {
    const { user, url } = await withDeadline(createUser(String(index)), deadlineMs, 'creating a user')
    into.user = user
    into.environment = await startEnvironment({
      entry: fileURLToPath(new URL(`./fixtures/${into.fixture}.ts`, import.meta.url)),
      // Workspace packages resolve to their sources: a fresh clone has no dist/.
      build: { conditions: ['@thaw/source'] },
      env: { DATABASE_URL: url, ...into.env },
    })
  }
  // The cold start (the lazy variants open their connection) and a warm-up, not counted.
  for (let round = 0; round < warmUp; round++) for (const into of variants) await invoke(into, undefined)

  // Round r follows a sleep of gapsMs[r % gaps]: the gaps alternate round by round, so a change in the
  // machine's load falls on every gap alike, and the order of the variants rotates every cycle.
  for (let round = 0; round < perGap * gapsMs.length; round++) {
    const gapIndex = round % gapsMs.length
    const rotation = Math.floor(round / gapsMs.length) % variants.length
    await sleep(gapsMs[gapIndex] as number)
    for (let offset = 0; offset < variants.length; offset++)
      await invoke(variants[(offset + rotation) % variants.length] as Variant, gapIndex)
  }

  const [baseline] = variants as [Variant]
  const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`
  for (const [gapIndex, gap] of gapsMs.entries()) {
    const frozen = median(variants.flatMap((into) => into.frozen[gapIndex] as number[]))
    const baseCpu = median(baseline.cpu[gapIndex] as number[])
    const baseWall = median(baseline.wall[gapIndex] as number[])
    console.log(
      `Warm invocation after a freeze, ${gap === 0 ? 'back to back' : `${gap} ms frozen`}, environment CPU / round trip vs the hand-written middleware (frozen ${ms(frozen)} before each, median; ${perGap} invocations per variant, interleaved)\n`,
    )
    console.log(
      '| variant | environment CPU, median | CPU p99 | round trip, median | round trip p99 | CPU / wall vs hand-written |',
    )
    console.log('| --- | --: | --: | --: | --: | --: |')
    for (const into of variants) {
      const cpu = into.cpu[gapIndex] as number[]
      const wall = into.wall[gapIndex] as number[]
      const ratio = `${(median(cpu) / baseCpu).toFixed(2)}x / ${(median(wall) / baseWall).toFixed(2)}x`
      console.log(
        `| ${into.name} | ${ms(median(cpu))} | ${ms(p99(cpu))} | ${ms(median(wall))} | ${ms(p99(wall))} | ${ratio} |`,
      )
    }
    console.log('')
  }
  console.log(`Node ${process.version}; environment CPU: every thread of the runtime, SIGCONT to SIGSTOP`)
} finally {
  for (const into of variants) await into.environment?.shutdown()
  for (const into of variants)
    if (into.user)
      await withDeadline(
        admin.query('DROP USER IF EXISTS ?@?', [into.user, '%']),
        deadlineMs,
        'dropping a user',
      )
  await admin.end()
}
