// The all-together example written by hand, for the bundle-size, init-time and cold-start comparisons:
// the same work as examples/all-together (the same S3 and Secrets Manager clients built at init, the
// database secret read once on the first request, a mysql2 pool of CONCURRENCY_PER_THREAD connections
// made from it, the catalogue downloaded into /tmp once per thread, streamed to a temporary file and
// renamed into place so that a killed download never leaves a damaged file under the final name, the
// same pricing, transaction and answer from quote.ts), on Middy alone, the way a careful developer
// writes it. None of thaw's recovery (a killed connection, a rotated password, a leaked transaction)
// nor its guarantees across threads and processes (one download per instance, a byte budget); the
// demo shows what those cost to lack.
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { threadId } from 'node:worker_threads'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import middy from '@middy/core'
import type { DbConnection } from '@thaw/db-connection'
import mysql from 'mysql2/promise'
import {
  cataloguePrices,
  priceQuote,
  type Quote,
  type QuoteEvent,
  validateQuoteEvent,
} from '../../../examples/all-together/src/quote.ts'

const catalogueBucket = process.env.CATALOGUE_BUCKET ?? 'catalogue'
const catalogueKey = process.env.CATALOGUE_KEY ?? 'prices.json'
const concurrencyPerThread = Number(process.env.CONCURRENCY_PER_THREAD ?? 4)

const s3 = new S3Client({ forcePathStyle: true })
const secrets = new SecretsManagerClient({})
const catalogueFile = join(process.env.TMPDIR ?? '/tmp', catalogueKey)
// Shared by the invocations a thread runs at once; forgotten when it fails, so the next one retries.
let downloading: Promise<void> | undefined
let pooling: Promise<mysql.Pool> | undefined

const downloadCatalogue = async () => {
  const object = await s3.send(new GetObjectCommand({ Bucket: catalogueBucket, Key: catalogueKey }))
  const temporary = `${catalogueFile}.${process.pid}.${threadId}.partial`
  try {
    await pipeline(object.Body as Readable, createWriteStream(temporary))
    renameSync(temporary, catalogueFile)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
}

const catalogue = async (): Promise<string> => {
  if (!existsSync(catalogueFile)) {
    downloading ??= downloadCatalogue().finally(() => {
      downloading = undefined
    })
    await downloading
  }
  return catalogueFile
}

const openPool = async (): Promise<mysql.Pool> => {
  const { SecretString } = await secrets.send(
    new GetSecretValueCommand({ SecretId: process.env.DB_SECRET_ID ?? 'quotes/db' }),
  )
  const secret = JSON.parse(SecretString as string) as { username: string; password: string; dbname?: string }
  const url = new URL(process.env.DATABASE_URL ?? 'mysql://127.0.0.1:3306/quotes')
  return mysql.createPool({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: secret.username,
    password: secret.password,
    database: secret.dbname ?? url.pathname.slice(1),
    connectionLimit: concurrencyPerThread,
  })
}

const pool = (): Promise<mysql.Pool> => {
  pooling ??= openPool().catch((error: unknown) => {
    pooling = undefined
    throw error
  })
  return pooling
}

// What quote.ts uses of context.db, on the pool (the secret read on the first statement, as thaw does).
const database = {
  query: async (sql: string, values?: unknown[]) => (await pool()).query(sql, values),
  transaction: async <T>(work: (connection: mysql.PoolConnection) => Promise<T>) => {
    const connection = await (await pool()).getConnection()
    try {
      await connection.beginTransaction()
      const result = await work(connection)
      await connection.commit()
      return result
    } catch (error) {
      await connection.rollback()
      throw error
    } finally {
      connection.release()
    }
  },
} as unknown as DbConnection

export const handler = middy<QuoteEvent>().handler(async (event): Promise<Quote> => {
  validateQuoteEvent(event)
  return priceQuote(event, await cataloguePrices(await catalogue()), database)
})
