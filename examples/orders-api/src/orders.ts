// The orders API's domain: input checks that answer 400 with a reason, and the SQL.
import { createError } from '@middy/util'
import type { DbConnection } from '@thaw/db-connection'

export interface OrderLine {
  sku: string
  quantity: number
  unitCents: number
}

export interface NewOrder {
  customerId: number
  lines: OrderLine[]
}

export interface Order extends NewOrder {
  id: number
  totalCents: number
  createdAt: string
}

const badRequest = (message: string) => createError(400, JSON.stringify({ message }))

const isPositiveInteger = (value: unknown): value is number =>
  Number.isSafeInteger(value) && (value as number) > 0

export const parseOrderId = (raw: string | undefined): number => {
  const id = Number(raw)
  if (!isPositiveInteger(id) || String(id) !== raw)
    throw badRequest('the order id must be a positive integer')
  return id
}

export const parseNewOrder = (body: unknown): NewOrder => {
  const candidate = body as Partial<NewOrder> | undefined
  if (!isPositiveInteger(candidate?.customerId)) throw badRequest('customerId must be a positive integer')
  if (!Array.isArray(candidate.lines) || candidate.lines.length === 0 || candidate.lines.length > 100)
    throw badRequest('lines must be an array of 1 to 100 lines')
  const skus = new Set<string>()
  for (const line of candidate.lines) {
    if (typeof line?.sku !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(line.sku))
      throw badRequest('each line needs a sku of 1 to 64 letters, digits or dashes')
    if (skus.has(line.sku)) throw badRequest(`sku ${line.sku} appears twice`)
    skus.add(line.sku)
    if (!isPositiveInteger(line.quantity)) throw badRequest('quantity must be a positive integer')
    if (!Number.isSafeInteger(line.unitCents) || line.unitCents < 0)
      throw badRequest('unitCents must be a non-negative integer')
  }
  return {
    customerId: candidate.customerId,
    lines: candidate.lines.map(({ sku, quantity, unitCents }) => ({ sku, quantity, unitCents })),
  }
}

export const findOrder = async (db: DbConnection, id: number): Promise<Order | undefined> => {
  const [orders] = await db.query(
    'SELECT id, customer_id, total_cents, created_at FROM orders WHERE id = ?',
    [id],
  )
  const order = (
    orders as Array<{ id: number; customer_id: number; total_cents: number; created_at: Date }>
  )[0]
  if (!order) return undefined
  const [lines] = await db.query(
    'SELECT sku, quantity, unit_cents AS unitCents FROM order_lines WHERE order_id = ? ORDER BY sku',
    [id],
  )
  return {
    id: order.id,
    customerId: order.customer_id,
    totalCents: Number(order.total_cents),
    createdAt: order.created_at.toISOString(),
    lines: (lines as OrderLine[]).map((line) => ({ ...line, unitCents: Number(line.unitCents) })),
  }
}

// One transaction: the order and its lines are stored together or not at all.
export const createOrder = async (db: DbConnection, order: NewOrder): Promise<number> => {
  const totalCents = order.lines.reduce((sum, line) => sum + line.quantity * line.unitCents, 0)
  return db.transaction(async (connection) => {
    const [inserted] = await connection.query('INSERT INTO orders (customer_id, total_cents) VALUES (?, ?)', [
      order.customerId,
      totalCents,
    ])
    const id = (inserted as { insertId: number }).insertId
    await connection.query('INSERT INTO order_lines (order_id, sku, quantity, unit_cents) VALUES ?', [
      order.lines.map((line) => [id, line.sku, line.quantity, line.unitCents]),
    ])
    return id
  })
}
