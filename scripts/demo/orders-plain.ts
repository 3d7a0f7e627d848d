// The orders API of examples/orders-api, on a plain mysql2 connection, for the two everyday patterns
// the demo compares thaw with. Same routes, same SQL, same answers.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import type { Connection } from 'mysql2/promise'

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

export const handleOrderRequest = async (
  connection: Connection,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> => {
  if (event.routeKey === 'GET /orders/{id}') {
    const id = Number(event.pathParameters?.id)
    const [orders] = await connection.query(
      'SELECT id, customer_id, total_cents, created_at FROM orders WHERE id = ?',
      [id],
    )
    const order = (orders as unknown[])[0]
    if (!order) return json(404, { message: 'no such order' })
    const [lines] = await connection.query(
      'SELECT sku, quantity, unit_cents AS unitCents FROM order_lines WHERE order_id = ? ORDER BY sku',
      [id],
    )
    return json(200, { ...order, lines })
  }
  const order = JSON.parse(event.body ?? '{}') as {
    customerId: number
    lines: Array<{ sku: string; quantity: number; unitCents: number }>
  }
  const totalCents = order.lines.reduce((sum, line) => sum + line.quantity * line.unitCents, 0)
  await connection.beginTransaction()
  try {
    const [inserted] = await connection.query('INSERT INTO orders (customer_id, total_cents) VALUES (?, ?)', [
      order.customerId,
      totalCents,
    ])
    const id = (inserted as { insertId: number }).insertId
    await connection.query('INSERT INTO order_lines (order_id, sku, quantity, unit_cents) VALUES ?', [
      order.lines.map((line) => [id, line.sku, line.quantity, line.unitCents]),
    ])
    await connection.commit()
    return json(201, { id })
  } catch (error) {
    await connection.rollback().catch(() => undefined)
    throw error
  }
}
