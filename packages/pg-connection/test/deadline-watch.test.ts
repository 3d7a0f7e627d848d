import { describe, expect, it } from '@jest/globals'
import { createTestRole, inProcessFunction, setUpTestFile } from './helpers.ts'

// Every session's statement deadline is on one timer per process (deadline-watch.ts), set for the
// earliest moment any session must act. A file of its own: no timer left by another test is set
// earlier than the ones this test sets.

setUpTestFile()

describe('one timer for every statement deadline', () => {
  it('an invocation whose deadline is sooner than any before it is stopped at its own deadline', async () => {
    const { url } = await createTestRole('sooner')
    const run = inProcessFunction({ config: url(), statementMarginMs: 1_000 }, 0)
    // The first invocation's stop would come in ten minutes; it ends at once and leaves that time set.
    await run((db) => db.query('SELECT 1'), 600_000)
    const outcome = await run(
      (db) =>
        db.query('SELECT pg_sleep(60)').then(
          () => ({ code: 'answered', message: '' }),
          (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
        ),
      3_000,
    )
    // Stopped by the server at its own deadline: left to the first invocation's time, the sleep would
    // have answered (or the test timed out) first.
    expect(outcome.code).toBe('THAW_PG_CONNECTION_STATEMENT_DEADLINE')
    expect(outcome.message).toMatch(/server confirmed it cancelled it/)
  })
})
