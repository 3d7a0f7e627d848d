import { describe, expect, it } from '@jest/globals'
import {
  admin,
  call,
  connectionIds,
  createTestUser,
  setUpTestFile,
  startHandler,
  waitForStatement,
} from './helpers.ts'

const table = setUpTestFile({
  table: 'dbc_conc',
  columns: 'inv VARCHAR(32) PRIMARY KEY, conn BIGINT, t0 DATETIME(6), t1 DATETIME(6)',
})

describe('Managed Instances: concurrent invocations in one process', () => {
  it('never interleave on one connection; the pool bounds connections and queues the rest', async () => {
    const { user, dsn } = await createTestUser('conc')
    const environment = await startHandler(
      { databaseUrl: `${dsn()}?connectionLimit=2` },
      { workers: 2, concurrency: 8, timeoutMs: 10_000 },
    )
    const invocations = Array.from({ length: 24 }, (_, i) => `inv-${i}`)
    await Promise.all(
      invocations.map((inv) =>
        call(environment, {
          action: 'transaction',
          steps: [
            {
              sql: `INSERT INTO ${table} (inv, conn, t0) VALUES (?, CONNECTION_ID(), NOW(6))`,
              values: [inv],
            },
            { sql: 'SELECT SLEEP(0.03)' },
            {
              sql: `UPDATE ${table} SET t1 = NOW(6) WHERE inv = ? AND conn = CONNECTION_ID()`,
              values: [inv],
            },
          ],
        }),
      ),
    )
    const [rows] = await (await admin()).query(`SELECT inv, conn, t0, t1 FROM ${table} ORDER BY conn, t0`)
    const recorded = rows as { inv: string; conn: number; t0: Date; t1: Date | null }[]
    // Every transaction committed, and each ran all its statements on one connection.
    expect(recorded.map((row) => row.inv).sort()).toEqual([...invocations].sort())
    expect(recorded.every((row) => row.t1 !== null)).toBe(true)
    // Two worker threads, each with a pool of two: at most four connections.
    const connections = new Set(recorded.map((row) => Number(row.conn)))
    expect(connections.size).toBeGreaterThanOrEqual(2)
    expect(connections.size).toBeLessThanOrEqual(4)
    expect((await connectionIds(user)).length).toBeLessThanOrEqual(4)
    // On each connection, one invocation's transaction ended before the next one's began.
    for (const conn of connections) {
      const onConnection = recorded.filter((row) => Number(row.conn) === conn)
      onConnection.slice(1).forEach((row, i) => {
        const previous = onConnection[i] as { t1: Date }
        expect(row.t0.getTime()).toBeGreaterThanOrEqual(previous.t1.getTime())
      })
    }
  })
})

describe('Managed Instances: an invocation queued for a connection', () => {
  it('gives up before its own deadline, naming the queue wait, while the holder finishes and the pool stays usable', async () => {
    const { user, dsn } = await createTestUser('queue')
    const timeoutMs = 4_000
    const marginMs = 1_500
    const environment = await startHandler(
      {
        databaseUrl: `${dsn()}?connectionLimit=1`,
        dbOptions: { connectRetry: { deadlineMarginMs: marginMs } },
      },
      { workers: 1, concurrency: 2, timeoutMs },
    )
    // The first invocation opens the pool's one connection and holds it for 3.2 s (inside its 4 s).
    const holder = call<{ rows: [{ id: number }] }>(environment, {
      action: 'query',
      sql: 'SELECT CONNECTION_ID() AS id, SLEEP(3.2) AS slept',
    })
    await waitForStatement(user, 'SLEEP(3.2)')
    // The second waits in the queue: without a bound it would get the connection at 3.2 s, after its
    // own deadline minus the margin (about 2.5 s), or time out at 4 s.
    const waiter = await environment.invoke({ action: 'catch', sql: 'SELECT 1 AS one' })
    expect(waiter.ok).toBe(true)
    if (!waiter.ok) return
    const { error } = waiter.result as { error: { code: string; message: string } | null }
    expect(error?.code).toBe('THAW_DB_CONNECTION_QUEUE_TIMEOUT')
    expect(error?.message).toMatch(/waited \d+ ms in the pool's queue/)
    expect(error?.message).toContain('connectionLimit 1')
    // It failed before its own deadline, with the margin left for the handler to answer.
    expect(waiter.durationMs).toBeLessThan(timeoutMs - marginMs + 400)
    expect(waiter.durationMs).toBeGreaterThan(timeoutMs - marginMs - 400)
    // The holder was not disturbed, and the next invocation gets the same connection: the waiter
    // left the queue rather than taking the connection with it.
    const held = await holder
    const next = await call<{ rows: [{ id: number }] }>(environment, {
      action: 'query',
      sql: 'SELECT CONNECTION_ID() AS id',
    })
    expect(next.rows[0].id).toBe(held.rows[0].id)
    expect((await connectionIds(user)).length).toBe(1)
  })
})
