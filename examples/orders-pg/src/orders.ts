// The orders API over PostgreSQL: routes, input checks that answer 400 with a reason, and the SQL.
// The checks are orders-api's (the MySQL example); only the SQL differs.
import { createError } from '@middy/util'
import type { PgConnection } from '@thaw/pg-connection'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import {
  type NewOrder,
  type Order,
  type OrderLine,
  parseNewOrder,
  parseOrderId,
} from '../../orders-api/src/orders.ts'

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

export const findOrder = async (db: PgConnection, id: number): Promise<Order | undefined> => {
  const { rows } = await db.query<{ id: string; customer_id: number; total_cents: string; created_at: Date }>(
    'SELECT id, customer_id, total_cents, created_at FROM orders WHERE id = $1',
    [id],
  )
  const order = rows[0]
  if (!order) return undefined
  const lines = await db.query<{ sku: string; quantity: number; unitCents: string }>(
    'SELECT sku, quantity, unit_cents AS "unitCents" FROM order_lines WHERE order_id = $1 ORDER BY sku',
    [id],
  )
  return {
    id: Number(order.id),
    customerId: order.customer_id,
    totalCents: Number(order.total_cents),
    createdAt: order.created_at.toISOString(),
    lines: lines.rows.map((line): OrderLine => ({ ...line, unitCents: Number(line.unitCents) })),
  }
}

// One transaction: the order and its lines are stored together or not at all.
export const createOrder = async (db: PgConnection, order: NewOrder): Promise<number> => {
  const totalCents = order.lines.reduce((sum, line) => sum + line.quantity * line.unitCents, 0)
  return db.transaction(async (client) => {
    const inserted = await client.query<{ id: string }>(
      'INSERT INTO orders (customer_id, total_cents) VALUES ($1, $2) RETURNING id',
      [order.customerId, totalCents],
    )
    const id = Number(inserted.rows[0]?.id)
    await client.query(
      'INSERT INTO order_lines (order_id, sku, quantity, unit_cents) SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[])',
      [
        id,
        order.lines.map((l) => l.sku),
        order.lines.map((l) => l.quantity),
        order.lines.map((l) => l.unitCents),
      ],
    )
    return id
  })
}

export const routeOrderRequest = async (
  event: APIGatewayProxyEventV2,
  db: PgConnection,
): Promise<APIGatewayProxyStructuredResultV2> => {
  switch (event.routeKey) {
    case 'GET /orders/{id}': {
      const order = await findOrder(db, parseOrderId(event.pathParameters?.id))
      if (!order) throw createError(404, JSON.stringify({ message: 'no such order' }))
      return json(200, order)
    }
    case 'POST /orders': {
      const body = event.body as unknown
      if (typeof body !== 'object' || body === null)
        throw createError(415, JSON.stringify({ message: 'send the order as application/json' }))
      return json(201, { id: await createOrder(db, parseNewOrder(body)) })
    }
    default:
      throw createError(404, JSON.stringify({ message: `no route ${event.routeKey}` }))
  }
}
