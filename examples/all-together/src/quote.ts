// Pricing a basket: the event checked, the catalogue parsed once per file version, the tier read and
// the quote written in one transaction, over any DbConnection-shaped database handle. Shared by the
// handler and by its hand-written twin in scripts/bench/twins (so that the cold-start comparison
// differs in the middlewares' part alone).
import { readFile, stat } from 'node:fs/promises'
import { threadId } from 'node:worker_threads'
import type { DbConnection } from '@thaw/db-connection'

export interface QuoteEvent {
  customerId: number
  items: Array<{ sku: string; quantity: number }>
}

export interface Quote {
  quoteId: number
  totalCents: number
  tier: string
  lines: Array<{ sku: string; quantity: number; lineCents: number }>
  threadId: number
}

export class BadRequestError extends Error {
  override name = 'BadRequestError'
}

const tierDiscountPercent: Record<string, number> = { standard: 0, silver: 5, gold: 12 }

// The parsed catalogue lives as long as the thread, and is parsed again only for a new file version.
let catalogue: { inode: number; pricesCents: Record<string, number> } | undefined

export const validateQuoteEvent = (event: QuoteEvent): void => {
  if (!Number.isInteger(event?.customerId)) throw new BadRequestError('customerId must be an integer')
  if (!Array.isArray(event.items) || event.items.length === 0)
    throw new BadRequestError('items must be a non-empty array')
  for (const item of event.items)
    if (typeof item?.sku !== 'string' || !Number.isInteger(item.quantity) || item.quantity < 1)
      throw new BadRequestError('each item needs a sku and a positive integer quantity')
}

/** The catalogue's prices from the JSON file at `path`, parsed again only when it is a new file. */
export const cataloguePrices = async (path: string): Promise<Record<string, number>> => {
  const { ino: inode } = await stat(path)
  if (catalogue?.inode !== inode)
    catalogue = { inode, pricesCents: JSON.parse(await readFile(path, 'utf8')) as Record<string, number> }
  return catalogue.pricesCents
}

/** The quote for a checked event, written with its lines in one transaction. */
export const priceQuote = async (
  event: QuoteEvent,
  pricesCents: Record<string, number>,
  db: DbConnection,
): Promise<Quote> => {
  const [customers] = await db.query('SELECT tier FROM customers WHERE id = ?', [event.customerId])
  const tier = (customers as Array<{ tier: string }>)[0]?.tier
  if (!tier) throw new BadRequestError(`no customer ${event.customerId}`)
  const discount = tierDiscountPercent[tier] ?? 0

  const lines = event.items.map(({ sku, quantity }) => {
    const unitCents = pricesCents[sku]
    if (unitCents === undefined) throw new BadRequestError(`unknown sku ${sku}`)
    return { sku, quantity, lineCents: Math.round((unitCents * quantity * (100 - discount)) / 100) }
  })
  const totalCents = lines.reduce((sum, line) => sum + line.lineCents, 0)

  const quoteId = await db.transaction(async (connection) => {
    const [inserted] = await connection.query('INSERT INTO quotes (customer_id, total_cents) VALUES (?, ?)', [
      event.customerId,
      totalCents,
    ])
    const id = (inserted as { insertId: number }).insertId
    await connection.query('INSERT INTO quote_lines (quote_id, sku, quantity, line_cents) VALUES ?', [
      lines.map((line) => [id, line.sku, line.quantity, line.lineCents]),
    ])
    return id
  })
  return { quoteId, totalCents, tier, lines, threadId }
}
