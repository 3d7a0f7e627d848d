// The demo's act on PostgreSQL: the orders API of examples/orders-pg beside the everyday patterns it
// replaces, through the same day as the MariaDB act (a cold start, 20 warm invocations, the server
// ending the sessions while frozen, a password rotation, three more environments at once).
//
// It runs on a private PostgreSQL (the machine's own binaries, on a free port) that asks every role
// for its password: the shared server here trusts every local connection, so a rotation would show
// nothing on it. Sessions are counted by the server itself: each pattern has a database of its own,
// and pg_stat_database counts the sessions ever established to it.
import { existsSync, readFileSync } from 'node:fs'
import type { EnvironmentOptions, InvocationResult, LambdaEnvironment } from '@thaw/lambda-sim'
import type { SecretsManagerPeer } from '@thaw/test-support'
import { sleep, waitFor } from '@thaw/test-support'
import {
  type PrivatePostgres,
  startPrivatePostgres,
} from '../../packages/pg-connection/test/private-postgres.ts'
import type { ExampleBundle } from '../build-examples.ts'
import { newTally, type PatternTally, record } from './measure.ts'
import type { Restorer } from './restore.ts'

// What the act needs of the demo around it.
export interface Stage {
  restorer: Restorer
  secretsPeer: SecretsManagerPeer
  bundle: ExampleBundle
  start(options: EnvironmentOptions): Promise<LambdaEnvironment>
  invoke(environment: LambdaEnvironment, event: unknown): Promise<InvocationResult>
  shutDown(environment: LambdaEnvironment): Promise<void>
  step(label: string): void
  orderRequest(index: number): unknown
  within<T>(what: string, ms: number, promise: Promise<T>): Promise<T>
}

// The steps it reports to the progress bar: the server, then four per pattern.
export const stepsOnPostgres = 1 + 4 * 4

// PostgreSQL's server binaries, where Debian and PGDG packages put them; without them the act is
// skipped with a line saying so (the MariaDB act and the report act still run).
export const postgresBinariesPresent = () => existsSync('/usr/lib/postgresql')

const here = (file: string) => new URL(file, import.meta.url).pathname
const secretId = 'orders-pg/db'
const twinSecretId = 'orders-pg/twin-db'

interface Pattern {
  name: string
  // Its role and its database (the server counts sessions per database).
  role: string
  environment(url: (password: string) => string, password: string): EnvironmentOptions
  rotate(password: string): void
}

