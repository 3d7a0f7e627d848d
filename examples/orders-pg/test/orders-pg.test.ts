import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import { type SecretsManagerPeer, samMemorySize, startSecretsManagerPeer } from '@thaw/test-support'
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import pg from 'pg'
import { buildExample } from '../../../scripts/build-examples.ts'

// The example as deployed: its bundle in lambda-sim (frozen between invocations), credentials from a
// local Secrets Manager peer, orders in a database of its own on the test PostgreSQL.

const pgUrl = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const database = 'thaw_example_orders_pg'
const user = 'thaw_example_orders_pg'
const secretId = 'orders-pg/db'
let admin: pg.Client
let peer: SecretsManagerPeer
let environment: LambdaEnvironment

beforeAll(async () => {
  admin = new pg.Client({ connectionString: pgUrl })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin.query(`DROP ROLE IF EXISTS ${user}`)
  await admin.query(`CREATE ROLE ${user} LOGIN PASSWORD 'first-password'`)
  await admin.query(`CREATE DATABASE ${database} OWNER ${user}`)
  const server = new URL(pgUrl)
  const owner = new pg.Client({
    host: server.hostname,
    port: Number(server.port || 5432),
    user,
    password: 'first-password',
    database,
  })
  await owner.connect()
  await owner.query(readFileSync(new URL('../schema.sql', import.meta.url), 'utf8'))
  await owner.end()
  peer = await startSecretsManagerPeer()
  peer.setSecret(secretId, {
    engine: 'postgres',
    username: user,
    password: 'first-password',
    dbname: database,
  })
  const bundle = await buildExample('orders-pg')
  environment = await startEnvironment({
    entry: bundle.file,
    prebuilt: true,
    timeoutMs: 10_000,
    memoryMb: samMemorySize(new URL('../template.yaml', import.meta.url)),
    env: {
      DATABASE_URL: `postgres://${server.host}/${database}`,
      DB_SECRET_ID: secretId,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: peer.endpoint,
    },
  })
}, 120_000)

afterAll(async () => {
  await environment?.shutdown()
  await peer?.close()
  await admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin?.query(`DROP ROLE IF EXISTS ${user}`)
  await admin?.end()
})

const request = async (event: Record<string, unknown>) => {
  const outcome = await environment.invoke<APIGatewayProxyStructuredResultV2>(event)
  if (!outcome.ok) throw new Error(`${outcome.error.name}: ${outcome.error.message}`)
  return {
    ...outcome.result,
    json: outcome.result.body ? JSON.parse(outcome.result.body as string) : undefined,
  }
}

describe('orders-pg', () => {
  it('stores an order with its lines in one transaction and reads it back across freezes', async () => {
    const created = await request({
      routeKey: 'POST /orders',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        customerId: 7,
        lines: [
          { sku: 'A-1', quantity: 2, unitCents: 150 },
          { sku: 'B-2', quantity: 1, unitCents: 99 },
        ],
      }),
    })
    expect(created.statusCode).toBe(201)
    expect(environment.isFrozen).toBe(true)
    const read = await request({
      routeKey: 'GET /orders/{id}',
      pathParameters: { id: String(created.json.id) },
    })
    expect(read.statusCode).toBe(200)
    expect(read.json).toMatchObject({
      id: created.json.id,
      customerId: 7,
      totalCents: 399,
      lines: [
        { sku: 'A-1', quantity: 2, unitCents: 150 },
        { sku: 'B-2', quantity: 1, unitCents: 99 },
      ],
    })
  })

  it('answers 400 with a reason, 404 for no such order, and stores nothing of a refused order', async () => {
    const refused = await request({
      routeKey: 'POST /orders',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 8, lines: [{ sku: 'A-1', quantity: 0, unitCents: 1 }] }),
    })
    expect(refused.statusCode).toBe(400)
    expect(
      (await request({ routeKey: 'GET /orders/{id}', pathParameters: { id: '999999' } })).statusCode,
    ).toBe(404)
    const server = new URL(pgUrl)
    const reader = new pg.Client({
      host: server.hostname,
      port: Number(server.port || 5432),
      user: 'postgres',
      database,
    })
    await reader.connect()
    expect(
      (await reader.query('SELECT count(*)::int AS n FROM orders WHERE customer_id = 8')).rows[0]?.n,
    ).toBe(0)
    await reader.end()
  })
})
