import { describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import dbConnection, { closePools, type DbConnectionContext } from '../src/index.ts'
import { createTestUser, lambdaContext, setUpTestFile } from './helpers.ts'

// What a warm invocation costs the server: nothing but the handler's own statements. The session
// tracking SET and the fullness read belong to a connection's first lease; a second SET on every
// reuse would be a round trip per invocation (found as a mutation survivor: lease.ts asked every
// reused connection to track its session again).

setUpTestFile({ cleanUp: () => closePools() })

describe('a warm invocation', () => {
  it("sends the server nothing but the handler's statements", async () => {
    const { dsn } = await createTestUser('warmpath')
    const handler = middy<unknown, unknown, Error, DbConnectionContext>()
      .use(dbConnection({ config: dsn() }))
      .handler(async (_event, context) => {
        // Questions counts every statement the session's client sent, this one included.
        const [rows] = await context.db.query(
          "SELECT CONNECTION_ID() AS id, VARIABLE_VALUE AS questions FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'QUESTIONS'",
        )
        const [row] = rows as [{ id: number; questions: string }]
        return { id: Number(row.id), questions: Number(row.questions) }
      })
    const first = (await handler({}, lambdaContext())) as { id: number; questions: number }
    for (let invocation = 0; invocation < 3; invocation++) {
      const next = (await handler({}, lambdaContext())) as { id: number; questions: number }
      expect(next).toEqual({ id: first.id, questions: first.questions + invocation + 1 })
    }
  })
})
