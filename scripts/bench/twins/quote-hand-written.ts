// The all-together example written by hand, for the bundle-size and init-time comparison: the same
// work (catalogue from S3 kept in /tmp, tier and quote in MySQL in one transaction) with what a
// careful developer writes without thaw: module-scope clients, a file cache keyed on existence, the
// password in the DSN. None of thaw's recovery; see the demo for what that costs.
import { createWriteStream, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import mysql from 'mysql2/promise'

const s3 = new S3Client({ forcePathStyle: true })
const pool = mysql.createPool({ uri: process.env.DATABASE_URL, connectionLimit: 4 })
const catalogueFile = join(process.env.TMPDIR ?? '/tmp', 'prices.json')
const tierDiscountPercent: Record<string, number> = { standard: 0, silver: 5, gold: 12 }

export const handler = async (event: {
  customerId: number
  items: Array<{ sku: string; quantity: number }>
}) => {
  if (!existsSync(catalogueFile)) {
    const object = await s3.send(
      new GetObjectCommand({ Bucket: process.env.CATALOGUE_BUCKET, Key: 'prices.json' }),
    )
    await pipeline(object.Body as Readable, createWriteStream(catalogueFile))
  }
  const pricesCents = JSON.parse(readFileSync(catalogueFile, 'utf8')) as Record<string, number>
  const [customers] = await pool.query('SELECT tier FROM customers WHERE id = ?', [event.customerId])
  const tier = (customers as Array<{ tier: string }>)[0]?.tier ?? 'standard'
  const lines = event.items.map(({ sku, quantity }) => ({
    sku,
    quantity,
    lineCents: Math.round(
      ((pricesCents[sku] ?? 0) * quantity * (100 - (tierDiscountPercent[tier] ?? 0))) / 100,
    ),
  }))
  const totalCents = lines.reduce((sum, line) => sum + line.lineCents, 0)
  const connection = await pool.getConnection()
  try {
    await connection.beginTransaction()
    const [inserted] = await connection.query('INSERT INTO quotes (customer_id, total_cents) VALUES (?, ?)', [
      event.customerId,
      totalCents,
    ])
    const quoteId = (inserted as { insertId: number }).insertId
    await connection.query('INSERT INTO quote_lines (quote_id, sku, quantity, line_cents) VALUES ?', [
      lines.map((line) => [quoteId, line.sku, line.quantity, line.lineCents]),
    ])
    await connection.commit()
    return { quoteId, totalCents, tier, lines }
  } catch (error) {
    await connection.rollback()
    throw error
  } finally {
    connection.release()
  }
}
