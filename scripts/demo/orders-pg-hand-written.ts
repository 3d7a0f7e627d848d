// examples/orders-pg written by hand, for the cold-start comparison: the same work as the example
// (the same Middy HTTP middlewares and routes, the same secret read once from Secrets Manager, one
// pg.Client opened on the first request) with none of thaw's recovery (a session ended while frozen, a rotated
// password, a leaked transaction). The demo shows what that costs.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import middy from '@middy/core'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import pg from 'pg'
import { answerErrors, parseJsonBody } from '../../examples/orders-api/src/http.ts'
import { routeOrderRequest } from '../../examples/orders-pg/src/orders.ts'
import { onOneClient } from './orders-pg-plain.ts'

const secrets = new SecretsManagerClient({})
let connecting: Promise<pg.Client> | undefined

const connect = async (): Promise<pg.Client> => {
  const { SecretString } = await secrets.send(
    new GetSecretValueCommand({ SecretId: process.env.DB_SECRET_ID ?? 'orders-pg/db' }),
  )
  const secret = JSON.parse(SecretString as string) as { username: string; password: string; dbname?: string }
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/orders')
  const client = new pg.Client({
    host: url.hostname,
    port: Number(url.port || 5432),
    user: secret.username,
    password: secret.password,
    database: secret.dbname ?? url.pathname.slice(1),
  })
  await client.connect()
  return client
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(parseJsonBody())
  .use(answerErrors())
  .handler(async (event) => {
    connecting ??= connect()
    return routeOrderRequest(event, onOneClient(await connecting))
  })
