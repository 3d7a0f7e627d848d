import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import {
  databaseUrl,
  type SecretsManagerPeer,
  samMemorySize,
  startSecretsManagerPeer,
} from '@thaw/test-support'
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import mysql from 'mysql2/promise'
import { buildExample } from '../../../scripts/build-examples.ts'

const database = 'thaw_example_orders'
const user = 'thaw_example_orders'
const secretId = 'orders-api/db'
let admin: mysql.Connection
let peer: SecretsManagerPeer
let environment: LambdaEnvironment

const setPassword = async (password: string) => {
  await admin.query(`ALTER USER '${user}'@'%' IDENTIFIED BY ?`, [password])
  peer.setSecret(secretId, { engine: 'mysql', username: user, password, dbname: database })
}

beforeAll(async () => {
  admin = await mysql.createConnection({ uri: databaseUrl(), multipleStatements: true })
  await admin.query(`DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database}; USE ${database}`)
  await admin.query(readFileSync(new URL('../schema.sql', import.meta.url), 'utf8'))
  await admin.query(
    `DROP USER IF EXISTS '${user}'@'%'; CREATE USER '${user}'@'%' IDENTIFIED BY 'initial-password'`,
  )
  await admin.query(`GRANT SELECT, INSERT ON ${database}.* TO '${user}'@'%'`)
  peer = await startSecretsManagerPeer()
  await setPassword('first-password')
  const bundle = await buildExample('orders-api')
  const server = new URL(databaseUrl())
  environment = await startEnvironment({
    entry: bundle.file,
    prebuilt: true,
    timeoutMs: 10_000,
    // As deployed: lambda-sim kills an environment above its memory, as Lambda does.
    memoryMb: samMemorySize(new URL('../template.yaml', import.meta.url)),
    env: {
      DATABASE_URL: `mysql://${server.host}/${database}`,
      DB_SECRET_ID: secretId,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: peer.endpoint,
    },
  })
})

afterAll(async () => {
  await environment?.shutdown()
  await peer?.close()
  await admin?.query(`DROP USER IF EXISTS '${user}'@'%'; DROP DATABASE IF EXISTS ${database}`)
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
const postOrder = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  request({ routeKey: 'POST /orders', headers, body: JSON.stringify(body) })
const getOrder = (id: string) => request({ routeKey: 'GET /orders/{id}', pathParameters: { id } })

describe('orders-api, its deployment bundle in lambda-sim against MariaDB and the Secrets Manager peer', () => {
  it('stores an order with its lines and reads it back', async () => {
    const created = await postOrder({
      customerId: 42,
      lines: [
        { sku: 'tea', quantity: 2, unitCents: 450 },
        { sku: 'cup', quantity: 1, unitCents: 1200 },
      ],
    })
    expect(created.statusCode).toBe(201)
    const read = await getOrder(String(created.json.id))
    expect(read.statusCode).toBe(200)
    expect(read.json).toMatchObject({
      id: created.json.id,
      customerId: 42,
      totalCents: 2100,
      lines: [
        { sku: 'cup', quantity: 1, unitCents: 1200 },
        { sku: 'tea', quantity: 2, unitCents: 450 },
      ],
    })
  })

  it('answers 400 with a reason, 404 and 415, and stores nothing for a bad order', async () => {
    const [[before]] = (await admin.query(`SELECT COUNT(*) AS n FROM ${database}.orders`)) as unknown as [
      [{ n: number }],
    ]
    expect(await postOrder({ customerId: 1, lines: [] })).toMatchObject({
      statusCode: 400,
      json: { message: 'lines must be an array of 1 to 100 lines' },
    })
    expect(
      await postOrder({ customerId: 1, lines: [{ sku: 'a', quantity: 0, unitCents: 1 }] }),
    ).toMatchObject({
      statusCode: 400,
      json: { message: 'quantity must be a positive integer' },
    })
    expect((await getOrder('12abc')).statusCode).toBe(400)
    expect((await getOrder('999999')).statusCode).toBe(404)
    expect((await postOrder({ customerId: 1 }, { 'content-type': 'text/plain' })).statusCode).toBe(415)
    const [[after]] = (await admin.query(`SELECT COUNT(*) AS n FROM ${database}.orders`)) as unknown as [
      [{ n: number }],
    ]
    expect(after.n).toBe(before.n)
  })

  it('keeps working through a password rotation while frozen, with exactly one more secret read', async () => {
    expect((await getOrder('1')).statusCode).toBe(200)
    const readsBefore = peer.callCount('GetSecretValue')
    await setPassword('rotated-password')
    // The rotation drops the sessions opened with the old password, as a proxy would.
    const [sessions] = await admin.query(
      'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?',
      [user],
    )
    for (const { id } of sessions as Array<{ id: number }>) await admin.query('KILL ?', [id])
    expect((await getOrder('1')).statusCode).toBe(200)
    expect((await getOrder('1')).statusCode).toBe(200)
    expect(peer.callCount('GetSecretValue') - readsBefore).toBe(1)
  })

  it('answers a database failure with a bare 500 that shows no SQL', async () => {
    // The table disappears under the function (a bad migration): the INSERT fails on the server.
    await admin.query(`RENAME TABLE ${database}.order_lines TO ${database}.order_lines_away`)
    try {
      const failed = await postOrder({ customerId: 1, lines: [{ sku: 'x', quantity: 1, unitCents: 1 }] })
      expect(failed.statusCode).toBe(500)
      expect(JSON.stringify(failed)).not.toMatch(/INSERT|exist|order_lines/)
    } finally {
      await admin.query(`RENAME TABLE ${database}.order_lines_away TO ${database}.order_lines`)
    }
    expect((await getOrder('1')).statusCode).toBe(200)
  })
})
