// Warm-invocation cost and failures under server-side KILLs, for five ways of reaching MySQL from a
// Middy handler, measured side by side in one process, in interleaved rounds.
//   pnpm --filter @thaw/db-connection bench   (DATABASE_URL, default mysql://root@127.0.0.1:3306/test)
import { randomBytes } from 'node:crypto'
import middy, { type MiddyfiedHandler } from '@middy/core'
import mysqlCallbacks from 'mysql2'
import mysql from 'mysql2/promise'
import serverlessMysql from 'serverless-mysql'
import dbConnection from '../src/index.ts'

const databaseUrl = process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test'
const rounds = Number(process.env.BENCH_ROUNDS ?? 15)
const perRound = Number(process.env.BENCH_INVOCATIONS ?? 300)
const killInvocations = Number(process.env.BENCH_KILL_INVOCATIONS ?? 200)
const killEvery = 10

const admin = await mysql.createConnection(databaseUrl)
const base = new URL(databaseUrl)
const suffix = randomBytes(3).toString('hex')

// Each variant connects as its own user, so a KILL of one variant's connections touches no other.
const createUser = async (label: string) => {
  const user = `dbc_bench_${label}_${suffix}`
  const password = `pw-${randomBytes(6).toString('hex')}`
  await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password])
  await admin.query(`GRANT ALL ON \`${decodeURIComponent(base.pathname.slice(1)) || 'test'}\`.* TO ?@?`, [
    user,
    '%',
  ])
  const url = `mysql://${user}:${password}@${base.hostname}:${base.port || 3306}${base.pathname}`
  const config = {
    host: base.hostname,
    port: Number(base.port || 3306),
    user,
    password,
    database: base.pathname.slice(1),
  }
  return { user, url, config }
}

type Handler = MiddyfiedHandler<unknown, unknown>
interface Variant {
  name: string
  user: string
  handler: Handler
}
const sql = 'SELECT 1 AS one'

const connectPerInvocation = async (): Promise<Variant> => {
  const { user, url } = await createUser('perinv')
  const handler = middy().handler(async () => {
    const connection = await mysql.createConnection(url)
    try {
      const [rows] = await connection.query(sql)
      return rows
    } finally {
      await connection.end()
    }
  }) as Handler
  return { name: 'connect per invocation', user, handler }
}

const naiveModuleScope = async (): Promise<Variant> => {
  const { user, url } = await createUser('naive')
  const connection = await mysql.createConnection(url)
  connection.on('error', () => {})
  const handler = middy().handler(async () => (await connection.query(sql))[0]) as Handler
  return { name: 'naive module-scope connection', user, handler }
}

// The hand-written best practice: a middleware that opens one connection on first use and puts it
// on the context; no health check, no recovery.
const handWritten = async (): Promise<Variant> => {
  const { user, url } = await createUser('hand')
  let connection: mysql.Connection | undefined
  const handler = middy()
    .use({
      before: async (request) => {
        if (!connection) {
          connection = await mysql.createConnection(url)
          connection.on('error', () => {})
        }
        ;(request.context as unknown as { db: mysql.Connection }).db = connection
      },
    })
    .handler(
      async (_event, context) => (await (context as unknown as { db: mysql.Connection }).db.query(sql))[0],
    ) as Handler
  return { name: 'hand-written middleware', user, handler }
}

// As its README advises: one module-level instance, query in the handler, end() before returning.
const serverless = async (): Promise<Variant> => {
  const { user, config } = await createUser('slsmysql')
  const client = serverlessMysql({ config, library: mysqlCallbacks as never })
  const handler = middy().handler(async () => {
    const rows = await client.query(sql)
    await client.end()
    return rows
  }) as Handler
  return { name: 'serverless-mysql', user, handler }
}

const thaw = async (): Promise<Variant> => {
  const { user, url } = await createUser('thaw')
  const handler = middy()
    .use(dbConnection({ config: url }))
    .handler(async (_event, context) => (await context.db.query(sql))[0]) as unknown as Handler
  return { name: '@thaw/db-connection', user, handler }
}

