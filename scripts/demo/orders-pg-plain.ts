// The orders API of examples/orders-pg on one plain pg.Client, for the everyday patterns the demo
// compares thaw with on PostgreSQL. Same routes, same SQL (the example's own findOrder and
// createOrder), same answers; no Middy, as a hand-written handler would be.
import type { PgConnection } from '@thaw/pg-connection'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import type pg from 'pg'
import { parseNewOrder, parseOrderId } from '../../examples/orders-api/src/orders.ts'
import { createOrder, findOrder } from '../../examples/orders-pg/src/orders.ts'

// What the example's SQL uses of context.db, on the one client: statements, and a transaction.
export const onOneClient = (client: pg.Client): PgConnection =>
  ({
    query: (text: string, values?: unknown[]) => client.query(text, values),
    transaction: async <T>(work: (leased: pg.Client) => Promise<T>) => {
      await client.query('BEGIN')
      try {
        const result = await work(client)
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw error
      }
    },
  }) as unknown as PgConnection

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

export const handleOrderRequest = async (
  db: PgConnection,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> => {
  try {
    if (event.routeKey === 'GET /orders/{id}') {
      const order = await findOrder(db, parseOrderId(event.pathParameters?.id))
      return order ? json(200, order) : json(404, { message: 'no such order' })
    }
    return json(201, { id: await createOrder(db, parseNewOrder(JSON.parse(event.body ?? '{}'))) })
  } catch (error) {
    // The input checks' 400s answer as the example's do; anything else is the pattern failing.
    const { statusCode, message } = error as { statusCode?: number; message: string }
    if (statusCode === 400) return { statusCode, body: message }
    throw error
  }
}
