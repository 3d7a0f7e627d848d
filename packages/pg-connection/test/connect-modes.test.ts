import { describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import pgConnection, { type PgConnectionContext, pgConnectionStats } from '../src/index.ts'
import { createTestRole, lambdaContext, sessionsOf, setUpTestFile, sleep } from './helpers.ts'

// Where the first session comes from: opened during init with connect: 'init' (and used by the first
// invocation), and credentials from request.internal as another middleware left them (internalData).

setUpTestFile()

describe("connect: 'init'", () => {
  it('opens the session while the module initialises, and the first invocation uses it', async () => {
    const { role, url } = await createTestRole('init')
    const before = pgConnectionStats().connectionsOpened
    const handler = middy<unknown, unknown, Error, PgConnectionContext>()
      .use(pgConnection({ config: url(), connect: 'init' }))
      .handler(
        async (_event, context) => (await context.db.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid,
      )
    const deadline = Date.now() + 5_000
    while ((await sessionsOf(role)).length === 0) {
      if (Date.now() > deadline) throw new Error("connect: 'init' opened no session within 5000 ms")
      await sleep(20)
    }
    const [opened] = await sessionsOf(role)
    expect(await handler({}, lambdaContext())).toBe(opened)
    expect(pgConnectionStats().connectionsOpened - before).toBe(1)
  })
})

describe('internalData', () => {
  it('takes user and password from request.internal, as another middleware left them', async () => {
    const { role, host, port, database } = await createTestRole('internal')
    const handler = middy<unknown, unknown, Error, PgConnectionContext>()
      .use({
        before: (request) => {
          Object.assign(request.internal, { dbUser: role, dbPassword: 'unused-with-trust' })
        },
      })
      .use(
        pgConnection({
          config: { host, port, database },
          internalData: { user: 'dbUser', password: 'dbPassword' },
        }),
      )
      .handler(async (_event, context) => (await context.db.query('SELECT current_user AS u')).rows)
    expect(await handler({}, lambdaContext())).toEqual([{ u: role }])
  })
})
