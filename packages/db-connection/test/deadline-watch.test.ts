import { describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import dbConnection, { type DbConnectionContext } from '../src/index.ts'
import { createTestUser, lambdaContext, setUpTestFile } from './helpers.ts'

// Every session's statement deadline is on one timer per process (db-core's deadline-watch.ts), set for
// the earliest moment any session must act. A file of its own: no timer left by another test is set
// earlier than the ones this test sets.

setUpTestFile()

describe('one timer for every statement deadline', () => {
  it('an invocation whose deadline is sooner than any before it is stopped at its own deadline', async () => {
    const { dsn } = await createTestUser('sooner')
    type Db = DbConnectionContext['db']
    const handler = middy<{ run: (db: Db) => Promise<unknown> }, unknown, Error, DbConnectionContext>({
      timeoutEarlyInMillis: 0,
    })
      .use(dbConnection({ config: dsn(), statementMarginMs: 1_000 }))
      .handler((event, context) => event.run(context.db))
    // The first invocation's stop would come in ten minutes; it ends at once and leaves that time set.
    await handler({ run: (db) => db.query('SELECT 1') }, lambdaContext(600_000))
    const outcome = (await handler(
      {
        run: (db) =>
          db.query('SELECT SLEEP(60)').then(
            () => ({ code: 'answered', message: '' }),
            (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
          ),
      },
      lambdaContext(3_000),
    )) as { code?: string; message?: string }
    // Stopped at its own deadline: left to the first invocation's time, the sleep would have answered
    // (or the test timed out) first.
    expect(outcome.code).toBe('THAW_DB_CONNECTION_STATEMENT_DEADLINE')
    expect(outcome.message).toMatch(/stopped at the invocation's deadline/)
  })
})
