// The first everyday pattern on PostgreSQL: a pg.Client opened in the handler and ended after it.
// Always healthy, and it pays a connection (a backend process, a password check) on every invocation.
// The URL, password included, comes from an environment variable set at deployment.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import pg from 'pg'
import { handleOrderRequest, onOneClient } from './orders-pg-plain.ts'

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL as string })
  await client.connect()
  try {
    return await handleOrderRequest(onOneClient(client), event)
  } finally {
    await client.end()
  }
}
