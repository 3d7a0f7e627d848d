import { describe, expect, it } from '@jest/globals'
import { admin, createTestRole, inProcessFunction, setUpTestFile } from './helpers.ts'

// A statement never outlives its invocation on the server: still running statementMarginMs before the
// deadline, it is cancelled with PostgreSQL's cancel request, and the handler hears "stopped" only once
// the server answered that it cancelled it; a statement sent after that point is not sent at all.

setUpTestFile()

const outcomeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ code: 'answered', message: '' }),
    (error: { code?: string; message?: string; cause?: { code?: string } }) => ({
      code: error.code,
      message: error.message ?? '',
      causeCode: error.cause?.code,
    }),
  )

describe('statement deadline', () => {
  it('a statement still running at deadline - margin is cancelled on the server and reported stopped', async () => {
    const { role, url } = await createTestRole('deadline')
    // Middy's own early timeout off: thaw's margin alone decides.
    const run = inProcessFunction({ config: url(), statementMarginMs: 1_000 }, 0)
    const outcome = await run(async (db) => {
      const pid = (await db.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number
      const result = await outcomeOf(db.query('SELECT pg_sleep(30)'))
      const late = await outcomeOf(db.query('SELECT 1'))
      return { pid, result, late }
    }, 2_500)
    expect(outcome.result).toEqual({
      code: 'THAW_STATEMENT_DEADLINE',
      message: expect.stringMatching(
        /^@thaw\/pg-connection: the statement was stopped .*server confirmed it cancelled it/,
      ),
      causeCode: '57014',
    })
    expect(outcome.late.code).toBe('THAW_STATEMENT_DEADLINE')
    expect(outcome.late.message).toMatch(/was not sent/)
    // The server runs nothing for the role any more: the session is idle, and it is kept.
    const { rows } = await (await admin()).query(
      "SELECT pid, state FROM pg_stat_activity WHERE usename = $1 AND query LIKE '%pg_sleep%' AND state = 'active'",
      [role],
    )
    expect(rows).toEqual([])
    const next = await run(
      async (db) => (await db.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number,
    )
    expect(next).toBe(outcome.pid)
  })

  it('when the cancel cannot be confirmed, the handler is told the statement may still run', async () => {
    const { url } = await createTestRole('unconfirmed')
    // A port where nothing listens would fail the connect itself; instead the statement blocks the
    // cancel's effect: a cancel request to another port goes nowhere. The pool's config points the
    // cancel at the server the client connected to, so the server is made deaf by holding a lock
    // in a way a cancel cannot interrupt: none exists in PostgreSQL, so this case is shown with a
    // confirmation time too short for any answer (validateTimeoutMs 1 ms).
    const run = inProcessFunction({ config: url(), statementMarginMs: 1_000, validateTimeoutMs: 1 }, 0)
    const outcome = await run((db) => outcomeOf(db.query('SELECT pg_sleep(30)')), 2_000)
    expect(outcome.code).toBe('THAW_STATEMENT_MAY_STILL_RUN')
    expect(outcome.message).toMatch(/may still be running .* do not retry it unless it is safe to run twice/)
    expect(outcome.message).not.toMatch(/stopped/)
  })
})
