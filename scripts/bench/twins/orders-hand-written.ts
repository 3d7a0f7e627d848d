// The orders-api example written by hand, for the cold-start comparison: the same work as
// examples/orders-api (the same Middy HTTP middlewares and routes, the same Secrets Manager secret
// read once, one mysql2 connection opened on the first request) the way AWS's guidance has it:
// the SDK client built at init, its first request sent from the handler. None of thaw's recovery
// (a killed connection, a rotated password, a leaked transaction); the demo shows what that costs.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import middy from '@middy/core'
import type { DbConnection } from '@thaw/db-connection'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import mysql from 'mysql2/promise'
import { answerErrors, parseJsonBody, routeOrderRequest } from '../../../examples/orders-api/src/http.ts'

const secrets = new SecretsManagerClient({})
let connecting: Promise<mysql.Connection> | undefined

const connect = async (): Promise<mysql.Connection> => {
  const { SecretString } = await secrets.send(
    new GetSecretValueCommand({ SecretId: process.env.DB_SECRET_ID ?? 'orders-api/db' }),
  )
  const secret = JSON.parse(SecretString as string) as { username: string; password: string; dbname?: string }
  const url = new URL(process.env.DATABASE_URL ?? 'mysql://127.0.0.1:3306/orders')
  return mysql.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: secret.username,
    password: secret.password,
    database: secret.dbname ?? url.pathname.slice(1),
  })
}

// What the routes use of context.db, on the one connection.
const database = (connection: mysql.Connection) =>
  ({
    query: (sql: string, values?: unknown[]) => connection.query(sql, values as never),
    transaction: async <T>(work: (leased: mysql.Connection) => Promise<T>) => {
      await connection.beginTransaction()
      try {
        const result = await work(connection)
        await connection.commit()
        return result
      } catch (error) {
        await connection.rollback()
        throw error
      }
    },
  }) as unknown as DbConnection

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(parseJsonBody())
  .use(answerErrors())
  .handler(async (event) => {
    connecting ??= connect()
    return routeOrderRequest(event, database(await connecting))
  })
