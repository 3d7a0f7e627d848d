// Warm-invocation cost of @thaw/pg-connection beside the ways people hold a node-postgres connection in
// Lambda, side by side in one process, in interleaved rounds (the order reversed every other round).
// Each variant is a real Middy handler running `SELECT 1` against PostgreSQL; per round, the CPU time
// of this process per invocation (the client side: the server's work is the same SELECT for every
// variant, serverless-postgres's own second statement aside) and the wall time; the median of the
// round medians, as a ratio to the hand-written middleware. Writes the chart to
// docs/pg-connection-warm.svg (BENCH_CHART=<file> elsewhere, BENCH_CHART=off for none).
//   pnpm --filter @thaw/pg-connection bench   (PG_URL, default postgres://postgres@127.0.0.1:5432/test)
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import middy, { type MiddyfiedHandler } from '@middy/core'
import { getCache } from '@middy/util'
import pg from 'pg'
import ServerlessClient from 'serverless-postgres'
import pgConnection, { closePools, type PgConnectionContext } from '../src/index.ts'
import { type RoundSample, writeChart } from './chart.ts'
import { middyRdsStandIn } from './middy-rds-stand-in.ts'

const url = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const rounds = Number(process.env.BENCH_ROUNDS ?? 15)
const perRound = Number(process.env.BENCH_INVOCATIONS ?? 300)
const chartFile =
  process.env.BENCH_CHART ?? fileURLToPath(new URL('../../../docs/pg-connection-warm.svg', import.meta.url))
const sql = 'SELECT 1 AS one'

type Handler = MiddyfiedHandler<unknown, unknown>
const context = () => {
  const deadline = Date.now() + 30_000
  return { getRemainingTimeInMillis: () => deadline - Date.now() } as never
}
const { hostname, port, pathname, username } = new URL(url)
const endpoint = {
  host: hostname,
  port: Number(port || 5432),
  database: pathname.slice(1),
  user: decodeURIComponent(username),
}

// Opens one pg.Client on first use and puts it on the context; no check, no recovery, no deadline.
let handClient: pg.Client | undefined
const handWritten = middy()
  .use({
    before: async (request) => {
      if (!handClient) {
        handClient = new pg.Client({ connectionString: url })
        await handClient.connect()
      }
      ;(request.context as unknown as { db: pg.Client }).db = handClient
    },
  })
  .handler(async (_event, ctx) => (await (ctx as unknown as { db: pg.Client }).db.query(sql)).rows) as Handler

// Connected while the module loads, used by the handler directly: no middleware at all.
const moduleClient = new pg.Client({ connectionString: url })
await moduleClient.connect()
const moduleScope = middy().handler(async () => (await moduleClient.query(sql)).rows) as Handler

// serverless-postgres 2.1.2 as its README shows it: the client declared outside the handler, and
// connect(), the query and clean() in every invocation; maxConnections set to the server's own, as
// its options table advises (clean() compares the server's process count with 80 % of it, a second
// statement per invocation).
const admin = new pg.Client({ connectionString: url })
await admin.connect()
const maxConnections = Number((await admin.query('SHOW max_connections')).rows[0]?.max_connections)
await admin.end()
const serverless = new ServerlessClient({ ...endpoint, maxConnections, delayMs: 3000 })
const serverlessPostgres = middy().handler(async () => {
  await serverless.connect()
  const result = await serverless.query(sql)
  await serverless.clean()
  return result.rows
}) as Handler

const middyRds = middy()
  .use(middyRdsStandIn({ config: endpoint }))
  .handler(async (_event, ctx) => (await (ctx as unknown as { rds: pg.Pool }).rds.query(sql)).rows) as Handler

const thaw = middy()
  .use(pgConnection({ config: url }))
  .handler(
    async (_event, ctx) => (await (ctx as PgConnectionContext).db.query(sql)).rows,
  ) as unknown as Handler

const variants = [
  { name: 'hand-written pg middleware', handler: handWritten },
  { name: 'module-scope pg.Client', handler: moduleScope },
  { name: 'serverless-postgres 2.1.2', handler: serverlessPostgres },
  { name: '@middy/rds + pg.Pool (stand-in)', handler: middyRds },
  { name: '@thaw/pg-connection', handler: thaw },
]

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

// Warm-up: every variant connected, every code path compiled.
for (const variant of variants) for (let i = 0; i < 200; i++) await variant.handler({}, context())

const load = loadavg()[0] ?? 0
const samples: RoundSample[] = []
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? variants : [...variants].reverse()
  for (const variant of order) {
    const started = process.hrtime.bigint()
    const cpuBefore = process.cpuUsage()
    for (let i = 0; i < perRound; i++) await variant.handler({}, context())
    const used = process.cpuUsage(cpuBefore)
    const wall = Number(process.hrtime.bigint() - started) / 1_000 / perRound
    samples.push({ variant: variant.name, measure: 'client CPU', us: (used.user + used.system) / perRound })
    samples.push({ variant: variant.name, measure: 'wall', us: wall })
  }
}

const medianOf = (name: string, measure: RoundSample['measure']) =>
  median(samples.filter((s) => s.variant === name && s.measure === measure).map((s) => s.us))
const baseline = variants[0]?.name as string
console.log('Client CPU per warm invocation vs the hand-written middleware, wall time beside it\n')
console.log('| variant | CPU µs/invocation | CPU ratio | wall µs/invocation | wall ratio |')
console.log('| --- | ---: | ---: | ---: | ---: |')
for (const { name } of variants) {
  const c = medianOf(name, 'client CPU')
  const w = medianOf(name, 'wall')
  const cpuRatio = (c / medianOf(baseline, 'client CPU')).toFixed(2)
  const wallRatio = (w / medianOf(baseline, 'wall')).toFixed(2)
  console.log(`| ${name} | ${c.toFixed(1)} | ${cpuRatio}x | ${w.toFixed(1)} | ${wallRatio}x |`)
}
const setting = [
  `${rounds} interleaved rounds x ${perRound} warm invocations per variant, Node ${process.version}`,
  `load average ${load.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`,
]
console.log(`\n${setting.join('; ')}`)
if (chartFile !== 'off') {
  await writeChart(
    chartFile,
    'PostgreSQL: warm SELECT 1, median of round medians (bars) and each round (ticks)',
    setting,
    samples,
  )
  console.log(`chart: ${chartFile}`)
}
await handClient?.end()
await moduleClient.end()
await serverless.end()
await ((await (getCache('@middy/rds') as { value: unknown }).value) as pg.Pool).end()
await closePools()
