// What pg-connection's tests need: the PostgreSQL server (PG_URL, or the local one's `test` database),
// roles of their own (sessions are counted and ended by role, so parallel test files never touch each
// other's), handlers in lambda-sim, in-process invocations.
import { randomBytes } from 'node:crypto'
import { afterAll } from '@jest/globals'
import middy from '@middy/core'
import { type EnvironmentOptions, type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import { fixturesOf, sleep, startedThings } from '@thaw/test-support'
import pg from 'pg'
import pgConnection, { closePools, type PgConnectionContext, type PgConnectionOptions } from '../src/index.ts'

export { sleep }

export const pgUrl = (): string => process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

let adminClient: pg.Client | undefined
export const admin = async (): Promise<pg.Client> => {
  if (!adminClient) {
    const client = new pg.Client({ connectionString: pgUrl(), connectionTimeoutMillis: 5_000 })
    client.on('error', () => {})
    await client.connect()
    adminClient = client
  }
  return adminClient
}

const roles: string[] = []
// A login role of the test's own, with rights on the test database's public schema.
export const createTestRole = async (label: string) => {
  const role = `pgc_${label}_${randomBytes(3).toString('hex')}`.slice(0, 48)
  const db = await admin()
  await db.query(`CREATE ROLE ${role} LOGIN`)
  await db.query(`GRANT ALL ON SCHEMA public TO ${role}`)
  roles.push(role)
  const base = new URL(pgUrl())
  const url = (port = Number(base.port || 5432)) =>
    `postgres://${role}@${base.hostname}:${port}${base.pathname}`
  return { role, url, host: base.hostname, port: Number(base.port || 5432), database: base.pathname.slice(1) }
}

// The backend pids of a role's sessions.
export const sessionsOf = async (role: string): Promise<number[]> => {
  const { rows } = await (await admin()).query(
    'SELECT pid FROM pg_stat_activity WHERE usename = $1 ORDER BY pid',
    [role],
  )
  return rows.map((row) => Number(row.pid))
}

export const terminateSessions = async (role: string): Promise<number> => {
  const pids = await sessionsOf(role)
  for (const pid of pids) await (await admin()).query('SELECT pg_terminate_backend($1)', [pid])
  return pids.length
}

// Waits until the role's sessions are gone (a terminated backend takes a moment to leave the view).
export const waitForNoSessions = async (role: string, withinMs = 5_000): Promise<void> => {
  const deadline = Date.now() + withinMs
  while ((await sessionsOf(role)).length > 0) {
    if (Date.now() > deadline) throw new Error(`sessions of ${role}: still there after ${withinMs} ms`)
    await sleep(20)
  }
}

// The Lambda context of an in-process invocation, its deadline remainingMs from now.
export const lambdaContext = (remainingMs = 10_000) => {
  const deadline = Date.now() + remainingMs
  return {
    getRemainingTimeInMillis: () => deadline - Date.now(),
    functionName: 'pgc-in-process',
  } as unknown as PgConnectionContext
}

export type Db = PgConnectionContext['db']
// One function in this process with the middleware: each call runs `run` as one invocation.
export const inProcessFunction = (options: PgConnectionOptions, timeoutEarlyInMillis = 5) => {
  const handler = middy<{ run: (db: Db) => Promise<unknown> }, unknown, Error, PgConnectionContext>({
    timeoutEarlyInMillis,
  })
    .use(pgConnection(options))
    .handler((event, context) => event.run(context.db))
  return <T>(run: (db: Db) => Promise<T>, remainingMs = 10_000) =>
    handler({ run }, lambdaContext(remainingMs)) as Promise<T>
}

const fixture = fixturesOf(import.meta.url)
const started = startedThings()

export const startHandler = async (
  options: { url: string; pgOptions?: Record<string, unknown> },
  environmentOptions: Omit<EnvironmentOptions, 'entry'> = {},
): Promise<LambdaEnvironment> => {
  const environment = await startEnvironment({
    entry: fixture('handler'),
    build: { conditions: ['@thaw/source'] },
    ...environmentOptions,
    env: {
      ...((environmentOptions.concurrency ?? 1) > 1
        ? { AWS_LAMBDA_MAX_CONCURRENCY: String(environmentOptions.concurrency) }
        : {}),
      PG_URL: options.url,
      PGC_OPTIONS: JSON.stringify(options.pgOptions ?? {}),
      ...environmentOptions.env,
    },
  })
  return started.add(environment)
}

export const call = async <T = Record<string, unknown>>(environment: LambdaEnvironment, event: unknown) => {
  const outcome = await environment.invoke(event)
  if (!outcome.ok) {
    throw new Error(`invocation failed: ${outcome.error.name}: ${outcome.error.message}\n${outcome.logs}`)
  }
  return outcome.result as T
}

// After a file's tests: environments stopped, in-process pools closed, roles and their sessions gone.
export const setUpTestFile = (cleanUp?: () => Promise<unknown>): void => {
  afterAll(async () => {
    await started.stopAll()
    await closePools()
    await cleanUp?.()
    const db = await admin()
    for (const role of roles.splice(0)) {
      await terminateSessions(role)
      await waitForNoSessions(role).catch(() => {})
      await db.query(`DROP OWNED BY ${role}`).catch(() => {})
      await db.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {})
    }
    await adminClient?.end()
    adminClient = undefined
  })
}
