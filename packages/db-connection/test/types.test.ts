import { fileURLToPath } from 'node:url'
import { describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import type { ResultSetHeader, RowDataPacket } from 'mysql2'
import dbConnection, { type DbConnection, type DbLeasedConnection } from '../src/index.ts'

// Type-level tests: this file is type-checked (by `tsc -p tsconfig.json`, and below by the
// compiler API), and every `@ts-expect-error` must meet an error or the check fails (TS2578).

interface Order extends RowDataPacket {
  id: number
}

const typedHandler = middy()
  .use(dbConnection({ config: 'mysql://root@127.0.0.1:3306/test' }))
  .handler(async (_event, context) => {
    // context.db is typed without a cast, with mysql2/promise's overloads.
    const db: DbConnection = context.db
    const [orders] = await context.db.query<Order[]>('SELECT id FROM orders WHERE id = ?', [1])
    const firstId: number | undefined = orders[0]?.id
    const [header] = await context.db.execute<ResultSetHeader>('DELETE FROM orders WHERE id = ?', [1])
    const affected: number = header.affectedRows
    const total = await context.db.transaction(async (connection) => {
      const leased: DbLeasedConnection = connection
      await leased.query('UPDATE orders SET n = n + 1')
      return 42
    })
    const answer: number = total
    // @ts-expect-error transaction() returns what fn resolves to, not a string
    const wrong: string = await context.db.transaction(async () => 1)
    // @ts-expect-error context.db is not a callable
    context.db('SELECT 1')
    // @ts-expect-error the pool's own end() is not offered: the pool outlives the invocation
    context.db.end()
    // @ts-expect-error query takes SQL, not a number
    await context.db.query(42)
    return [db, firstId, affected, answer, wrong]
  })

const keyedHandler = middy()
  .use(dbConnection({ config: 'mysql://root@127.0.0.1:3306/test', contextKey: 'orders' }))
  .handler(async (_event, context) => {
    const db: DbConnection = context.orders
    // @ts-expect-error the connection is under contextKey, not under 'db'
    context.db
    return db
  })

// @ts-expect-error connect is 'init' or 'first-use'
const badConnect = () => dbConnection({ config: 'mysql://db', connect: 'eager' })
// @ts-expect-error config is a DSN or PoolOptions
const badConfig = () => dbConnection({ config: 3306 })
// @ts-expect-error connectionLimit is a number
const badPoolOption = () => dbConnection({ config: { host: 'db', connectionLimit: 'one' } })

// Credentials from a secret or request.internal need no config; IAM keeps it (host, user, ssl).
const fromSecret = () => dbConnection({ secret: { secretId: 'prod/orders' } })
const fromInternal = () => dbConnection({ internalData: { user: 'db.username', password: 'db.password' } })
const fromIam = () =>
  dbConnection({ config: { host: 'db', user: 'iam_user', ssl: {} }, iam: { region: 'eu-west-1' } })
// @ts-expect-error config is required unless secret or internalData gives the credentials
const noCredentials = () => dbConnection({ contextKey: 'db' })
// @ts-expect-error secret and iam exclude each other
const secretAndIam = () => dbConnection({ secret: { secretId: 's' }, iam: {} })
// @ts-expect-error secretId is required
const noSecretId = () => dbConnection({ secret: { versionStage: 'AWSCURRENT' } })
// @ts-expect-error getAuthToken returns the token
const badTokenSource = () => dbConnection({ config: 'mysql://db', iam: { getAuthToken: () => 42 } })

describe('types', () => {
  it('type-checks, with every expected error present', async () => {
    const { default: ts } = await import('typescript')
    const file = fileURLToPath(import.meta.url)
    const configPath = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url))
    const { config } = ts.readConfigFile(configPath, ts.sys.readFile)
    const { options } = ts.parseJsonConfigFileContent(
      config,
      ts.sys,
      fileURLToPath(new URL('../../..', import.meta.url)),
    )
    const program = ts.createProgram([file], { ...options, noEmit: true })
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file)
    const messages = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    expect(messages).toEqual([])
    expect(
      [
        typedHandler,
        keyedHandler,
        badConnect,
        badConfig,
        badPoolOption,
        fromSecret,
        fromInternal,
        fromIam,
        noCredentials,
        secretAndIam,
        noSecretId,
        badTokenSource,
      ].every((f) => typeof f === 'function'),
    ).toBe(true)
  })
})
