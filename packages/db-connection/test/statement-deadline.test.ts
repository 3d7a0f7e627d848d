import { randomBytes } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import {
  admin,
  call,
  connectionIds,
  countRowsWith,
  createTestUser,
  lockHolder,
  setUpTestFile,
  startHandler,
} from './helpers.ts'

// A statement never outlives its invocation on the server: a statement still
// running statementMarginMs before the invocation's deadline is stopped on the server, its await
// settles with an error naming the deadline, and the invocation ends before Middy's early timeout or
// Lambda's own (no Sandbox.Timedout, no environment reset), its transaction and locks gone.

const table = setUpTestFile({ table: 'dbc_deadline' })

const rowsWith = (value: string) => countRowsWith(table, value)

const sleepingStatements = async (user: string) => {
  const [rows] = await (await admin()).query(
    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE '%SLEEP(30)%'",
    [user],
  )
  return Number((rows as [{ n: number }])[0].n)
}

describe('a statement still running at the invocation deadline', () => {
  it.each([
    ["Middy's early timeout at its default 5 ms", 5],
    ["Lambda's own deadline (no early timeout in Middy)", 0],
  ])(
    '%s: stopped on the server, its lock free and its transaction gone when the invocation ends',
    async (_name, timeoutEarlyInMillis) => {
      const { user, dsn } = await createTestUser('deadline')
      const timeoutMs = 2_500
      const environment = await startHandler({ databaseUrl: dsn(), timeoutEarlyInMillis }, { timeoutMs })
      await call(environment, { action: 'query', sql: 'SELECT 1' })
      const inits = environment.initCount
      const value = `deadline-${randomBytes(3).toString('hex')}`
      const lock = `dbc_lock_${randomBytes(3).toString('hex')}`
      const outcome = await environment.invoke({
        action: 'transaction',
        steps: [
          { sql: `INSERT INTO ${table} (v) VALUES (?)`, values: [value] },
          { sql: 'SELECT GET_LOCK(?, 0)', values: [lock] },
          { sql: 'SELECT SLEEP(30)' },
        ],
      })
      // Checked at once: finish() waited for the KILL before the invocation answered.
      const holder = await lockHolder(lock)
      const sleeping = await sleepingStatements(user)
      expect(outcome.ok).toBe(false)
      if (outcome.ok) return
      expect(outcome.error.name).not.toBe('Sandbox.Timedout')
      expect(outcome.error.name).toBe('DbConnectionError')
      expect(outcome.error.message).toMatch(/invocation's deadline/)
      expect(outcome.durationMs).toBeLessThan(timeoutMs)
      expect(holder).toBeNull()
      expect(sleeping).toBe(0)
      expect(await rowsWith(value)).toBe(0)
      // The same environment goes on (no reset), with the connection the KILL was sent from.
      const next = await call<{ rows: [{ t: number }]; stats: Record<string, number> }>(environment, {
        action: 'query',
        sql: 'SELECT @@in_transaction AS t',
      })
      expect(environment.initCount).toBe(inits)
      expect(Number(next.rows[0].t)).toBe(0)
      expect(next.stats.deadlineStops).toBe(1)
      expect((await connectionIds(user)).length).toBe(1)
    },
  )

  it("the handler's pending await settles with THAW_DB_CONNECTION_STATEMENT_DEADLINE; the next invocation is served", async () => {
    const { user, dsn } = await createTestUser('deadlinecatch')
    const environment = await startHandler({ databaseUrl: dsn() }, { timeoutMs: 2_000 })
    const outcome = await environment.invoke({ action: 'catch', sql: 'SELECT SLEEP(30)' })
    if (!outcome.ok) throw new Error(`invocation failed: ${outcome.error.name}: ${outcome.error.message}`)
    const { error } = outcome.result as { error: { code: string; message: string } }
    expect(error.code).toBe('THAW_DB_CONNECTION_STATEMENT_DEADLINE')
    expect(error.message).toMatch(
      /^@thaw\/db-connection: the statement was stopped at the invocation's deadline/,
    )
    expect(await sleepingStatements(user)).toBe(0)
    const later = await call<{ rows: [{ one: number }] }>(environment, {
      action: 'query',
      sql: 'SELECT 1 AS one',
    })
    expect(later.rows[0].one).toBe(1)
  })
})
