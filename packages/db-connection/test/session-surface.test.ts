import { describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import { sleep } from '@thaw/test-support'
import fc from 'fast-check'
import dbConnection, {
  closePools,
  type DbConnectionContext,
  type DbConnectionOptions,
  dbConnectionStats,
} from '../src/index.ts'
import {
  admin,
  connectionIds,
  countRowsWith,
  createTestUser,
  inProcessFunction,
  lambdaContext,
  setUpTestFile,
  untilRunning,
} from './helpers.ts'

// context.db's surface beside query() and transaction(), in-process so that mutation testing counts it:
// execute(), escape() and format(); the errors a handler meets when it uses context.db or a leased
// connection too late, each with its message; and a multi-statement text whose later result opens a
// transaction, which must be rolled back at the invocation's end like any other.

const table = setUpTestFile({ table: 'dbc_surface', cleanUp: () => closePools() })

// A function with Middy's early timeout off (only thaw's statement margin is under test, and the
// handler goes on past its deadline): it opens its connection in a first invocation with time to spare
// (a connect in the short one would have the deadline too), then runs `run` in one with `remainingMs`.
const shortInvocation = async (
  options: DbConnectionOptions,
  remainingMs: number,
  run: (db: DbConnectionContext['db']) => Promise<unknown>,
) => {
  const handler = middy<{ warm?: boolean }, unknown, Error, DbConnectionContext>({ timeoutEarlyInMillis: 0 })
    .use(dbConnection(options))
    .handler(async (event, context) =>
      event.warm ? context.db.query('SELECT 1').then(() => undefined) : run(context.db),
    )
  await handler({ warm: true }, lambdaContext())
  return handler({}, lambdaContext(remainingMs))
}

describe("context.db's surface", () => {
  it('execute() runs a prepared statement; escape() and format() are mysql2 own', async () => {
    const { dsn } = await createTestUser('surface')
    const invoke = inProcessFunction({ config: dsn() })
    const seen = await invoke(async (db) => {
      const [rows] = await db.execute('SELECT ? + 1 AS n', [41])
      return {
        n: Number((rows as [{ n: number }])[0].n),
        escaped: db.escape("it's"),
        formatted: db.format('SELECT ?', ["it's"]),
      }
    })
    expect(seen).toEqual({ n: 42, escaped: "'it\\'s'", formatted: "SELECT 'it\\'s'" })
  })

  it('a callback passed as values is refused: context.db answers with promises only', async () => {
    const { dsn } = await createTestUser('surfacecb')
    const invoke = inProcessFunction({ config: dsn() })
    const refused = await invoke((db) =>
      (db.query as (sql: string, values: unknown) => Promise<unknown>)('SELECT 1', () => {}).then(
        () => 'answered',
        (error: { code?: string }) => error.code,
      ),
    )
    expect(refused).toBe('THAW_DB_CONNECTION_CALLBACK_REFUSED')
  })

  it('context.db kept past its invocation refuses every statement with THAW_DB_CONNECTION_INVOCATION_ENDED', async () => {
    const { dsn } = await createTestUser('surfaceend')
    const invoke = inProcessFunction({ config: dsn() })
    const kept = await invoke(async (db) => {
      await db.query('SELECT 1')
      return db
    })
    for (const late of [() => kept.query('SELECT 1'), () => kept.getConnection()]) {
      await expect(late()).rejects.toMatchObject({
        code: 'THAW_DB_CONNECTION_INVOCATION_ENDED',
        message: expect.stringMatching(
          /^@thaw\/db-connection: the invocation has ended .*context\.db can no longer be used$/,
        ),
      })
    }
  })

  it('a statement the handler did not await completes before the invocation ends, as on a plain pool', async () => {
    const { user, dsn } = await createTestUser('surfaceforget')
    const invoke = inProcessFunction({ config: dsn() })
    let audit: Promise<unknown> | undefined
    const answered = await invoke(async (db) => {
      await db.query('SELECT 1')
      // Fire and forget: slow enough to still be running when the handler returns.
      audit = db.query(`SELECT SLEEP(0.3), 'audited' AS v`)
      return 'answered'
    })
    expect(answered).toBe('answered')
    // Settled by the time the invocation ended: its end waited for it, and it was not stopped.
    const settled = await Promise.race([audit, Promise.resolve('still pending')])
    expect(settled).toEqual([[expect.objectContaining({ v: 'audited' })], expect.anything()])
    expect((await connectionIds(user)).length).toBe(1)
  })

  it('a statement still running at the deadline is stopped, and its await says so only once the server shows it gone', async () => {
    const { user, dsn } = await createTestUser('surfaceflight')
    const invoke = inProcessFunction({ config: dsn() }, 1_500)
    let running: Promise<unknown> | undefined
    let id = 0
    await invoke(async (db) => {
      const [rows] = await db.query('SELECT CONNECTION_ID() AS id')
      id = Number((rows as [{ id: number }])[0].id)
      running = db.query(`SELECT BENCHMARK(1000000000, MD5('thaw'))`)
      running.catch(() => {})
    })
    await expect(running).rejects.toMatchObject({
      code: 'THAW_DB_CONNECTION_STATEMENT_DEADLINE',
      message: expect.stringMatching(
        /^@thaw\/db-connection: the statement was stopped at the invocation's deadline/,
      ),
    })
    // The claim was checked: the session had left the server's process list when the error was made.
    expect(await connectionIds(user)).not.toContain(id)
  })

  it('a statement sent through context.db after the invocation ended is refused with a warning, never an unhandled rejection', async () => {
    const { dsn } = await createTestUser('surfacelate')
    const logged: { event: string; level: string }[] = []
    const invoke = inProcessFunction({ config: dsn(), logger: (event) => logged.push(event) })
    const kept = await invoke(async (db) => {
      await db.query('SELECT 1')
      return db
    })
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      // Not awaited, no catch: a handler's timer or callback that fires after the answer.
      void kept.query('SELECT 1')
      await new Promise((resolve) => setTimeout(resolve, 50))
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
    expect(unhandled).toEqual([])
    expect(logged.filter((event) => event.event === 'late-statement')).toEqual([
      expect.objectContaining({ level: 'warn', event: 'late-statement' }),
    ])
  })

  it('a leased connection used after release() refuses with THAW_DB_CONNECTION_RELEASED', async () => {
    const { dsn } = await createTestUser('surfacerel')
    const invoke = inProcessFunction({ config: dsn() })
    const refused = await invoke(async (db) => {
      const connection = await db.getConnection()
      connection.release()
      return connection.query('SELECT 1').then(
        () => 'answered',
        (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
      )
    })
    expect(refused).toEqual({
      code: 'THAW_DB_CONNECTION_RELEASED',
      message: '@thaw/db-connection: this connection was released',
    })
  })

  it('getConnection() inside a transaction() callback fails at once with THAW_DB_CONNECTION_NESTED_LEASE', async () => {
    const { dsn } = await createTestUser('surfacenest')
    const invoke = inProcessFunction({ config: dsn() })
    const refused = await invoke((db) =>
      db.transaction(() =>
        db.getConnection().then(
          () => 'leased',
          (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
        ),
      ),
    )
    expect(refused).toEqual({
      code: 'THAW_DB_CONNECTION_NESTED_LEASE',
      message: expect.stringMatching(
        /^@thaw\/db-connection: getConnection\(\) inside a transaction\(\) callback would wait/,
      ),
    })
  })

  it("a transaction opened by a multi-statement text's later result is rolled back at the invocation's end", async () => {
    const { dsn } = await createTestUser('surfacemulti')
    const invoke = inProcessFunction({ config: `${dsn()}?multipleStatements=true` })
    const value = `multi-${Date.now()}`
    // The first result is a plain SELECT; the transaction opens in the second, the INSERT in the third.
    await invoke((db) =>
      db.query(`SELECT 1; START TRANSACTION; INSERT INTO ${table} (v) VALUES (?)`, [value]),
    )
    const next = await invoke(async (db) => {
      const [rows] = await db.query('SELECT @@in_transaction AS t')
      return Number((rows as [{ t: number }])[0].t)
    })
    expect(next).toBe(0)
    expect(await countRowsWith(table, value)).toBe(0)
  })

  it('getConnection() holds the connection: a statement or a second getConnection() waits for its release', async () => {
    const { dsn } = await createTestUser('surfacehold')
    const invoke = inProcessFunction({ config: dsn() })
    const order = await invoke(async (db) => {
      const seen: string[] = []
      const held = await db.getConnection()
      const query = db.query('SELECT 1').then(() => seen.push('query'))
      const second = db.getConnection().then((connection) => {
        seen.push('second lease')
        connection.release()
      })
      await held.query('SELECT SLEEP(0.05)')
      seen.push('released')
      held.release()
      await Promise.all([query, second])
      return seen
    })
    expect(order[0]).toBe('released')
    expect([...order].sort()).toEqual(['query', 'released', 'second lease'])
  })

  it('a statement sent past the deadline less statementMarginMs is refused unsent; an idle connection is not stopped', async () => {
    const { dsn } = await createTestUser('surfacelate')
    const stopsBefore = dbConnectionStats().deadlineStops
    const refused = await shortInvocation({ config: dsn(), statementMarginMs: 250 }, 300, async (db) => {
      // 300 ms left at the start, a margin of at least 250 ms: the stop timer, armed by the first
      // statement's lease, expires within 50 ms. A timer armed after it with a later expiry runs after it
      // however late both are (Node runs expired timers in expiry order), so nothing is running when it
      // fires, and the statement after the sleep is refused.
      await db.query('SELECT 1')
      await sleep(300)
      return db.query('SELECT 1').then(
        () => undefined,
        (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
      )
    })
    expect(refused).toEqual({
      code: 'THAW_DB_CONNECTION_STATEMENT_DEADLINE',
      message: expect.stringMatching(
        /the statement was not sent: the invocation's deadline is less than \d+ ms away/,
      ),
    })
    // Nothing was running at the deadline: no session was stopped.
    expect(dbConnectionStats().deadlineStops).toBe(stopsBefore)
  })

  it("an invocation's concurrent first statements share one lease and one connection", async () => {
    const { user, dsn } = await createTestUser('surfaceshare')
    // Room for a second connection, which a second lease would open.
    const invoke = inProcessFunction({ config: `${dsn()}?connectionLimit=2` })
    const ids = await invoke((db) =>
      Promise.all(
        [1, 2, 3].map(async () => {
          const [rows] = await db.query('SELECT CONNECTION_ID() AS id')
          return Number((rows as [{ id: number }])[0].id)
        }),
      ),
    )
    expect(new Set(ids).size).toBe(1)
    expect(await connectionIds(user)).toEqual([ids[0]])
  })

  it('a connection killed under a statement fails that statement; the next one runs on a new connection', async () => {
    const { dsn } = await createTestUser('surfacekill')
    const invoke = inProcessFunction({ config: dsn() })
    const errorsBefore = dbConnectionStats().errors
    const seen = await invoke(async (db) => {
      const [rows] = await db.query('SELECT CONNECTION_ID() AS id')
      const first = Number((rows as [{ id: number }])[0].id)
      const running = db.query(`SELECT BENCHMARK(1000000000, MD5('thaw'))`).then(
        () => 'answered',
        (error: { code?: string }) => error.code,
      )
      await untilRunning(first, 'BENCHMARK')
      await (await admin()).query('KILL ?', [first])
      const failed = await running
      const [again] = await db.query('SELECT CONNECTION_ID() AS id')
      return { first, failed, second: Number((again as [{ id: number }])[0].id) }
    })
    expect(['ER_CONNECTION_KILLED', 'PROTOCOL_CONNECTION_LOST']).toContain(seen.failed)
    expect(seen.second).not.toBe(seen.first)
    expect(dbConnectionStats().errors).toBe(errorsBefore + 1)
  })

  it("a statement's own error (a missing table) keeps the connection for the next statement", async () => {
    const { dsn } = await createTestUser('surfacesqlerr')
    const invoke = inProcessFunction({ config: dsn() })
    const seen = await invoke(async (db) => {
      const [rows] = await db.query('SELECT CONNECTION_ID() AS id')
      const failed = await db.query('SELECT * FROM dbc_no_such_table').then(
        () => 'answered',
        (error: { code?: string }) => error.code,
      )
      const [again] = await db.query('SELECT CONNECTION_ID() AS id')
      return {
        failed,
        same: Number((rows as [{ id: number }])[0].id) === Number((again as [{ id: number }])[0].id),
      }
    })
    expect(seen).toEqual({ failed: 'ER_NO_SUCH_TABLE', same: true })
  })

  it('statementMarginMs 0 stops nothing: a statement running past the deadline is answered', async () => {
    const { dsn } = await createTestUser('surfacenomargin')
    // 300 ms left; the statement runs 1.5 s, well past the deadline, and nothing stops it.
    const slept = await shortInvocation({ config: dsn(), statementMarginMs: 0 }, 300, async (db) => {
      const [rows] = await db.query('SELECT SLEEP(1.5) AS slept')
      return Number((rows as [{ slept: number }])[0].slept)
    })
    expect(slept).toBe(0)
  })

  it.each([
    ['one statement per query', '', []],
    // Several results, the last a result set: only the OK packet before it says what the session is.
    ['multipleStatements', '?multipleStatements=true', ['DO 1; SELECT 0 AS serverStatus']],
  ])(
    "a column named serverStatus is the handler's data, not the server's status (%s)",
    async (_name, query, more) => {
      const { dsn } = await createTestUser('surfacestatus')
      const invoke = inProcessFunction({ config: `${dsn()}${query}`, resetSession: 'never' })
      const value = `status-${Date.now()}`
      // A transaction left open, then a row whose serverStatus column says "no transaction" (0) and "session
      // changed" (0x4000): the transaction must still be rolled back at the end, and nothing reset.
      await invoke(async (db) => {
        await db.query('START TRANSACTION')
        await db.query(`INSERT INTO ${table} (v) VALUES (?)`, [value])
        await db.query('SELECT 0 AS serverStatus UNION ALL SELECT 16384')
        for (const sql of more) await db.query(sql)
      })
      const resets = dbConnectionStats().resets
      const next = await invoke(async (db) => {
        const [rows] = await db.query('SELECT @@in_transaction AS t, 16384 AS serverStatus')
        return Number((rows as [{ t: number }])[0].t)
      })
      expect(next).toBe(0)
      expect(await countRowsWith(table, value)).toBe(0)
      expect(dbConnectionStats().resets).toBe(resets)
    },
  )

  it("any multi-statement texts: a transaction they leave open is rolled back at the end, whatever its results' columns are named", async () => {
    const { dsn } = await createTestUser('surfacemultiprop')
    const invoke = inProcessFunction({ config: `${dsn()}?multipleStatements=true`, resetSession: 'never' })
    const statements = [
      'START TRANSACTION',
      'COMMIT',
      'DO 1',
      'INSERT',
      'SELECT 0 AS serverStatus',
      'SELECT 1 AS serverStatus UNION ALL SELECT 16384',
    ]
    let run = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.constantFrom(...statements), { minLength: 1, maxLength: 3 }), {
          minLength: 1,
          maxLength: 4,
        }),
        async (queries) => {
          const picked = queries.flat()
          const value = `prop-${run++}-${Date.now()}`
          const sqlOf = (each: string) =>
            each === 'INSERT' ? `INSERT INTO ${table} (v) VALUES ('${value}')` : each
          // The model: an INSERT is kept unless a START TRANSACTION before it is still open at the end.
          let open = false
          let pending = 0
          let kept = 0
          for (const each of picked) {
            if (each === 'START TRANSACTION' || each === 'COMMIT') {
              if (open || each === 'COMMIT') kept += pending
              pending = 0
              open = each === 'START TRANSACTION'
            } else if (each === 'INSERT') {
              if (open) pending++
              else kept++
            }
          }
          // Each query one text of one to three statements: alone, a SELECT is a single result set.
          await invoke(async (db) => {
            for (const query of queries) await db.query(query.map(sqlOf).join('; '))
          })
          const next = await invoke(async (db) => {
            const [rows] = await db.query('SELECT @@in_transaction AS t')
            return Number((rows as [{ t: number }])[0].t)
          })
          expect(next).toBe(0)
          expect(await countRowsWith(table, value)).toBe(kept)
        },
      ),
      { numRuns: 40 },
    )
  })
})
