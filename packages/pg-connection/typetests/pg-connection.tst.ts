// Type tests (tstyche): context.db as a handler sees it, and which options the compiler refuses,
// through the public API only. Run with `pnpm typetest`.
import middy from '@middy/core'
import pgConnection, { type PgConnection, type PgLeasedConnection } from '@thaw/pg-connection'
import type { QueryResult } from 'pg'
import { describe, expect, test } from 'tstyche'

interface Order {
  id: number
}

describe('context.db', () => {
  test("is typed without a cast, answering with pg's own QueryResult", () => {
    middy()
      .use(pgConnection({ config: 'postgres://postgres@127.0.0.1:5432/test' }))
      .handler(async (_event, context) => {
        expect(context.db).type.toBe<PgConnection>()
        const result = await context.db.query<Order>('SELECT id FROM orders WHERE id = $1', [1])
        expect(result).type.toBe<QueryResult<Order>>()
        expect(result.rows[0]?.id).type.toBe<number | undefined>()
        const total = await context.db.transaction(async (connection) => {
          expect(connection).type.toBe<PgLeasedConnection>()
          return 42
        })
        expect(total).type.toBe<number>()
        expect(context.db).type.not.toHaveProperty('end')
        expect(context.db.query).type.not.toBeCallableWith(42)
        expect(context.db.query).type.toBeCallableWith({ text: 'SELECT 1', name: 'one' })
      })
  })

  test('is under contextKey, not under db', () => {
    middy()
      .use(pgConnection({ config: 'postgres://postgres@127.0.0.1:5432/test', contextKey: 'orders' }))
      .handler(async (_event, context) => {
        expect(context.orders).type.toBe<PgConnection>()
        expect(context).type.not.toHaveProperty('db')
      })
  })
})

describe('options', () => {
  test('credentials come from one place', () => {
    expect(pgConnection).type.toBeCallableWith({ config: 'postgres://h/d' })
    expect(pgConnection).type.toBeCallableWith({ secret: { secretId: 'db' } })
    expect(pgConnection).type.not.toBeCallableWith({
      secret: { secretId: 'db' },
      internalData: { password: 'p' },
    })
    expect(pgConnection).type.not.toBeCallableWith({})
  })

  test('proxy and resetSession take their named values only', () => {
    expect(pgConnection).type.toBeCallableWith({ config: 'postgres://h/d', proxy: 'transaction' })
    expect(pgConnection).type.not.toBeCallableWith({ config: 'postgres://h/d', proxy: 'session' })
    expect(pgConnection).type.not.toBeCallableWith({ config: 'postgres://h/d', resetSession: 'sometimes' })
  })
})
