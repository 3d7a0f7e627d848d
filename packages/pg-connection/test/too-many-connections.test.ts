import { describe, expect, it } from '@jest/globals'
import pg from 'pg'
import { pgConnectionStats } from '../src/index.ts'
import { admin, createTestRole, inProcessFunction, setUpTestFile, sleep } from './helpers.ts'

// 53300 (too many connections, here a role's CONNECTION LIMIT): a connect is retried after a jittered
// back-off until the invocation's deadline, and the handler gets the server's own code when it stays
// full.

setUpTestFile()

const holdOneSession = async (url: string) => {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  await client.connect()
  return client
}

describe('too many connections (53300)', () => {
  it('backs off and connects once a session is free, within the deadline', async () => {
    const { role, url } = await createTestRole('full')
    await (await admin()).query(`ALTER ROLE ${role} CONNECTION LIMIT 1`)
    const holder = await holdOneSession(url())
    const before = pgConnectionStats().backoffRetries
    const run = inProcessFunction({ config: url(), connectRetry: { baseDelayMs: 20, maxDelayMs: 100 } })
    const answer = run(async (db) => (await db.query('SELECT 1 AS one')).rows, 8_000)
    await sleep(300)
    await holder.end()
    expect(await answer).toEqual([{ one: 1 }])
    expect(pgConnectionStats().backoffRetries).toBeGreaterThan(before)
  })

  it("gives up before the invocation's deadline with the server's code and THAW_PG_CONNECTION_TOO_MANY_CONNECTIONS", async () => {
    const { role, url } = await createTestRole('stillfull')
    await (await admin()).query(`ALTER ROLE ${role} CONNECTION LIMIT 1`)
    const holder = await holdOneSession(url())
    try {
      const run = inProcessFunction({
        config: url(),
        connectRetry: { baseDelayMs: 20, maxDelayMs: 100, deadlineMarginMs: 500 },
      })
      const outcome = await run(
        (db) =>
          db.query('SELECT 1').then(
            () => 'answered',
            (error: { name?: string; code?: string; thawCode?: string; message?: string }) => ({
              name: error.name,
              code: error.code,
              thawCode: error.thawCode,
              message: error.message,
            }),
          ),
        1_500,
      )
      expect(outcome).toEqual({
        name: 'PgConnectionLimitError',
        code: '53300',
        thawCode: 'THAW_PG_CONNECTION_TOO_MANY_CONNECTIONS',
        message: expect.stringMatching(
          /^@thaw\/pg-connection: the server refused a new connection for too many connections \(53300: /,
        ),
      })
    } finally {
      await holder.end()
    }
  })
})
