import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import pg from 'pg'
import { forgetPreparedStatements, isClientDead, transactionStatus } from '../src/pg-adapter.ts'
import { pgUrl } from './helpers.ts'

// pg-adapter.ts reads node-postgres's private fields (checked against pg 8.23.1). These tests name the
// field that moved when pg changes them, and show why each one is read.

const version = JSON.parse(
  (await import('node:fs')).readFileSync(new URL('../node_modules/pg/package.json', import.meta.url), 'utf8'),
).version as string

let client: pg.Client
beforeAll(async () => {
  client = new pg.Client({ connectionString: pgUrl() })
  await client.connect()
})
afterAll(async () => {
  await client.end().catch(() => {})
})

const internals = () => client as unknown as { _txStatus: unknown; connection: { parsedStatements: unknown } }

describe(`pg ${version}: the private fields thaw reads`, () => {
  it('is the pg version pg-adapter.ts was checked against', () => {
    expect(version).toMatch(/^8\.23\./)
  })

  it('_txStatus follows every ReadyForQuery: I, T, E, and I again after ROLLBACK', async () => {
    expect(internals()._txStatus).toBe('I')
    await client.query('BEGIN')
    expect(internals()._txStatus).toBe('T')
    expect(transactionStatus(client)).toBe('T')
    await client.query('SELECT 1/0').catch(() => {})
    // pg rejects a failed statement at its ErrorResponse, before the ReadyForQuery that says 'E'
    // (which is why release.ts rolls back whenever the status is not 'I', a stale 'T' included).
    const deadline = Date.now() + 5_000
    while (internals()._txStatus !== 'E') {
      if (Date.now() > deadline)
        throw new Error(`_txStatus: 'E' not seen within 5000 ms (${internals()._txStatus})`)
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(transactionStatus(client)).toBe('E')
    await client.query('ROLLBACK')
    expect(transactionStatus(client)).toBe('I')
  })

  it('connection.parsedStatements holds the names pg prepared, which DISCARD ALL leaves behind', async () => {
    await client.query({ name: 'adapter_q1', text: 'SELECT 1 AS n' })
    expect(internals().connection.parsedStatements).toEqual({ adapter_q1: 'SELECT 1 AS n' })
    await client.query('DISCARD ALL')
    // pg still believes the statement is prepared and skips the Parse: the server no longer has it.
    await expect(client.query({ name: 'adapter_q1', text: 'SELECT 1 AS n' })).rejects.toMatchObject({
      code: '26000',
    })
    forgetPreparedStatements(client)
    expect(internals().connection.parsedStatements).toEqual({})
    expect((await client.query({ name: 'adapter_q1', text: 'SELECT 1 AS n' })).rows).toEqual([{ n: 1 }])
  })

  it('a client the server terminated is seen dead without a round trip', async () => {
    const other = new pg.Client({ connectionString: pgUrl() })
    other.on('error', () => {})
    await other.connect()
    expect(isClientDead(other)).toBe(false)
    await client.query('SELECT pg_terminate_backend($1)', [
      (other as unknown as { processID: number }).processID,
    ])
    const deadline = Date.now() + 5_000
    while (!isClientDead(other)) {
      if (Date.now() > deadline) throw new Error('the terminated client was not seen dead within 5000 ms')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await other.end().catch(() => {})
  })
})
