import { readFileSync } from 'node:fs'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import {
  databaseUrl,
  type S3Peer,
  type SecretsManagerPeer,
  samMemorySize,
  startS3Peer,
  startSecretsManagerPeer,
} from '@thaw/test-support'
import mysql from 'mysql2/promise'
import { buildExample, type ExampleBundle } from '../../../scripts/build-examples.ts'
import type { Quote, QuoteEvent } from '../src/handler.ts'

const database = 'thaw_example_all_together'
const bucket = 'thaw-example-catalogue'
let peer: S3Peer
let secretsPeer: SecretsManagerPeer
const user = 'thaw_example_quotes'
let bundle: ExampleBundle
let admin: mysql.Connection
let environment: LambdaEnvironment
// Host and database only, as deployed: the user and password are in the secret.
const exampleDatabaseUrl = () => {
  const url = new URL(databaseUrl())
  url.username = ''
  url.password = ''
  url.pathname = `/${database}`
  return url.toString()
}

beforeAll(async () => {
  admin = await mysql.createConnection({ uri: databaseUrl(), multipleStatements: true })
  await admin.query(`DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database}; USE ${database}`)
  await admin.query(readFileSync(new URL('../schema.sql', import.meta.url), 'utf8'))
  await admin.query("INSERT INTO customers (id, tier) VALUES (1, 'standard'), (2, 'gold')")
  await admin.query(
    `DROP USER IF EXISTS '${user}'@'%'; CREATE USER '${user}'@'%' IDENTIFIED BY 'quotes-password'`,
  )
  await admin.query(`GRANT SELECT, INSERT ON ${database}.* TO '${user}'@'%'`)
  secretsPeer = await startSecretsManagerPeer({
    secrets: { 'quotes/db': { engine: 'mysql', username: user, password: 'quotes-password' } },
  })
  peer = await startS3Peer({ buckets: [bucket] })
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: peer.endpoint,
    forcePathStyle: true,
    credentials: peer.credentials,
  })
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'prices.json',
      Body: JSON.stringify({ apple: 100, pear: 250 }),
    }),
  )
  s3.destroy()
  bundle = await buildExample('all-together')
  environment = await startEnvironment({
    entry: bundle.file,
    prebuilt: true,
    workers: 2,
    // As deployed: lambda-sim kills an environment above its memory, as Lambda does.
    memoryMb: samMemorySize(new URL('../template.yaml', import.meta.url)),
    concurrency: 4,
    timeoutMs: 10_000,
    env: {
      DATABASE_URL: exampleDatabaseUrl(),
      DB_SECRET_ID: 'quotes/db',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsPeer.endpoint,
      AWS_ENDPOINT_URL_S3: peer.endpoint,
      AWS_ACCESS_KEY_ID: peer.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: peer.credentials.secretAccessKey,
      CATALOGUE_BUCKET: bucket,
      CONCURRENCY_PER_THREAD: '4',
    },
  })
})

afterAll(async () => {
  await environment?.shutdown()
  await peer?.close()
  await secretsPeer?.close()
  await admin?.query(`DROP USER IF EXISTS '${user}'@'%'; DROP DATABASE IF EXISTS ${database}`)
  await admin?.end()
})

const quote = async (event: QuoteEvent) => {
  const outcome = await environment.invoke<Quote>(event)
  if (!outcome.ok) throw new Error(`${outcome.error.name}: ${outcome.error.message}`)
  return outcome.result
}

const exampleConnectionIds = async () => {
  const [rows] = await admin.query(
    'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
    [database],
  )
  return (rows as Array<{ id: number }>).map((row) => row.id)
}

describe('all-together, its deployment bundle on a simulated Managed Instance (2 threads x 4)', () => {
  it('prices concurrent baskets, each quote in one transaction, the catalogue downloaded once', async () => {
    const quotes = await Promise.all(
      Array.from({ length: 16 }, (_, index) =>
        quote({
          customerId: (index % 2) + 1,
          items: [
            { sku: 'apple', quantity: 2 },
            { sku: 'pear', quantity: 1 },
          ],
        }),
      ),
    )
    // Standard pays list price (450 cents); gold gets 12 % off each line (176 + 220).
    expect(quotes.filter((each) => each.tier === 'standard').map((each) => each.totalCents)).toEqual(
      Array(8).fill(450),
    )
    expect(quotes.filter((each) => each.tier === 'gold').map((each) => each.totalCents)).toEqual(
      Array(8).fill(396),
    )
    expect(new Set(quotes.map((each) => each.threadId)).size).toBe(2)
    const [rows] = await admin.query(
      `SELECT q.id, q.total_cents AS total, SUM(l.line_cents) AS lines_total, COUNT(*) AS line_count
       FROM ${database}.quotes q JOIN ${database}.quote_lines l ON l.quote_id = q.id GROUP BY q.id`,
    )
    const stored = rows as Array<{ total: number; lines_total: string; line_count: number }>
    expect(stored).toHaveLength(16)
    for (const row of stored) {
      expect(Number(row.lines_total)).toBe(Number(row.total))
      expect(row.line_count).toBe(2)
    }
    expect(peer.requestCount('GET', `/${bucket}/prices.json`)).toBe(1)
    // The secret is read once per worker thread (module state is per thread), never per invocation:
    // both threads took invocations, so exactly two reads.
    expect(secretsPeer.callCount('GetSecretValue')).toBe(2)
    // At most one pool connection per concurrent invocation of each thread.
    expect((await exampleConnectionIds()).length).toBeLessThanOrEqual(8)
  })

  it('keeps answering after the server kills every connection of the function', async () => {
    for (const id of await exampleConnectionIds()) await admin.query(`KILL ${id}`)
    const quotes = await Promise.all(
      Array.from({ length: 8 }, () => quote({ customerId: 1, items: [{ sku: 'pear', quantity: 4 }] })),
    )
    expect(quotes.map((each) => each.totalCents)).toEqual(Array(8).fill(1000))
  })

  it('answers a bad basket with a BadRequestError and writes nothing', async () => {
    const [[before]] = (await admin.query(`SELECT COUNT(*) AS n FROM ${database}.quotes`)) as unknown as [
      [{ n: number }],
    ]
    const outcome = await environment.invoke({ customerId: 1, items: [{ sku: 'plum', quantity: 1 }] })
    expect(outcome.ok).toBe(false)
    if (!outcome.ok)
      expect(outcome.error).toMatchObject({ name: 'BadRequestError', message: 'unknown sku plum' })
    const [[after]] = (await admin.query(`SELECT COUNT(*) AS n FROM ${database}.quotes`)) as unknown as [
      [{ n: number }],
    ]
    expect(after.n).toBe(before.n)
  })
})
