// Prices a basket: the catalogue is a JSON file in S3 kept in /tmp (@thaw/tmp-store, one download per
// instance whatever the number of worker threads), the customer's tier comes from MySQL and the quote
// is written in one transaction (@thaw/db-connection, credentials from Secrets Manager), S3 is reached through a client built once per
// thread (@thaw/sdk-clients). Written for Lambda Managed Instances: each worker thread takes several
// invocations at once, so the pool holds as many connections as a thread takes invocations. The
// pricing itself is in quote.ts.
import type { Readable } from 'node:stream'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import middy from '@middy/core'
import dbConnection from '@thaw/db-connection'
import sdkClients from '@thaw/sdk-clients'
import tmpStore from '@thaw/tmp-store'
import { cataloguePrices, priceQuote, type Quote, type QuoteEvent, validateQuoteEvent } from './quote.ts'

export { BadRequestError, type Quote, type QuoteEvent } from './quote.ts'

const catalogueBucket = process.env.CATALOGUE_BUCKET ?? 'catalogue'
const catalogueKey = process.env.CATALOGUE_KEY ?? 'prices.json'
const concurrencyPerThread = Number(process.env.CONCURRENCY_PER_THREAD ?? 4)

// Host and database only: the user and password come from the secret.
const databaseUrl = new URL(process.env.DATABASE_URL ?? 'mysql://127.0.0.1:3306/quotes')
databaseUrl.searchParams.set('connectionLimit', String(concurrencyPerThread))

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
    return priceQuote(event, await cataloguePrices(file.path), context.db)
  })
