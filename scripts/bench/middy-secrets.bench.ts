// thaw against Middy's own middlewares where they overlap: database credentials from a cached
// Secrets Manager secret. Middy's way is @middy/secrets-manager (cached for the life of the
// environment) feeding a hand-written middleware that holds one mysql2 connection; thaw's is
// @thaw/db-connection with `secret`. Both warm paths touch neither Secrets Manager nor a handshake.
// Variants run interleaved in one process; then every 10th invocation follows a server-side KILL.
import middy from '@middy/core'
import secretsManager from '@middy/secrets-manager'
import { getInternal } from '@middy/util'
import dbConnection from '@thaw/db-connection'
import { sleep, startSecretsManagerPeer } from '@thaw/test-support'
import type { Context } from 'aws-lambda'
import mysql from 'mysql2/promise'
import { databaseUrl } from '../database-url.ts'

const user = 'thaw_bench_secret'
const password = `bench-${Math.random().toString(36).slice(2)}`
const server = new URL(databaseUrl())
const admin = await mysql.createConnection(databaseUrl())
await admin.query(`DROP USER IF EXISTS '${user}'@'%'`)
await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY ?`, [password])
const secretId = 'bench/db'
const peer = await startSecretsManagerPeer({
  secrets: {
    [secretId]: { username: user, password, host: server.hostname, port: Number(server.port || 3306) },
  },
})
// Both read the secret through the SDK's default configuration, pointed at the local peer.
Object.assign(process.env, {
  AWS_ENDPOINT_URL_SECRETS_MANAGER: peer.endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDBENCH',
  AWS_SECRET_ACCESS_KEY: 'bench',
})

const context = {
  functionName: 'bench',
  awsRequestId: 'bench',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context
type DbContext = Context & { db: mysql.Connection }

let middyConnection: mysql.Connection | undefined
const middyOwn = middy()
  .use(secretsManager({ fetchData: { dbCredentials: secretId }, cacheExpiry: -1 }))
  .use({
    before: async (request: { context: Context; internal: Record<string, unknown> }) => {
      if (!middyConnection) {
        const { dbCredentials } = (await getInternal(['dbCredentials'], request as never)) as {
          dbCredentials: { username: string; password: string }
        }
        const credentials = typeof dbCredentials === 'string' ? JSON.parse(dbCredentials) : dbCredentials
        middyConnection = await mysql.createConnection({
          host: server.hostname,
          port: Number(server.port || 3306),
          user: credentials.username,
          password: credentials.password,
        })
      }
      ;(request.context as DbContext).db = middyConnection
    },
  })
  .handler(
    async (_event: unknown, handlerContext: Context) =>
      (await (handlerContext as DbContext).db.query('SELECT 1'))[0],
  )

const thaw = middy()
  .use(dbConnection({ config: `mysql://${server.host}/`, secret: { secretId } }))
  .handler(async (_event: unknown, handlerContext) => (await handlerContext.db.query('SELECT 1'))[0])

// Both called the way Lambda calls them: (event, context).
type Invoke = (event: unknown, context: Context) => Promise<unknown>
const variants: Record<string, Invoke> = {
  '@middy/secrets-manager + hand-written connection': middyOwn as unknown as Invoke,
  '@thaw/db-connection with secret': thaw as unknown as Invoke,
}
const names = Object.keys(variants)
// Wall time per invocation, and this process's CPU time per invocation: on this 2-vCPU VM a
// connection's round trip is about 35 or 75 µs depending on where the server's thread runs, so the
// client's CPU time is the measure of what each library costs.
const timePerInvocation = async (handler: Invoke, count: number) => {
  const started = process.hrtime.bigint()
  const cpuBefore = process.cpuUsage()
  for (let index = 0; index < count; index++) await handler({}, context)
  const cpu = process.cpuUsage(cpuBefore)
  return {
    wallUs: Number(process.hrtime.bigint() - started) / 1000 / count,
    cpuUs: (cpu.user + cpu.system) / count,
  }
}
for (const name of names) await timePerInvocation(variants[name] as Invoke, 200)

const rounds = 11
const samples = new Map<string, number[]>(names.map((name) => [name, []]))
const cpuSamples = new Map<string, number[]>(names.map((name) => [name, []]))
for (let round = 0; round < rounds; round++)
  for (const name of round % 2 ? [...names].reverse() : names) {
    const { wallUs, cpuUs } = await timePerInvocation(variants[name] as Invoke, 300)
    samples.get(name)?.push(wallUs)
    cpuSamples.get(name)?.push(cpuUs)
  }
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

const killConnectionsOfUser = async () => {
  const [rows] = await admin.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [
    user,
  ])
  for (const { id } of rows as Array<{ id: number }>) await admin.query('KILL ?', [id]).catch(() => undefined)
}
const failures = new Map<string, number>()
for (const name of names) {
  let failed = 0
  for (let index = 0; index < 100; index++) {
    if (index % 10 === 0) {
      await killConnectionsOfUser()
      await sleep(5)
    }
    await (variants[name] as Invoke)({}, context).catch(() => failed++)
  }
  failures.set(name, failed)
}

const baseline = median(samples.get(names[0] as string) ?? [])
const cpuBaseline = median(cpuSamples.get(names[0] as string) ?? [])
console.log(
  `\nCached secret feeding a connection, client CPU per warm invocation with wall time beside it (median of ${rounds} interleaved rounds x 300 warm invocations, SELECT 1)`,
)
console.log(
  '| variant | client CPU µs per invocation | CPU ratio | wall µs | wall ratio | failed of 100, KILL every 10th |',
)
console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
for (const name of names) {
  const value = median(samples.get(name) ?? [])
  const cpu = median(cpuSamples.get(name) ?? [])
  console.log(
    `| ${name} | ${cpu.toFixed(1)} | ${(cpu / cpuBaseline).toFixed(2)}x | ${value.toFixed(1)} | ${(value / baseline).toFixed(2)}x | ${failures.get(name)} |`,
  )
}
console.log(
  `\n(GetSecretValue requests at the peer, both variants together: ${peer.callCount('GetSecretValue')})`,
)

await middyConnection?.end().catch(() => undefined)
const { closePools } = await import('@thaw/db-connection')
await closePools()
await admin.query(`DROP USER IF EXISTS '${user}'@'%'`)
await admin.end()
await peer.close()
