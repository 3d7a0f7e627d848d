import { describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import dbConnection, {
  closePools,
  type DbConnectionContext,
  type DbConnectionMiddleware,
} from '../src/index.ts'
import {
  admin,
  closedPort,
  createTestUser,
  inProcessFunction,
  lambdaContext,
  lockHolder,
  managedInstances,
  setUpTestFile,
  startProxy,
} from './helpers.ts'

// Sessions that end off the happy path, in-process so that mutation testing counts them: an invocation
// whose after was skipped by another middleware's early response (finished by the next invocation's
// before, in classic mode and with Managed Instances), a lease that fails inside getConnection(), a lease
// that arrives after its invocation has ended, a USE that the server reports, and a change on a connection
// that was not asked to report its changes (after a tracking timeout).

setUpTestFile({ cleanUp: () => closePools() })

type Db = DbConnectionContext['db']
interface Event {
  run: (db: Db) => Promise<unknown>
  // A middleware after dbConnection answers in its after: Middy skips dbConnection's after.
  early?: boolean
}

// A function whose second middleware answers early when the event says so, as an authoriser or a cache
// in front of the handler would. Early timeout off: these invocations have short deadlines on purpose.
const functionWithEarlyAnswer = (
  middleware: DbConnectionMiddleware,
): ((event: Event, context: DbConnectionContext) => Promise<unknown>) =>
  middy<Event, unknown, Error, DbConnectionContext>({ timeoutEarlyInMillis: 0 })
    .use(middleware)
    .use({ after: (request) => (request.event.early ? 'answered early' : undefined) })
    .handler((event, context) => event.run(context.db))

const idOf = async (db: Db, sql = 'SELECT CONNECTION_ID() AS id') => {
  const [rows] = await db.query(sql)
  return Number((rows as [{ id: number }])[0].id)
}

// The error a handler sees, as the two fields it would test.
const outcomeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'answered',
    (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
  )

const invocationEnded = {
  code: 'THAW_DB_CONNECTION_INVOCATION_ENDED',
  message: expect.stringMatching(/^@thaw\/db-connection: the invocation has ended .*can no longer be used$/),
}

describe("an invocation whose after was skipped by another middleware's early answer", () => {
  it("classic: the next invocation's before resets its connection and puts it back before the handler runs", async () => {
    const { user, dsn, host, port } = await createTestUser('endsearly')
    // Through a proxy that delays the server's answers, so that the reset certainly takes longer than
    // the way from before to the handler's first lease; with room for a second connection, which a lease
    // made while the first is still being reset would open.
    const proxy = await startProxy({ host, port })
    const invoke = functionWithEarlyAnswer(dbConnection({ config: `${dsn(proxy.port)}?connectionLimit=2` }))
    const lock = `dbc_ends_${user}`
    let held: number | undefined
    const early = await invoke(
      {
        early: true,
        run: async (db) => {
          await db.query('START TRANSACTION')
          await db.query('SELECT GET_LOCK(?, 0)', [lock])
          held = await idOf(db)
        },
      },
      lambdaContext(),
    )
    expect(early).toBe('answered early')
    // The session still holds its connection, its transaction and its lock.
    expect(await lockHolder(lock)).toBe(held)
    proxy.delayMs = 400
    const next = await invoke(
      {
        // Nothing awaited before the lease: what the handler finds was done by before.
        run: async (db) => {
          const [rows] = await db.query(
            'SELECT CONNECTION_ID() AS id, @@in_transaction AS t, IS_USED_LOCK(?) AS holder',
            [lock],
          )
          const row = (rows as [{ id: number; t: number; holder: number | null }])[0]
          return { ...row, id: Number(row.id), t: Number(row.t) }
        },
      },
      lambdaContext(),
    )
    proxy.delayMs = 0
    // The same connection, reset: no second connection was opened while the first was being reset.
    expect(next).toEqual({ id: held, t: 0, holder: null })
  })

  it('Managed Instances: a session past its deadline is finished by the next before even when its own timer has not run', async () => {
    const { user, dsn } = await createTestUser('endsmi')
    // No statement margin: only the invocation's own deadline is under test.
    const invoke = functionWithEarlyAnswer(managedInstances({ config: dsn(), statementMarginMs: 0 }))
    // The connection opened with time to spare, so that the short invocation's lease is a reuse.
    await invoke({ run: (db) => idOf(db) }, lambdaContext())
    const lock = `dbc_ends_${user}`
    const remainingMs = 300
    let stale: Db | undefined
    const answered = await invoke(
      {
        early: true,
        run: async (db) => {
          stale = db
          await db.query('SELECT GET_LOCK(?, 0)', [lock])
        },
      },
      lambdaContext(remainingMs),
    )
    expect(answered).toBe('answered early')
    const deadline = Date.now() + remainingMs
    // The event loop is busy past the session's deadline, so its timer cannot have run (timers run only
    // between turns of the loop); the next invocation's before, called in the same turn, must finish it.
    while (Date.now() <= deadline + 20) {
      // busy on purpose
    }
    const seen = await invoke(
      {
        run: async () => ({
          late: await outcomeOf((stale as Db).query('SELECT 1')),
          holder: await lockHolder(lock),
        }),
      },
      lambdaContext(),
    )
    expect(seen).toEqual({ late: invocationEnded, holder: null })
  })
})

describe('leases off the happy path', () => {
  it('a lease that fails inside getConnection() lets the next getConnection() and statement try again', async () => {
    const { dsn } = await createTestUser('endsrefused')
    const invoke = inProcessFunction({ config: dsn(await closedPort()) })
    const outcomes = await invoke((db) => {
      const attempts = [
        outcomeOf(db.getConnection()),
        outcomeOf(db.getConnection()),
        outcomeOf(db.query('SELECT 1')),
      ]
      // A waiter left behind would never settle: the invocation answers within its own deadline.
      const stuck = new Promise((resolve) => setTimeout(resolve, 8_000, 'stuck').unref())
      return Promise.race([Promise.all(attempts), stuck])
    })
    expect(outcomes).toEqual([
      expect.objectContaining({ code: 'ECONNREFUSED' }),
      expect.objectContaining({ code: 'ECONNREFUSED' }),
      expect.objectContaining({ code: 'ECONNREFUSED' }),
    ])
  })

  it('a first statement the handler did not await is answered, and its connection goes back: the next invocation gets it', async () => {
    const { user, dsn } = await createTestUser('endslate')
    // connectionLimit 1 (the default): a connection kept by the ended session would leave the next
    // invocation waiting in the pool's queue until its deadline.
    const invoke = inProcessFunction({ config: dsn() })
    let late: Promise<unknown> | undefined
    // The handler returns without awaiting its first statement: the invocation's end finds the lease (a
    // connect) on its way, lets it and the statement through, then gives the connection back.
    await invoke(async (db) => {
      late = outcomeOf(db.query('SELECT 1'))
    })
    expect(await late).toBe('answered')
    const id = await invoke((db) => idOf(db))
    const [rows] = await (await admin()).query(
      'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?',
      [user],
    )
    expect((rows as { id: number }[]).map((row) => Number(row.id))).toEqual([id])
  })

  it('Managed Instances: the connection of an un-awaited first statement goes back once it is answered, not at the deadline', async () => {
    const { dsn } = await createTestUser('endslatemi')
    const invoke = functionWithEarlyAnswer(managedInstances({ config: dsn() }))
    let late: Promise<unknown> | undefined
    await invoke(
      {
        run: async (db) => {
          late = outcomeOf(db.query('SELECT 1'))
        },
      },
      lambdaContext(60_000),
    )
    expect(await late).toBe('answered')
    // connectionLimit 1: had the ended session kept the connection until its deadline, a minute away,
    // this invocation would wait in the pool's queue and fail at its own, 5 s away.
    await expect(invoke({ run: (db) => idOf(db) }, lambdaContext(5_000))).resolves.toEqual(expect.any(Number))
  })

  it('a USE that the server reports does not reach the next invocation', async () => {
    const { dsn } = await createTestUser('endsuse')
    const invoke = inProcessFunction({ config: dsn() })
    const during = await invoke(async (db) => {
      await db.query('USE information_schema')
      const [rows] = await db.query('SELECT DATABASE() AS db, CONNECTION_ID() AS id')
      return (rows as [{ db: string; id: number }])[0]
    })
    expect(during.db).toBe('information_schema')
    const next = await invoke(async (db) => {
      const [rows] = await db.query('SELECT DATABASE() AS db, CONNECTION_ID() AS id')
      return (rows as [{ db: string; id: number }])[0]
    })
    expect(next).toEqual({ db: new URL(dsn()).pathname.slice(1), id: during.id })
  })

  it('a reset after a change that left the database alone sends no USE', async () => {
    const { dsn } = await createTestUser('endsnouse')
    const invoke = inProcessFunction({ config: dsn() })
    // The server counts the session's changes of database (USE, COM_INIT_DB).
    const changesOfDatabase = async (db: Db) => {
      const [rows] = await db.query(
        "SELECT CONNECTION_ID() AS id, VARIABLE_VALUE AS n FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_CHANGE_DB'",
      )
      const [row] = rows as [{ id: number; n: string }]
      return { id: Number(row.id), n: Number(row.n) }
    }
    const before = await invoke(async (db) => {
      await db.query('SET @thaw_left = 1')
      return changesOfDatabase(db)
    })
    const after = await invoke(async (db) => {
      const [rows] = await db.query('SELECT @thaw_left AS v')
      return { ...(await changesOfDatabase(db)), v: (rows as [{ v: unknown }])[0].v }
    })
    // Reset (the variable is gone) on the same connection, and no change of database was sent.
    expect(after).toEqual({ ...before, v: null })
  })

  it('a connection opened after a tracking timeout counts any statement but a plain read as a change', async () => {
    const { user, dsn, host, port } = await createTestUser('endsuntracked')
    // A function that sets a user variable: `DO f()` names no keyword of the session-state detection,
    // so only the server's report, or its absence, tells that the session changed.
    const hidden = `dbc_hidden_${user.slice(-6)}`
    await (await admin()).query(
      `CREATE FUNCTION ${hidden}() RETURNS INT DETERMINISTIC BEGIN SET @thaw_hidden = 42; RETURN 1; END`,
    )
    try {
      const proxy = await startProxy({ host, port })
      const invoke = inProcessFunction({ config: dsn(proxy.port), validateTimeoutMs: 300 })
      // The first connection's tracking SET goes unanswered: it is discarded, and the pool's next
      // connections are not asked to report their session changes.
      proxy.holeNextAfter(1)
      const first = await invoke(async (db) => {
        await db.query(`DO ${hidden}()`)
        return idOf(db)
      })
      const next = await invoke(async (db) => {
        const [rows] = await db.query('SELECT @thaw_hidden AS v, CONNECTION_ID() AS id')
        const [row] = rows as [{ v: unknown; id: number }]
        return { v: row.v, id: Number(row.id) }
      })
      expect(next).toEqual({ v: null, id: first })
    } finally {
      await (await admin()).query(`DROP FUNCTION IF EXISTS ${hidden}`)
    }
  })
})
