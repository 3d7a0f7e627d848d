import { beforeAll, describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import pg from 'pg'
import { pgConnectionValidateOptions } from '../src/index.ts'
import { transactionStatus } from '../src/pg-adapter.ts'
import { admin, createTestRole, inProcessFunction, setUpTestFile } from './helpers.ts'

// A clean session for every invocation, whatever the one before it left: generated sequences from a
// wide catalogue of session-state changes run in one invocation; the next invocation, on the same
// server session, sees a session whose fingerprint (every pg_settings value, current_user and
// session_user, temporary tables, prepared statements, advisory locks, LISTEN channels, cursors, the
// transaction status, and pg's own memory of prepared statements) is a brand-new connection's.
// One thing no reset can undo: a library the session loaded (plpgsql, by the first DO block) stays
// loaded and lists its own settings at their defaults (plpgsql.*); those are left out of both sides,
// while any of them set away from its default would still show (source is then not 'default').

// The second role goes before the admin connection closes (setUpTestFile's cleanup runs first).
setUpTestFile(async () => {
  await (await admin()).query(`DROP ROLE IF EXISTS ${otherRole}`).catch(() => {})
})

type Db = Parameters<Parameters<ReturnType<typeof inProcessFunction>>[0]>[0]

const fingerprintSql = `SELECT
  (SELECT json_agg(json_build_array(name, setting, source) ORDER BY name) FROM pg_settings
     WHERE NOT (name LIKE '%.%' AND source = 'default')) AS settings,
  current_user::text AS "currentUser", session_user::text AS "sessionUser",
  (SELECT coalesce(json_agg(relname ORDER BY relname), '[]') FROM pg_class WHERE relnamespace = pg_my_temp_schema()) AS "tempTables",
  (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM pg_prepared_statements) AS prepared,
  (SELECT coalesce(json_agg(json_build_array(classid, objid, objsubid, mode) ORDER BY objid), '[]')
     FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory') AS "advisoryLocks",
  (SELECT coalesce(json_agg(c ORDER BY c), '[]') FROM pg_listening_channels() c) AS channels,
  (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM pg_cursors) AS cursors,
  pg_backend_pid() AS pid`

interface Fingerprint {
  pid?: number
  [key: string]: unknown
}

// What a session and its client look like, apart from which backend it is.
const fingerprintOf = async (query: (sql: string) => Promise<pg.QueryResult>, client?: pg.Client) => {
  const { rows } = await query(fingerprintSql)
  const { pid, ...rest } = rows[0] as Fingerprint
  return {
    ...rest,
    transactionStatus: client ? transactionStatus(client) : undefined,
    clientPrepared: client
      ? Object.keys(
          (client as unknown as { connection: { parsedStatements: object } }).connection.parsedStatements,
        )
      : undefined,
  }
}

let role: Awaited<ReturnType<typeof createTestRole>>
let otherRole: string
let run: ReturnType<typeof inProcessFunction>
let baseline: Record<string, unknown>

beforeAll(async () => {
  role = await createTestRole('fingerprint')
  otherRole = `${role.role}_r`
  const db = await admin()
  await db.query(`CREATE ROLE ${otherRole} NOLOGIN`)
  await db.query(`GRANT ${otherRole} TO ${role.role}`)
  const options = { config: role.url() }
  run = inProcessFunction(options)
  // A brand-new connection with the configuration thaw uses (application_name included), and the idle
  // limit its fleet checks set on the pool's first session (by SET: later sessions get it at start).
  const settings = pgConnectionValidateOptions(options)
  const fresh = new pg.Client(settings.clientConfig)
  await fresh.connect()
  await fresh.query(`SET idle_session_timeout = ${settings.fleet.idleTimeoutMs}`)
  baseline = await fingerprintOf((sql) => fresh.query(sql), fresh)
  await fresh.end()
})

// The catalogue: each entry changes the session (or the transaction) one way. `n` keeps names apart.
type Change = (db: Db, n: number) => Promise<unknown>
const settings = fc.constantFrom(
  ['search_path', 'pg_catalog'],
  ['statement_timeout', "'1234ms'"],
  ['work_mem', "'8MB'"],
  ['TimeZone', "'Pacific/Auckland'"],
  ['DateStyle', "'SQL, DMY'"],
  ['IntervalStyle', "'iso_8601'"],
  ['application_name', "'changed'"],
  ['lock_timeout', '777'],
  ['client_min_messages', 'error'],
  ['extra_float_digits', '0'],
  ['bytea_output', "'escape'"],
  ['default_transaction_isolation', "'serializable'"],
)
const change: fc.Arbitrary<{ label: string; apply: Change }> = fc.oneof(
  settings.map(([name, value]) => ({
    label: `SET ${name}`,
    apply: (db: Db) => db.query(`SET ${name} = ${value}`),
  })),
  settings.map(([name, value]) => ({
    label: `set_config ${name}`,
    apply: (db: Db) => db.query('SELECT set_config($1, $2, false)', [name, value.replaceAll("'", '')]),
  })),
  fc.constant({ label: 'SET ROLE', apply: (db: Db) => db.query(`SET ROLE ${otherRole}`) }),
  fc.constant({
    label: 'SET SESSION CHARACTERISTICS',
    apply: (db: Db) => db.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY'),
  }),
  fc.constant({
    label: 'temp table',
    apply: (db: Db, n: number) => db.query(`CREATE TEMP TABLE t_${n} (id int)`),
  }),
  fc.constant({ label: 'PREPARE', apply: (db: Db, n: number) => db.query(`PREPARE p_${n} AS SELECT ${n}`) }),
  fc.constant({
    label: 'named query',
    apply: (db: Db, n: number) => db.query({ name: `q_${n % 3}`, text: `SELECT ${n % 3} AS n` }),
  }),
  fc.constant({
    label: 'advisory lock',
    apply: (db: Db, n: number) => db.query('SELECT pg_advisory_lock($1)', [n]),
  }),
  fc.constant({ label: 'LISTEN', apply: (db: Db, n: number) => db.query(`LISTEN ch_${n}`) }),
  fc.constant({
    label: 'held cursor',
    apply: async (db: Db, n: number) => {
      await db.query('BEGIN')
      await db.query(`DECLARE c_${n} CURSOR WITH HOLD FOR SELECT 1`)
      await db.query('COMMIT')
    },
  }),
  fc.constant({ label: 'open transaction', apply: (db: Db) => db.query('BEGIN') }),
  fc.constant({
    label: 'failed transaction',
    apply: async (db: Db) => {
      await db.query('BEGIN')
      await db.query('SELECT 1/0').catch(() => {})
    },
  }),
  fc.constant({ label: 'SET LOCAL', apply: (db: Db) => db.query("SET LOCAL work_mem = '16MB'") }),
  fc.constant({
    label: 'DO block',
    apply: (db: Db) => db.query("DO $$ BEGIN PERFORM set_config('work_mem', '12MB', false); END $$"),
  }),
)

describe('session-fingerprint.property', () => {
  it('after any sequence of session changes, the next invocation sees a brand-new session', async () => {
    let pid: unknown
    await fc.assert(
      fc.asyncProperty(fc.array(change, { minLength: 1, maxLength: 8 }), async (changes) => {
        await run(async (db) => {
          let n = 0
          // A change refused in a failed transaction (25P02) or by a read-only one is part of the story.
          for (const { apply } of changes) await apply(db, n++).catch(() => {})
        })
        const seen = await run(async (db) => {
          const { rows } = await db.query('SELECT pg_backend_pid() AS pid')
          const connection = await db.getConnection()
          try {
            // The leased client itself, for the client-side half of the fingerprint.
            const client = leasedClient(connection)
            return {
              pid: rows[0]?.pid,
              fingerprint: await fingerprintOf((sql) => connection.query(sql), client),
            }
          } finally {
            connection.release()
          }
        })
        pid ??= seen.pid
        // The same server session every time: the reset cleaned it, it did not replace it.
        expect(seen.pid).toBe(pid)
        expect(seen.fingerprint).toEqual({ ...baseline, transactionStatus: 'I', clientPrepared: [] })
        // A named query prepared before the reset prepares again after it (pg's memory followed the server).
        await run((db) => db.query({ name: 'q_1', text: 'SELECT 1 AS n' }))
      }),
      { numRuns: 40 },
    )
  })
})

// The pg.Client behind a leased connection, found by its backend pid among the clients this process
// connected (recorded by wrapping pg.Client#connect, which the pool calls for every new client).
const connected: pg.Client[] = []
const connect = pg.Client.prototype.connect
pg.Client.prototype.connect = function (this: pg.Client, ...args: unknown[]) {
  connected.push(this)
  return (connect as (...a: unknown[]) => unknown).apply(this, args)
} as typeof connect
const leasedClient = (connection: { processID: number | null }): pg.Client | undefined =>
  connected.find((client) => (client as unknown as { processID: number }).processID === connection.processID)
