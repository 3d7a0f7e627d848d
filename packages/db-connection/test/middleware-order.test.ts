import { expect, test } from '@jest/globals'
import { wrongOrderErrors } from '@thaw/test-support'
import { requireDb } from '../src/index.ts'
import { databaseUrl, setUpTestFile, startHandler } from './helpers.ts'

// A middleware that reads context.db placed before dbConnection in `.use()`: Middy runs `before`
// hooks in that order, so the connection is not on the context yet. requireDb says so by name, with
// the fix; context.db read directly gives the runtime's plain TypeError (docs/troubleshooting.md
// quotes both). In lambda-sim, through the real middleware chain.

setUpTestFile()

const start = (order: 'wrong' | 'right') =>
  startHandler({ databaseUrl: databaseUrl() }, { env: { MIDDLEWARE_ORDER: order } }, 'middleware-order')

// requireDb itself, in process: the code, and the key it is given.
test('requireDb throws THAW_DB_CONNECTION_NOT_ON_CONTEXT under the key it is given, or returns the connection', () => {
  expect(() => requireDb({})).toThrow(expect.objectContaining({ code: 'THAW_DB_CONNECTION_NOT_ON_CONTEXT' }))
  expect(() => requireDb({ db: {} }, 'orders')).toThrow('context.orders is not set')
  const db = { query: () => undefined }
  expect(requireDb({ orders: db }, 'orders')).toBe(db)
})

const errors = wrongOrderErrors('@thaw/db-connection', 'dbConnection', 'DbConnectionError')

test.each(['requireDb', 'context.db'] as const)(
  'a middleware before dbConnection reading the connection through %s: the error docs/troubleshooting.md quotes',
  async (read) => {
    const outcome = await (await start('wrong')).invoke({ read })
    expect(outcome).toMatchObject({ ok: false, error: errors[read] })
  },
)

test('a middleware after dbConnection: requireDb and context.db give the connection', async () => {
  const environment = await start('right')
  for (const read of ['requireDb', 'context.db'])
    expect(await environment.invoke({ read })).toMatchObject({ ok: true, result: [{ one: 1 }] })
})
