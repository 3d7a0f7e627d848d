import { randomBytes } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import { waitFor } from '@thaw/test-support'
import { closePools, dbConnectionStats } from '../src/index.ts'
import {
  admin,
  call,
  connectionIds,
  countRowsWith,
  createTestUser,
  inProcessFunction,
  setUpTestFile,
  startHandler,
  waitForStatement,
} from './helpers.ts'

const table = setUpTestFile({ table: 'dbc_rows', cleanUp: () => closePools() })

const rowsWith = (value: string) => countRowsWith(table, value)

type Stats = Record<string, number>

describe('a statement whose connection dies while it runs', () => {
  it('reaches the handler with code, errno, sqlState and fatal, is not re-run, and the next invocation is healthy', async () => {
    const { user, dsn } = await createTestUser('midkill')
    const environment = await startHandler({ databaseUrl: dsn() }, { timeoutMs: 10_000 })
    const value = `midkill-${randomBytes(3).toString('hex')}`
    const running = call<{ error: Record<string, unknown>; stats: Stats }>(environment, {
      action: 'catch',
      sql: `INSERT INTO ${table} (v) SELECT ? FROM (SELECT SLEEP(5)) AS s`,
      values: [value],
    })
    const id = await waitForStatement(user, 'SLEEP(5)')
    await (await admin()).query('KILL ?', [id])
    const { error } = await running
    // Whatever mysql2 reported, it arrives as mysql2 made it.
    expect(error.fatal).toBe(true)
    expect(typeof error.code).toBe('string')
    expect(error.code === 'ER_CONNECTION_KILLED' || error.code === 'PROTOCOL_CONNECTION_LOST').toBe(true)
    if (error.code === 'ER_CONNECTION_KILLED') {
      expect(error).toMatchObject({ errno: 1927, sqlState: '70100' })
    }
    expect(await rowsWith(value)).toBe(0)
    const next = await call<{ rows: [{ id: number }] }>(environment, {
      action: 'query',
      sql: 'SELECT CONNECTION_ID() AS id',
    })
    expect(next.rows[0].id).not.toBe(id)
    expect(await rowsWith(value)).toBe(0)
  })
})

describe('a statement that fails without fatal on a connection already known dead', () => {
  // mysql2 3.24.6 raises some errors itself, before anything is sent: a value whose toSqlString()
  // throws (mysql2 calls it while formatting, and the error reaches thaw at once), never marked fatal.
  // When the server has meanwhile closed the session, the failure says nothing about the connection,
  // yet the connection is dead: thaw looks at the socket too, and the next statement gets a new one.
  it('drops the connection: the next statement of the same invocation runs on a new one', async () => {
    const { user, dsn } = await createTestUser('deadnonfatal')
    const invoke = inProcessFunction({ config: dsn() })
    const unformattable = {
      toSqlString: () => {
        throw new Error('this value cannot be written as SQL')
      },
    }
    const outcome = await invoke(async (db) => {
      const [[{ id: first }]] = (await db.query('SELECT CONNECTION_ID() AS id')) as unknown as [
        [{ id: number }],
      ]
      const errorsBefore = dbConnectionStats().errors
      await (await admin()).query('KILL CONNECTION ?', [first])
      // mysql2 has read the server's close: it reports it as an 'error' event on the connection,
      // which dbConnectionStats() counts.
      await waitFor(() => (dbConnectionStats().errors > errorsBefore ? true : undefined), {
        what: 'the killed session seen closed',
      })
      const refused = await db.query('SELECT ?', [unformattable]).then(
        () => undefined,
        (error: Error & { fatal?: boolean }) => ({ message: error.message, fatal: error.fatal }),
      )
      const [[{ id: next }]] = (await db.query('SELECT CONNECTION_ID() AS id')) as unknown as [
        [{ id: number }],
      ]
      return { first, refused, next }
    })
    expect(outcome.refused).toEqual({ message: 'this value cannot be written as SQL', fatal: undefined })
    expect(outcome.next).not.toBe(outcome.first)
    expect(await connectionIds(user)).toEqual([outcome.next])
  })
})

describe('transactions', () => {
  it('rolls back a throw inside transaction(); the next invocation sees no open transaction', async () => {
    const { dsn } = await createTestUser('txthrow')
    const environment = await startHandler({ databaseUrl: dsn() })
    const value = `txthrow-${randomBytes(3).toString('hex')}`
    const outcome = await environment.invoke({
      action: 'transaction-throw',
      steps: [{ sql: `INSERT INTO ${table} (v) VALUES (?)`, values: [value] }],
    })
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(outcome.error.message).toBe('thrown inside the transaction')
    expect(await rowsWith(value)).toBe(0)
    const next = await call<{ rows: [{ t: number }] }>(environment, {
      action: 'query',
      sql: 'SELECT @@in_transaction AS t',
    })
    expect(Number(next.rows[0].t)).toBe(0)
  })

  it('commits what transaction() returned from', async () => {
    const { dsn } = await createTestUser('txok')
    const environment = await startHandler({ databaseUrl: dsn() })
    const value = `txok-${randomBytes(3).toString('hex')}`
    await call(environment, {
      action: 'transaction',
      steps: [{ sql: `INSERT INTO ${table} (v) VALUES (?)`, values: [value] }],
    })
    expect(await rowsWith(value)).toBe(1)
    const { stats } = await call<{ stats: Stats }>(environment, { action: 'stats' })
    // A committed transaction leaves nothing behind: no reset was spent on it.
    expect(stats.resets).toBe(0)
  })

  it('rolls back a transaction the handler opened by hand and left open', async () => {
    const { dsn } = await createTestUser('txleft')
    const environment = await startHandler({ databaseUrl: dsn() })
    const value = `txleft-${randomBytes(3).toString('hex')}`
    await call(environment, {
      action: 'steps',
      steps: [{ sql: 'START TRANSACTION' }, { sql: `INSERT INTO ${table} (v) VALUES (?)`, values: [value] }],
    })
    expect(await rowsWith(value)).toBe(0)
    const next = await call<{ rows: [{ t: number }] }>(environment, {
      action: 'query',
      sql: 'SELECT @@in_transaction AS t',
    })
    expect(Number(next.rows[0].t)).toBe(0)
  })
})

