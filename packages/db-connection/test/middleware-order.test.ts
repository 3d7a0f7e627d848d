import { describe, expect, it } from '@jest/globals'
import { requireDb } from '../src/index.ts'
import { databaseUrl, setUpTestFile, startHandler } from './helpers.ts'

// A middleware that reads context.db placed before dbConnection in `.use()`: Middy runs `before`
// hooks in that order, so the connection is not on the context yet. requireDb says so by name, with
// the fix; context.db read directly gives the runtime's plain TypeError (docs/troubleshooting.md
// quotes both). In lambda-sim, through the real middleware chain.

setUpTestFile()

const start = (order: 'wrong' | 'right') =>
  startHandler({ databaseUrl: databaseUrl() }, { env: { MIDDLEWARE_ORDER: order } }, 'middleware-order')

describe('requireDb', () => {
  it('throws THAW_DB_CONNECTION_NOT_ON_CONTEXT for a context without the connection, under the key it is given', () => {
    const thrown = (read: () => unknown) => {
      try {
        read()
      } catch (error) {
        return error as { code?: string; message?: string }
      }
      throw new Error('requireDb did not throw')
    }
    expect(thrown(() => requireDb({}))).toMatchObject({ code: 'THAW_DB_CONNECTION_NOT_ON_CONTEXT' })
    expect(thrown(() => requireDb({ db: {} }, 'orders')).message).toContain('context.orders is not set')
    const db = { query: () => undefined }
    expect(requireDb({ orders: db }, 'orders')).toBe(db)
  })
})

describe('a middleware that reads the connection', () => {
  it('used before dbConnection, through requireDb: THAW_DB_CONNECTION_NOT_ON_CONTEXT saying which order works', async () => {
    const environment = await start('wrong')
    const outcome = await environment.invoke({ read: 'requireDb' })
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect(outcome.error).toMatchObject({
      name: 'DbConnectionError',
      message:
        "@thaw/db-connection: context.db is not set: dbConnection's before has not run for this invocation. " +
        'Middy runs before hooks in .use() order: put .use(dbConnection(…)) before the middleware that reads ' +
        'context.db (and give requireDb the contextKey the middleware was given)',
    })
  })

  it('used before dbConnection, reading context.db: the TypeError docs/troubleshooting.md quotes', async () => {
    const environment = await start('wrong')
    const outcome = await environment.invoke({ read: 'context.db' })
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect(outcome.error).toMatchObject({
      name: 'TypeError',
      message: "Cannot read properties of undefined (reading 'query')",
    })
  })

  it('used after dbConnection: requireDb returns the connection, in the middleware and the handler', async () => {
    const environment = await start('right')
    for (const read of ['requireDb', 'context.db']) {
      const outcome = await environment.invoke({ read })
      expect(outcome).toMatchObject({ ok: true, result: [{ one: 1 }] })
    }
  })
})
