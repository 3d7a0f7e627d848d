// The first everyday pattern: open a connection in the handler, close it at the end. Always healthy,
// and it pays a handshake (and a password check) on every invocation. The DSN, password included,
// comes from an environment variable set at deployment.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import mysql from 'mysql2/promise'
import { handleOrderRequest } from './orders-plain.ts'

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const connection = await mysql.createConnection(process.env.DATABASE_URL as string)
  try {
    return await handleOrderRequest(connection, event)
  } finally {
    await connection.end()
  }
}
