// Type tests (tstyche): context.db as a handler sees it, and which options the compiler refuses,
// through the public API only. Run with `pnpm typetest`.
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager'
import middy from '@middy/core'
import dbConnection, {
  type DbConnection,
  type DbConnectionLogEvent,
  type DbLeasedConnection,
} from '@thaw/db-connection'
import type { ResultSetHeader, RowDataPacket } from 'mysql2'
import { describe, expect, test } from 'tstyche'

interface Order extends RowDataPacket {
  id: number
}

describe('context.db', () => {
  test('is typed without a cast, with mysql2/promise overloads', () => {
    middy()
      .use(dbConnection({ config: 'mysql://root@127.0.0.1:3306/test' }))
      .handler(async (_event, context) => {
        expect(context.db).type.toBe<DbConnection>()
        const [orders] = await context.db.query<Order[]>('SELECT id FROM orders WHERE id = ?', [1])
        expect(orders[0]?.id).type.toBe<number | undefined>()
        const [header] = await context.db.execute<ResultSetHeader>('DELETE FROM orders WHERE id = ?', [1])
        expect(header.affectedRows).type.toBe<number>()
        // transaction() hands fn a leased connection and returns what fn resolves to.
        const total = await context.db.transaction(async (connection) => {
          expect(connection).type.toBeAssignableTo<DbLeasedConnection>()
          return 42
        })
        expect(total).type.toBe<number>()
        expect(await context.db.transaction(async () => 1)).type.not.toBeAssignableTo<string>()
        // context.db is not a callable.
        expect(context.db).type.not.toBeAssignableTo<(...args: never) => unknown>()
        // The pool's own end() is not offered: the pool outlives the invocation.
        expect(context.db).type.not.toHaveProperty('end')
        // query takes SQL, not a number.
        expect(context.db.query).type.not.toBeCallableWith(42)
        expect(context.db.query).type.toBeCallableWith('SELECT 1')
      })
  })

  test('is under contextKey, not under db', () => {
    middy()
      .use(dbConnection({ config: 'mysql://root@127.0.0.1:3306/test', contextKey: 'orders' }))
      .handler(async (_event, context) => {
        expect(context.orders).type.toBe<DbConnection>()
        expect(context).type.not.toHaveProperty('db')
      })
  })
})

describe('options', () => {
  test('connect is init or first-use', () => {
    expect(dbConnection).type.toBeCallableWith({ config: 'mysql://db', connect: 'first-use' })
    expect(dbConnection).type.not.toBeCallableWith({ config: 'mysql://db', connect: 'eager' })
  })

  test('proxy is none or transaction', () => {
    expect(dbConnection).type.toBeCallableWith({ config: 'mysql://db', proxy: 'transaction' })
    expect(dbConnection).type.not.toBeCallableWith({ config: 'mysql://db', proxy: 'rds-proxy' })
  })

  test('config is a DSN or PoolOptions', () => {
    expect(dbConnection).type.toBeCallableWith({ config: { host: 'db', connectionLimit: 2 } })
    expect(dbConnection).type.not.toBeCallableWith({ config: 3306 })
    // connectionLimit is a number.
    expect(dbConnection).type.not.toBeCallableWith({ config: { host: 'db', connectionLimit: 'one' } })
  })

  test('credentials from a secret or request.internal need no config; IAM keeps it', () => {
    expect(dbConnection).type.toBeCallableWith({ secret: { secretId: 'prod/orders' } })
    expect(dbConnection).type.toBeCallableWith({
      internalData: { user: 'db.username', password: 'db.password' },
    })
    expect(dbConnection).type.toBeCallableWith({
      config: { host: 'db', user: 'iam_user', ssl: {} },
      iam: { region: 'eu-west-1' },
    })
    // The client's configuration as the SDK types it, held in a variable.
    const clientConfig: SecretsManagerClientConfig = { region: 'eu-west-1', maxAttempts: 2 }
    expect(dbConnection).type.toBeCallableWith({ secret: { secretId: 'prod/orders', clientConfig } })
    expect(dbConnection).type.not.toBeCallableWith({
      secret: { secretId: 's', clientConfig: { maxAttempts: '2' } },
    })
    // Any other field of the SDK's configuration, written inline.
    expect(dbConnection).type.toBeCallableWith({
      secret: {
        secretId: 's',
        clientConfig: { region: 'eu-west-1', retryMode: 'adaptive', endpoint: 'http://peer' },
      },
    })
    expect(dbConnection).type.not.toBeCallableWith({
      secret: { secretId: 's', clientConfig: { region: 42 } },
    })
    // config is required unless secret or internalData gives the credentials.
    expect(dbConnection).type.not.toBeCallableWith({ contextKey: 'db' })
  })

  test('secret and iam exclude each other; secretId is required; getAuthToken returns the token', () => {
    expect(dbConnection).type.not.toBeCallableWith({ secret: { secretId: 's' }, iam: {} })
    expect(dbConnection).type.not.toBeCallableWith({ secret: { versionStage: 'AWSCURRENT' } })
    expect(dbConnection).type.not.toBeCallableWith({ config: 'mysql://db', iam: { getAuthToken: () => 42 } })
    expect(dbConnection).type.toBeCallableWith({
      config: 'mysql://db',
      iam: { getAuthToken: async () => 'token' },
    })
  })
})

describe('the optional peers, typed without importing them (a user need not install them)', () => {
  test('sdk takes the peer module itself, and not another', () => {
    expect(dbConnection).type.toBeCallableWith({
      secret: { secretId: 's', sdk: () => import('@aws-sdk/client-secrets-manager') },
    })
    expect(dbConnection).type.toBeCallableWith({
      config: 'mysql://db',
      iam: { sdk: () => import('@aws-sdk/rds-signer') },
    })
    expect(dbConnection).type.not.toBeCallableWith({
      secret: { secretId: 's', sdk: () => import('@aws-sdk/rds-signer') },
    })
    expect(dbConnection).type.not.toBeCallableWith({
      config: 'mysql://db',
      iam: { sdk: () => import('@aws-sdk/client-secrets-manager') },
    })
  })
})

describe('what the READMEs write', () => {
  test('a DSN from the environment, asserted set (config alone must be a string)', () => {
    expect(dbConnection).type.toBeCallableWith({ config: process.env.DATABASE_URL as string })
  })

  test('a DSN from the environment beside a secret may be unset (the secret can give the host)', () => {
    expect(dbConnection).type.toBeCallableWith({
      config: process.env.DATABASE_URL,
      secret: { secretId: 'orders/db' },
    })
  })
})

describe('the logger', () => {
  test('gets events whose name is one of the documented events (docs/log-events.md), not any string', () => {
    expect<DbConnectionLogEvent['event']>().type.not.toBe<string>()
    expect<'connected'>().type.toBeAssignableTo<DbConnectionLogEvent['event']>()
    expect<'rollback-failed'>().type.toBeAssignableTo<DbConnectionLogEvent['event']>()
    // A misspelt name, which a logger's `if (event.event === …)` would never match.
    expect<'conected'>().type.not.toBeAssignableTo<DbConnectionLogEvent['event']>()
  })
})