const variants = [
  await connectPerInvocation(),
  await naiveModuleScope(),
  await handWritten(),
  await serverless(),
  await thaw(),
]

const context = () =>
  ({ getRemainingTimeInMillis: () => 30_000, functionName: 'bench', awsRequestId: 'bench' }) as never

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

// Warm-up: every variant opens its connection and JITs its path.
for (const variant of variants) for (let i = 0; i < 200; i++) await variant.handler({}, context())

// Two measures per round: wall time per invocation, and the CPU time this process spent per
// invocation. Wall time includes the server's reply, and on this 2-vCPU virtual machine it is
// bimodal per connection (about 35 or 75 µs for the same SELECT 1, depending on where the
// scheduler puts the server's thread); the client's CPU time is what the library itself costs.
const samples = new Map<string, number[]>(variants.map((variant) => [variant.name, []]))
const cpuSamples = new Map<string, number[]>(variants.map((variant) => [variant.name, []]))
for (let round = 0; round < rounds; round++) {
  // Interleaved, in a rotating order so no variant always runs first.
  const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant)
  for (const variant of order) {
    const times: number[] = []
    const cpuBefore = process.cpuUsage()
    for (let i = 0; i < perRound; i++) {
      const start = process.hrtime.bigint()
      await variant.handler({}, context())
      times.push(Number(process.hrtime.bigint() - start) / 1_000)
    }
    const cpu = process.cpuUsage(cpuBefore)
    cpuSamples.get(variant.name)?.push((cpu.user + cpu.system) / perRound)
    samples.get(variant.name)?.push(median(times))
  }
}

const killConnectionsOf = async (user: string) => {
  const [rows] = await admin.query('SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?', [user])
  for (const { ID } of rows as { ID: number }[]) await admin.query('KILL ?', [ID]).catch(() => {})
}

const failures = new Map<string, number>()
for (const variant of variants) {
  let failed = 0
  for (let i = 0; i < killInvocations; i++) {
    if (i > 0 && i % killEvery === 0) await killConnectionsOf(variant.user)
    try {
      await variant.handler({}, context())
    } catch {
      failed++
    }
  }
  failures.set(variant.name, failed)
}

const handMedian = median(samples.get('hand-written middleware') ?? [])
const handCpuMedian = median(cpuSamples.get('hand-written middleware') ?? [])
const rows = variants.map((variant) => {
  const us = median(samples.get(variant.name) ?? [])
  const cpuUs = median(cpuSamples.get(variant.name) ?? [])
  return {
    variant: variant.name,
    cpuUs: cpuUs.toFixed(1),
    cpuRatio: `${(cpuUs / handCpuMedian).toFixed(2)}x`,
    us: us.toFixed(1),
    ratio: `${(us / handMedian).toFixed(2)}x`,
    failed: `${failures.get(variant.name)} / ${killInvocations}`,
  }
})
console.log('Client CPU per warm invocation vs the hand-written middleware (wall time beside it)')
const header = [
  'variant',
  'client CPU µs per invocation (median)',
  'CPU vs hand-written',
  'wall µs (median)',
  'wall vs hand-written',
  `failed, KILL every ${killEvery}th`,
]
console.log(`| ${header.join(' | ')} |`)
console.log(`| ${header.map(() => '---').join(' | ')} |`)
for (const row of rows)
  console.log(
    `| ${row.variant} | ${row.cpuUs} | ${row.cpuRatio} | ${row.us} | ${row.ratio} | ${row.failed} |`,
  )
console.log(
  `\n${rounds} interleaved rounds x ${perRound} warm invocations per variant (median of round medians); Node ${process.version}`,
)

for (const variant of variants) {
  await killConnectionsOf(variant.user)
  await admin.query('DROP USER IF EXISTS ?@?', [variant.user, '%'])
}
await admin.end()
process.exit(0)