export const ordersOnPostgres = async (
  stage: Stage,
): Promise<{ rows: string[][]; tallies: PatternTally[] }> => {
  const server: PrivatePostgres = await stage.within(
    'start a private PostgreSQL',
    120_000,
    startPrivatePostgres(),
  )
  stage.restorer.add('stop the private PostgreSQL', () => server.stop(), 40_000)
  stage.step('a private PostgreSQL that checks passwords')
  const admin = server.admin
  const query = (text: string, values?: unknown[]) =>
    stage.restorer.guard(text, () => stage.within(text, 15_000, admin.query(text, values)))
  const withSecret = (id: string) => (role: string) => (password: string) =>
    stage.secretsPeer.setSecret(id, { engine: 'postgres', username: role, password, dbname: role })
  const patterns: Pattern[] = [
    {
      name: 'connect in the handler',
      role: 'thaw_demo_pg_connect',
      environment: (url, password) => ({
        entry: here('orders-pg-connect-per-invocation.ts'),
        env: { DATABASE_URL: url(password) },
      }),
      rotate: () => undefined,
    },
    {
      name: 'one module-scope pg.Client',
      role: 'thaw_demo_pg_module',
      environment: (url, password) => ({
        entry: here('orders-pg-module-connection.ts'),
        env: { DATABASE_URL: url(password) },
      }),
      rotate: () => undefined,
    },
    {
      name: 'thaw (examples/orders-pg)',
      role: 'thaw_demo_pg_thaw',
      environment: () => ({
        entry: stage.bundle.file,
        prebuilt: true,
        env: {
          DATABASE_URL: `postgres://127.0.0.1:${server.port}/thaw_demo_pg_thaw`,
          DB_SECRET_ID: secretId,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: stage.secretsPeer.endpoint,
        },
      }),
      rotate: (password) => withSecret(secretId)('thaw_demo_pg_thaw')(password),
    },
    {
      name: 'by hand, same work as thaw',
      role: 'thaw_demo_pg_twin',
      environment: () => ({
        entry: here('orders-pg-hand-written.ts'),
        build: { conditions: ['@thaw/source'] },
        env: {
          DATABASE_URL: `postgres://127.0.0.1:${server.port}/thaw_demo_pg_twin`,
          DB_SECRET_ID: twinSecretId,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: stage.secretsPeer.endpoint,
        },
      }),
      rotate: (password) => withSecret(twinSecretId)('thaw_demo_pg_twin')(password),
    },
  ]

  const schema = readFileSync(here('../../examples/orders-pg/schema.sql'), 'utf8')
  const rows: string[][] = []
  const tallies: PatternTally[] = []
  for (const pattern of patterns) {
    const { role } = pattern
    const url = (password: string) =>
      `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${role}`
    const tally = newTally(pattern.name)
    let password = `${role}-1-${Math.random().toString(36).slice(2)}`
    await query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`)
    await query(`CREATE DATABASE ${role} OWNER ${role}`)
    await stage.within(`the schema of ${role}`, 30_000, loadSchema(server, role, password, schema))
    pattern.rotate(password)

    let invocation = 0
    const invokeSome = async (environment: LambdaEnvironment, count: number) => {
      for (let index = 0; index < count; index++) {
        record(tally, await stage.invoke(environment, stage.orderRequest(invocation++)))
        await sleep(5)
      }
    }
    const endSessions = () =>
      query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role])

    const environment = await stage.start(pattern.environment(url, password))
    await invokeSome(environment, 21)
    stage.step(`${pattern.name}: cold start, 20 warm invocations`)

    await endSessions()
    await invokeSome(environment, 10)
    stage.step(`${pattern.name}: the server ended its sessions while frozen`)

    const deployedPassword = password
    password = `${role}-2-${Math.random().toString(36).slice(2)}`
    await query(`ALTER ROLE ${role} PASSWORD '${password}'`)
    pattern.rotate(password)
    // A rotation's proxy drops the sessions opened with the old password, as in the MariaDB act.
    await endSessions()
    await invokeSome(environment, 10)
    stage.step(`${pattern.name}: the password was rotated`)

    const burst = await Promise.all(
      [1, 2, 3].map(() => stage.start(pattern.environment(url, deployedPassword))),
    )
    await Promise.all(burst.map((each) => invokeSome(each, 5)))
    stage.step(`${pattern.name}: three more environments at once`)
    await Promise.all([environment, ...burst].map((each) => stage.shutDown(each)))

    rows.push([
      pattern.name,
      String(await sessionsEstablished(server, role)),
      `${tally.failed} of ${tally.invocations}`,
    ])
    tallies.push(tally)
  }
  return { rows, tallies }
}

const loadSchema = async (server: PrivatePostgres, role: string, password: string, schema: string) => {
  const { default: pg } = await import('pg')
  const owner = new pg.Client({ host: '127.0.0.1', port: server.port, user: role, password, database: role })
  await owner.connect()
  try {
    await owner.query(schema)
    await owner.query('INSERT INTO orders (customer_id, total_cents) VALUES (1, 1000), (2, 2500), (3, 400)')
  } finally {
    await owner.end()
  }
}

// Sessions established to the pattern's database over the act, the loading of its schema not
// counted. pg_stat_database counts a session when it ends: the environments are shut down by now,
// and their sessions end as their processes do.
const sessionsEstablished = async (server: PrivatePostgres, database: string): Promise<number> => {
  await waitFor(
    async () => {
      const { rows } = await server.admin.query(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
        [database],
      )
      return rows[0].n === 0 ? true : undefined
    },
    { what: `the sessions of ${database} to end`, withinMs: 30_000, everyMs: 50 },
  )
  await server.admin.query('SELECT pg_stat_clear_snapshot()')
  const { rows } = await server.admin.query(
    'SELECT sessions::int AS n FROM pg_stat_database WHERE datname = $1',
    [database],
  )
  return Number(rows[0]?.n ?? 0) - 1
}
