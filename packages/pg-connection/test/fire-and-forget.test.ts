import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import pgConnection, { type PgConnectionContext, pgConnectionStats } from '../src/index.ts'
import { admin, createTestRole, inProcessFunction, setUpTestFile, startHandler } from './helpers.ts'

// A handler that starts a statement and answers without awaiting it (an audit INSERT) gets what a
// plain pg pool gives it: every answer reaches the caller, every statement reaches the server, and
// nothing thaw does ends the runtime. In lambda-sim, so that the runtime's own unhandled-rejection rule
// and the freeze after each answer are the real ones; the stop before the deadline in-process.

setUpTestFile()

let role: Awaited<ReturnType<typeof createTestRole>>
let table: string
beforeAll(async () => {
  role = await createTestRole('forget')
  table = `${role.role}_t`
  await (await admin()).query(`CREATE TABLE ${table} (v text)`)
  await (await admin()).query(`GRANT ALL ON ${table} TO ${role.role}`)
})

const rowsWith = async (value: string): Promise<number> =>
  (await (await admin()).query(`SELECT count(*)::int AS n FROM ${table} WHERE v = $1`, [value])).rows[0].n

const sleepingSessions = async (): Promise<unknown[]> =>
  (
    await (
      await admin()
    ).query(
      "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%pg_sleep%'",
      [role.role],
    )
  ).rows

describe('a statement the handler started and did not await', () => {
  it('completes before the environment freezes: 10 answers, 10 rows, one init', async () => {
    const environment = await startHandler({ url: role.url() }, { timeoutMs: 5_000 })
    const value = `forget-${randomBytes(3).toString('hex')}`
    const outcomes = []
    for (let i = 0; i < 10; i++) {
      outcomes.push(
        await environment.invoke({
          action: 'forget',
          // Slow enough to be still running when the handler answers.
          sql: `INSERT INTO ${table} (v) SELECT $1 FROM pg_sleep(0.05)`,
          values: [value],
        }),
      )
    }
    expect(outcomes.map((outcome) => (outcome.ok ? 'answered' : outcome.error.name))).toEqual(
      Array(10).fill('answered'),
    )
    expect(await rowsWith(value)).toBe(10)
    expect(environment.initCount).toBe(1)
  })

  it("once completed, nothing keeps its invocation's session: the only session alive is the current invocation's", async () => {
    // A session waiting for un-awaited statements is watched for its stop; one left in the watch after
    // they completed would be kept (and looked at by every later invocation) for the process's life.
    const environment = await startHandler({ url: role.url() }, { timeoutMs: 5_000 })
    for (let i = 0; i < 3; i++) await environment.invoke({ action: 'forget', sql: 'SELECT pg_sleep(0.05)' })
    await environment.invoke({ action: 'query', sql: 'SELECT 1' })
    const outcome = await environment.invoke({ action: 'sessions' })
    expect(outcome.ok ? outcome.result : outcome.error).toEqual({ sessions: 1 })
  })

  it('sent after the answer (from a timer), it is refused with a warning and the runtime goes on', async () => {
    const environment = await startHandler({ url: role.url() }, { timeoutMs: 5_000 })
    const value = `late-${randomBytes(3).toString('hex')}`
    const first = await environment.invoke({
      action: 'late',
      sql: `INSERT INTO ${table} (v) VALUES ($1)`,
      values: [value],
    })
    expect(first.ok).toBe(true)
    const second = await environment.invoke({ action: 'stats' })
    expect(second.ok).toBe(true)
    if (!second.ok) return
    const { logged } = second.result as { logged: { event: string; level: string }[] }
    expect(logged.filter((event) => event.event === 'late-statement')).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'late-statement',
        message: expect.stringMatching(/after its invocation ended: refused, not sent/),
      }),
    ])
    // Refused, not sent: a statement sent after its invocation could run while the environment is
    // frozen, or never.
    expect(await rowsWith(value)).toBe(0)
    expect(environment.initCount).toBe(1)
  })

  it.each([250, 0])(
    'still running near the deadline (statementMarginMs %i), it is cancelled before the deadline, not left on the server',
    async (statementMarginMs) => {
      const run = inProcessFunction({ config: role.url(), statementMarginMs }, 0)
      const before = pgConnectionStats().deadlineStops
      const remainingMs = 1_500
      const started = Date.now()
      await run(async (db) => {
        await db.query('SELECT 1')
        void db.query('SELECT pg_sleep(5)')
        return 'answered'
      }, remainingMs)
      // The invocation's end waited for the statement, and stopped it within the deadline.
      expect(Date.now() - started).toBeLessThan(remainingMs)
      expect(pgConnectionStats().deadlineStops - before).toBe(1)
      expect(await sleepingSessions()).toEqual([])
    },
  )

  it('is stopped at the configured margin before the deadline, and its await says so', async () => {
    // A margin of 2 s in an invocation of 3 s: stopped about 1 s in, where statementMarginMs' default
    // (250) would have let it run 2.75 s. The await nobody made is still there to read.
    const run = inProcessFunction({ config: role.url(), statementMarginMs: 2_000 }, 0)
    let forgotten: Promise<unknown> | undefined
    await run(async (db) => {
      await db.query('SELECT 1')
      forgotten = db.query('SELECT pg_sleep(5)')
      return 'answered'
    }, 3_000)
    const error = await (forgotten as Promise<unknown>).then(
      () => undefined,
      (thrown: { code?: string; message: string }) => thrown,
    )
    expect(error?.code).toBe('THAW_PG_CONNECTION_STATEMENT_DEADLINE')
    const beforeMs = Number(
      /still running (\d+) ms before the function's timeout/.exec(error?.message ?? '')?.[1],
    )
    // Before the deadline by more than the default margin, however late the timer fired (up to 1.75 s).
    expect(beforeMs).toBeGreaterThan(250)
    expect(error?.message).toMatch(/the handler answered without awaiting it/)
  })

  it('with no deadline known, it is stopped when the handler answers, and its await says why', async () => {
    let forgotten: Promise<unknown> | undefined
    const handler = middy<unknown, unknown, Error, PgConnectionContext>()
      .use(pgConnection({ config: role.url() }))
      .handler(async (_event, context) => {
        await context.db.query('SELECT 1')
        forgotten = context.db.query('SELECT pg_sleep(5)')
        return 'answered'
      })
    // A context without getRemainingTimeInMillis: nothing says how long the statement may run.
    await handler({}, {} as PgConnectionContext)
    const error = await (forgotten as Promise<unknown>).then(
      () => undefined,
      (thrown: { code?: string; message: string }) => thrown,
    )
    // Stopped, or (had the cancel come before the server began the statement) maybe still running:
    // either way the handler is told why it was stopped then.
    expect(error?.code).toMatch(/^THAW_PG_CONNECTION_STATEMENT_(DEADLINE|OUTCOME_UNKNOWN)$/)
    expect(error?.message).toMatch(
      /the handler answered without awaiting it, and it was still running when the invocation ended \(no deadline known\)/,
    )
  })
})
