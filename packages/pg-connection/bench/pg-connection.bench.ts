// Warm-invocation cost of @thaw/pg-connection against a hand-written pg middleware (one pg.Client
// opened on first use and put on the context; no health check, no hygiene, no deadline), side by side
// in one process, in interleaved rounds. CPU time of this process per invocation (the client side; the
// server's work is the same SELECT for both) and wall time, median of round medians.
//   pnpm --filter @thaw/pg-connection bench   (PG_URL, default postgres://postgres@127.0.0.1:5432/test)
import middy, { type MiddyfiedHandler } from '@middy/core'
import pg from 'pg'
import pgConnection, { closePools, type PgConnectionContext } from '../src/index.ts'

const url = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const rounds = Number(process.env.BENCH_ROUNDS ?? 15)
const perRound = Number(process.env.BENCH_INVOCATIONS ?? 300)
const sql = 'SELECT 1 AS one'

type Handler = MiddyfiedHandler<unknown, unknown>
const context = () => {
  const deadline = Date.now() + 30_000
  return { getRemainingTimeInMillis: () => deadline - Date.now() } as never
}

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

const thaw = middy()
  .use(pgConnection({ config: url }))
  .handler(
    async (_event, ctx) => (await (ctx as PgConnectionContext).db.query(sql)).rows,
  ) as unknown as Handler

const variants = [
  { name: 'hand-written pg middleware', handler: handWritten },
  { name: '@thaw/pg-connection', handler: thaw },
]

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

// Warm-up: both connected, both code paths compiled.
for (const variant of variants) for (let i = 0; i < 200; i++) await variant.handler({}, context())

const cpu = new Map<string, number[]>(variants.map((v) => [v.name, []]))
const wall = new Map<string, number[]>(variants.map((v) => [v.name, []]))
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? variants : [...variants].reverse()
  for (const variant of order) {
    const started = process.hrtime.bigint()
    const cpuBefore = process.cpuUsage()
    for (let i = 0; i < perRound; i++) await variant.handler({}, context())
    const used = process.cpuUsage(cpuBefore)
    cpu.get(variant.name)?.push((used.user + used.system) / perRound)
    wall.get(variant.name)?.push(Number(process.hrtime.bigint() - started) / 1_000 / perRound)
  }
}

const handCpu = median(cpu.get(variants[0]?.name as string) ?? [])
const handWall = median(wall.get(variants[0]?.name as string) ?? [])
console.log('| variant | CPU µs/invocation | CPU ratio | wall µs/invocation | wall ratio |')
console.log('| --- | ---: | ---: | ---: | ---: |')
for (const { name } of variants) {
  const c = median(cpu.get(name) ?? [])
  const w = median(wall.get(name) ?? [])
  console.log(
    `| ${name} | ${c.toFixed(1)} | ${(c / handCpu).toFixed(2)}x | ${w.toFixed(1)} | ${(w / handWall).toFixed(2)}x |`,
  )
}
console.log(
  `\n${rounds} interleaved rounds x ${perRound} warm invocations per variant; Node ${process.version}`,
)
await handClient?.end()
await closePools()
