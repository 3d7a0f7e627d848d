import { describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import { waitFor } from '@thaw/test-support'
import dbConnection, {
  closePools,
  type DbConnectionContext,
  type DbConnectionLogEvent,
  type DbConnectionMiddleware,
  dbConnectionStats,
} from '../src/index.ts'
import {
  admin,
  connectionIds,
  createTestUser,
  lambdaContext,
  managedInstances,
  setUpTestFile,
  startProxy,
  untilRunning,
} from './helpers.ts'

const table = setUpTestFile({ table: 'dbc_stop', cleanUp: () => closePools() })

// What a handler is told about a statement still running at the invocation's deadline, and whether it
// is true: "stopped" (THAW_DB_CONNECTION_STATEMENT_DEADLINE) only when the server no longer shows the statement's
// session; otherwise THAW_DB_CONNECTION_STATEMENT_OUTCOME_UNKNOWN, saying why, while the statement may run on. In
// process, against the real server and through a delaying proxy.

type Db = DbConnectionContext['db']
type Seen = { code?: string; message?: string; settledBeforeDeadline: boolean }

const benchmark = `SELECT BENCHMARK(1000000000, MD5('thaw'))`

const idOf = async (db: Db) => {
  const [rows] = await db.query('SELECT CONNECTION_ID() AS id')
  return Number((rows as [{ id: number }])[0].id)
}

const functionOf = (middleware: DbConnectionMiddleware) => {
  const handler = middy<{ run: (db: Db) => Promise<unknown> }, unknown, Error, DbConnectionContext>({
    timeoutEarlyInMillis: 0,
  })
    .use(middleware)
    .handler((event, context) => event.run(context.db))
  return <T>(run: (db: Db) => Promise<T>, remainingMs = 10_000) =>
    handler({ run }, lambdaContext(remainingMs)) as Promise<T>
}

// Runs the statement in an invocation with `remainingMs` left and reports how its await settled.
// `deadline` is taken before the invocation's context is made: never later than the one thaw sees.
const runPastDeadline = (invoke: ReturnType<typeof functionOf>, remainingMs: number) => {
  const deadline = Date.now() + remainingMs
  return invoke(async (db): Promise<Seen & { id: number }> => {
    const id = await idOf(db)
    const running = db.query(benchmark)
    return running.then(
      () => ({ id, settledBeforeDeadline: Date.now() < deadline }),
      (error: { code?: string; message?: string }) => ({
        id,
        code: error.code,
        message: error.message,
        settledBeforeDeadline: Date.now() < deadline,
      }),
    )
  }, remainingMs)
}

const stillRunning = async (id: number): Promise<boolean> => {
  const [rows] = await (await admin()).query(
    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE '%BENCHMARK%'",
    [id],
  )
  return Number((rows as [{ n: number }])[0].n) === 1
}

describe('a statement still running at the deadline', () => {
  it('with the user at its connection limit, is stopped from an idle connection of the same user', async () => {
    // Two connections at most for this user, both thaw's: a KILL needing a new connection would be
    // refused (ER_USER_LIMIT_REACHED).
    const { user, dsn } = await createTestUser('stopidle', { maxUserConnections: 2 })
    // Giving back off: a connection opened at half this user's limit or more would be closed after its
    // invocation (fleet-hygiene.ts), and this is about the idle ones a pool keeps.
    const invoke = functionOf(
      managedInstances({ config: `${dsn()}?connectionLimit=2`, fleet: { giveBackAbove: false } }),
    )
    // Two concurrent invocations open both connections; both then sit idle in the pool.
    await Promise.all([invoke(idOf), invoke(async (db) => idOf(db))])
    expect((await connectionIds(user)).length).toBe(2)
    const seen = await runPastDeadline(invoke, 1_500)
    expect(seen).toMatchObject({ code: 'THAW_DB_CONNECTION_STATEMENT_DEADLINE', settledBeforeDeadline: true })
    expect(seen.message).toMatch(
      /^@thaw\/db-connection: the statement was stopped at the invocation's deadline/,
    )
    expect(await stillRunning(seen.id)).toBe(false)
    expect(await connectionIds(user)).not.toContain(seen.id)
  })

  it('when no connection for the KILL can be had, says it may still run, and it does', async () => {
    // One connection for this user, the one running the statement.
    const { dsn } = await createTestUser('stopnone', { maxUserConnections: 1 })
    const unknownBefore = dbConnectionStats().outcomesUnknown
    const logged: DbConnectionLogEvent[] = []
    const invoke = functionOf(dbConnection({ config: dsn(), logger: (event) => logged.push(event) }))
    const seen = await runPastDeadline(invoke, 1_500)
    try {
      // The log says no more than the handler is told: no "KILLed" for a KILL never sent.
      expect(logged.filter((event) => event.event === 'abandoned').map((event) => event.message)).toEqual([
        'a statement was still running when it had to end: its connection is closed; whether it stopped is not known (no connection for the KILL could be opened (ER_USER_LIMIT_REACHED))',
      ])
      expect(seen).toMatchObject({
        code: 'THAW_DB_CONNECTION_STATEMENT_OUTCOME_UNKNOWN',
        settledBeforeDeadline: true,
      })
      expect(seen.message).toMatch(
        /could not be stopped: no connection for the KILL could be opened \(ER_USER_LIMIT_REACHED\)\. It may have completed or may still be running, and may have committed: retrying it is not safe$/,
      )
      // True: the statement runs on.
      expect(await stillRunning(seen.id)).toBe(true)
      expect(dbConnectionStats().outcomesUnknown).toBe(unknownBefore + 1)
    } finally {
      await (await admin()).query('KILL ?', [seen.id]).catch(() => {})
    }
  })

  it("after an alternating-users rotation, is stopped as the statement's own user", async () => {
    // Two users, as Secrets Manager's alternating-users rotation keeps them; neither may KILL the
    // other's sessions. The pool's template names whichever user the last new connection used.
    const a = await createTestUser('stopalta')
    const b = await createTestUser('stopaltb')
    type Event = { user: string; password: string; run: (db: Db) => Promise<unknown> }
    const handler = middy<Event, unknown, Error, DbConnectionContext>({ timeoutEarlyInMillis: 0 })
      .use({
        before: (request) => {
          Object.assign(request.internal, { dbUser: request.event.user, dbPassword: request.event.password })
        },
      })
      .use(
        managedInstances({
          config: {
            host: a.host,
            port: a.port,
            database: new URL(a.dsn()).pathname.slice(1),
            connectionLimit: 2,
          },
          internalData: { user: 'dbUser', password: 'dbPassword' },
        }),
      )
      .handler((event, context) => event.run(context.db))
    const as = (who: typeof a) => ({ user: who.user, password: who.password })
    const deadline = Date.now() + 2_500
    const seen = (await handler(
      {
        ...as(a),
        run: async (db: Db) => {
          const id = await idOf(db)
          const running = db.query(benchmark)
          await untilRunning(id, 'BENCHMARK')
          // Meanwhile another invocation opens the pool's second connection as the other user.
          await handler({ ...as(b), run: idOf }, lambdaContext(10_000))
          return running.then(
            () => ({ id, settledBeforeDeadline: Date.now() < deadline }),
            (error: { code?: string; message?: string }) => ({
              id,
              code: error.code,
              message: error.message,
              settledBeforeDeadline: Date.now() < deadline,
            }),
          )
        },
      },
      lambdaContext(2_500),
    )) as Seen & { id: number }
    expect(seen).toMatchObject({ code: 'THAW_DB_CONNECTION_STATEMENT_DEADLINE', settledBeforeDeadline: true })
    expect(await stillRunning(seen.id)).toBe(false)
  })
})

describe('a statement the server finished whose answer never came', () => {
  it('is not reported as stopped: the session was found done or gone, and the statement did commit', async () => {
    const { host, port, dsn } = await createTestUser('stopdone')
    const proxy = await startProxy({ host, port })
    const invoke = functionOf(dbConnection({ config: dsn(proxy.port) }))
    const value = `done-${Date.now()}`
    const seen = await invoke(async (db) => {
      await idOf(db)
      // From now on this connection's answers are lost on the way (a link that drops them); the KILL's
      // connection, opened later, is not affected.
      proxy.holdAnswers()
      return db.query(`INSERT INTO ${table} (v) VALUES (?)`, [value]).then(
        () => ({ code: 'answered', message: '' }),
        (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
      )
    }, 1_500)
    expect(seen.code).toBe('THAW_DB_CONNECTION_STATEMENT_OUTCOME_UNKNOWN')
    // The server drops an idle session as soon as its socket closes (thaw closes it before the KILL), or
    // the KILL finds it idle: either way the statement was over, not stopped.
    expect(seen.message).toMatch(
      /(the statement had already finished on the server|its session had already left the server) before the KILL/,
    )
    // True: the INSERT committed, so a "stopped" would have invited a second one.
    const [rows] = await (await admin()).query(`SELECT COUNT(*) AS n FROM ${table} WHERE v = ?`, [value])
    expect(Number((rows as [{ n: number }])[0].n)).toBe(1)
  })
})

describe('the stop over a slow link, with default settings', () => {
  it.each([0, 50, 150])(
    '%i ms each way: settled before the deadline, the session gone from the server',
    async (delayMs) => {
      const { user, host, port, dsn } = await createTestUser(`slow${delayMs}`)
      const proxy = await startProxy({ host, port })
      proxy.delayMs = delayMs
      proxy.upstreamDelayMs = delayMs
      const logged: DbConnectionLogEvent[] = []
      const invoke = functionOf(
        dbConnection({ config: dsn(proxy.port), logger: (event) => logged.push(event) }),
      )
      // The first invocation opens the connection, which measures the link.
      await invoke(idOf)
      const seen = await runPastDeadline(invoke, 4_000)
      expect(seen).toMatchObject({
        code: 'THAW_DB_CONNECTION_STATEMENT_DEADLINE',
        settledBeforeDeadline: true,
      })
      expect(await stillRunning(seen.id)).toBe(false)
      await waitFor(async () => ((await connectionIds(user)).includes(seen.id) ? undefined : true), {
        what: 'the stopped session gone from the server',
        withinMs: 2_000,
      })
      const warnings = logged.filter((event) => event.event === 'margin-too-small')
      // 250 ms hold a stop on loopback; past 50 ms each way the link needs more, and is told once.
      if (delayMs >= 50) expect(warnings).toEqual([expect.objectContaining({ level: 'warn' })])
      else expect(warnings).toEqual([])
    },
  )
})
