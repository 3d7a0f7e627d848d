// Prices a basket: the catalogue is a JSON file in S3 kept in /tmp (@thaw/tmp-store, one download per
// instance whatever the number of worker threads), the customer's tier comes from MySQL and the quote
// is written in one transaction (@thaw/db-connection, credentials from Secrets Manager), S3 is reached through a client built once per
// thread (@thaw/sdk-clients). Written for Lambda Managed Instances: each worker thread takes several
// invocations at once, so the pool holds as many connections as a thread takes invocations.
import { readFile, stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { threadId } from 'node:worker_threads'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import middy from '@middy/core'
import dbConnection from '@thaw/db-connection'
import sdkClients from '@thaw/sdk-clients'
import tmpStore from '@thaw/tmp-store'

const catalogueBucket = process.env.CATALOGUE_BUCKET ?? 'catalogue'
const catalogueKey = process.env.CATALOGUE_KEY ?? 'prices.json'
const concurrencyPerThread = Number(process.env.CONCURRENCY_PER_THREAD ?? 4)

// Host and database only: the user and password come from the secret.
const databaseUrl = new URL(process.env.DATABASE_URL ?? 'mysql://127.0.0.1:3306/quotes')
databaseUrl.searchParams.set('connectionLimit', String(concurrencyPerThread))

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

const validateQuoteEvent = (event: QuoteEvent) => {
  if (!Number.isInteger(event?.customerId)) throw new BadRequestError('customerId must be an integer')
  if (!Array.isArray(event.items) || event.items.length === 0)
    throw new BadRequestError('items must be a non-empty array')
  for (const item of event.items)
    if (typeof item?.sku !== 'string' || !Number.isInteger(item.quantity) || item.quantity < 1)
      throw new BadRequestError('each item needs a sku and a positive integer quantity')
}

export const handler = middy<QuoteEvent>()
  .use(
    dbConnection({
      config: databaseUrl.toString(),
      secret: {
        secretId: process.env.DB_SECRET_ID ?? 'quotes/db',
        // The Secrets Manager client goes into the bundle (a pinned SDK version, tree-shaken); leave
        // `sdk` out to take the copy the Lambda runtime ships.
        sdk: () => import('@aws-sdk/client-secrets-manager'),
      },
    }),
  )
  .use(sdkClients({ clients: { s3: { client: S3Client, config: { forcePathStyle: true } } } }))
  .use(tmpStore({ maxBytes: 64 * 1024 * 1024 }))
  .handler(async (event, context): Promise<Quote> => {
    validateQuoteEvent(event)
    const file = await context.tmp.getOrFetch(`s3://${catalogueBucket}/${catalogueKey}`, async () => {
      const object = await context.clients.s3.send(
        new GetObjectCommand({ Bucket: catalogueBucket, Key: catalogueKey }),
      )
      return object.Body as Readable
    })
    const { ino: inode } = await stat(file.path)
    if (catalogue?.inode !== inode)
      catalogue = {
        inode,
        pricesCents: JSON.parse(await readFile(file.path, 'utf8')) as Record<string, number>,
      }
    const pricesCents = catalogue.pricesCents

    const [customers] = await context.db.query('SELECT tier FROM customers WHERE id = ?', [event.customerId])
    const tier = (customers as Array<{ tier: string }>)[0]?.tier
    if (!tier) throw new BadRequestError(`no customer ${event.customerId}`)
    const discount = tierDiscountPercent[tier] ?? 0

    const lines = event.items.map(({ sku, quantity }) => {
      const unitCents = pricesCents[sku]
      if (unitCents === undefined) throw new BadRequestError(`unknown sku ${sku}`)
      return { sku, quantity, lineCents: Math.round((unitCents * quantity * (100 - discount)) / 100) }
    })
    const totalCents = lines.reduce((sum, line) => sum + line.lineCents, 0)

    const quoteId = await context.db.transaction(async (connection) => {
      const [inserted] = await connection.query(
        'INSERT INTO quotes (customer_id, total_cents) VALUES (?, ?)',
        [event.customerId, totalCents],
      )
      const id = (inserted as { insertId: number }).insertId
      await connection.query('INSERT INTO quote_lines (quote_id, sku, quantity, line_cents) VALUES ?', [
        lines.map((line) => [id, line.sku, line.quantity, line.lineCents]),
      ])
      return id
    })
    return { quoteId, totalCents, tier, lines, threadId }
  })