describe('session state left behind', () => {
  it('does not reach the next invocation: user variables, temporary tables, session settings, GET_LOCK', async () => {
    const { dsn } = await createTestUser('state')
    const environment = await startHandler({ databaseUrl: dsn() })
    const lock = `dbc_lock_${randomBytes(3).toString('hex')}`
    const first = await call<{ results: unknown[] }>(environment, {
      action: 'steps',
      steps: [
        { sql: 'SET @leak = 42' },
        { sql: 'CREATE TEMPORARY TABLE dbc_tmp (x INT)' },
        { sql: "SET SESSION sql_mode = 'ANSI_QUOTES'" },
        { sql: 'SELECT GET_LOCK(?, 0) AS got, CONNECTION_ID() AS id', values: [lock] },
      ],
    })
    const [{ got, id }] = first.results[3] as [{ got: number; id: number }]
    expect(got).toBe(1)
    // The lock is free once the invocation is over, though the connection lives on.
    const [free] = await (await admin()).query('SELECT IS_USED_LOCK(?) AS holder', [lock])
    expect((free as [{ holder: number | null }])[0].holder).toBeNull()
    const next = await call<{ results: unknown[] }>(environment, {
      action: 'steps',
      steps: [{ sql: 'SELECT @leak AS leak, @@SESSION.sql_mode AS mode, CONNECTION_ID() AS id' }],
    })
    const [{ leak, mode, id: nextId }] = next.results[0] as [{ leak: unknown; mode: string; id: number }]
    expect(nextId).toBe(id)
    expect(leak).toBeNull()
    expect(mode).not.toBe('ANSI_QUOTES')
    const temporary = await call<{ error: { code: string } }>(environment, {
      action: 'catch',
      sql: 'SELECT * FROM dbc_tmp',
    })
    expect(temporary.error.code).toBe('ER_NO_SUCH_TABLE')
    const { stats } = await call<{ stats: Stats }>(environment, { action: 'stats' })
    // The first invocation's, and the second's: reading @leak looks like user-variable use (the
    // check cannot tell a read from SELECT @x := 1). The temporary-table probe left nothing.
    expect(stats.resets).toBe(2)
  })

  it('spends no reset on an invocation that left nothing behind', async () => {
    const { dsn } = await createTestUser('clean')
    const environment = await startHandler({ databaseUrl: dsn() })
    for (let i = 0; i < 3; i++) {
      await call(environment, {
        action: 'query',
        sql: 'SELECT ? AS x, @@version AS v',
        values: ['a@b.example'],
      })
    }
    const { stats } = await call<{ stats: Stats }>(environment, { action: 'stats' })
    expect(stats.resets).toBe(0)
  })
})

describe("Middy's early timeout mid-query", () => {
  it('leaves no leased connection, no open transaction and no lock; the next invocation is healthy', async () => {
    const { user, dsn } = await createTestUser('early')
    const environment = await startHandler(
      { databaseUrl: dsn(), timeoutEarlyInMillis: 2_500 },
      { timeoutMs: 3_000 },
    )
    const value = `early-${randomBytes(3).toString('hex')}`
    const lock = `dbc_lock_${randomBytes(3).toString('hex')}`
    const outcome = await environment.invoke({
      action: 'transaction',
      steps: [
        { sql: `INSERT INTO ${table} (v) VALUES (?)`, values: [value] },
        { sql: 'SELECT GET_LOCK(?, 0)', values: [lock] },
        { sql: 'SELECT SLEEP(5)' },
      ],
    })
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(outcome.error.name).toBe('TimeoutError')
    const db = await admin()
    const [holder] = await db.query('SELECT IS_USED_LOCK(?) AS holder', [lock])
    expect((holder as [{ holder: number | null }])[0].holder).toBeNull()
    expect(await rowsWith(value)).toBe(0)
    // The abandoned session was killed, not left sleeping on the server.
    const [sleeping] = await db.query(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE '%SLEEP(5)%'",
      [user],
    )
    expect(Number((sleeping as [{ n: number }])[0].n)).toBe(0)
    const next = await call<{ rows: [{ t: number }]; stats: Stats }>(environment, {
      action: 'query',
      sql: 'SELECT @@in_transaction AS t',
    })
    expect(Number(next.rows[0].t)).toBe(0)
    expect(next.stats.abandoned).toBe(1)
    expect((await connectionIds(user)).length).toBe(1)
  })
})
