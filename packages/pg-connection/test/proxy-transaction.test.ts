import { beforeAll, describe, expect, it } from '@jest/globals'
import { pgConnectionStats } from '../src/index.ts'
import { admin, createTestRole, inProcessFunction, setUpTestFile } from './helpers.ts'
import { type Pgbouncer, startPgbouncer } from './pgbouncer.ts'

// Behind a transaction pooler (a real pgbouncer, pool_mode=transaction): with proxy: 'transaction'
// thaw relies on no session state and sends nothing the pooler cannot route: no DISCARD ALL (the next
// transaction may run on another server connection), a transaction left open is rolled back, a named
// prepared statement is refused before it is sent, and the statement deadline still stops a statement
// through the pooler's own cancel handling.

let bouncer: Pgbouncer
let testRole: Awaited<ReturnType<typeof createTestRole>>
beforeAll(async () => {
  testRole = await createTestRole('bouncer')
  bouncer = await startPgbouncer({ host: testRole.host, port: testRole.port, database: testRole.database }, [
    testRole.role,
  ])
})
setUpTestFile(() => bouncer?.stop())

const outcomeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ code: 'answered', message: '' }),
    (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
  )

describe("proxy: 'transaction' through pgbouncer (pool_mode=transaction)", () => {
  it('runs statements, sends no DISCARD ALL after session changes, and rolls back an open transaction', async () => {
    const { role, url } = testRole
    const run = inProcessFunction({ config: url(bouncer.port), proxy: 'transaction' })
    const before = pgConnectionStats()
    expect(await run(async (db) => (await db.query('SELECT 1 + 1 AS two')).rows)).toEqual([{ two: 2 }])
    // A session change and a transaction left open: thaw does not reset a session that is not its own.
    await run(async (db) => {
      await db.query("SET application_name = 'changed'")
      await db.query('BEGIN')
      await db.query('SELECT 1')
    })
    const after = pgConnectionStats()
    expect(after.resets - before.resets).toBe(0)
    expect(after.rollbacks - before.rollbacks).toBe(1)
    // The server never received a DISCARD ALL from the role's connections.
    const { rows } = await (await admin()).query('SELECT query FROM pg_stat_activity WHERE usename = $1', [
      role,
    ])
    expect(rows.map((row) => row.query)).not.toContain('DISCARD ALL')
    // The next invocation starts outside any transaction.
    const status = await run(
      async (db) => (await db.query('SELECT now() = statement_timestamp() AS fresh')).rows[0],
    )
    expect(status).toEqual({ fresh: true })
  })

  it('refuses a named prepared statement before sending it', async () => {
    const { url } = testRole
    const run = inProcessFunction({ config: url(bouncer.port), proxy: 'transaction' })
    const outcome = await run((db) => outcomeOf(db.query({ name: 'q1', text: 'SELECT 1' })))
    expect(outcome).toEqual({
      code: 'THAW_PG_CONNECTION_PROXY_UNSUPPORTED',
      message: expect.stringMatching(/^@thaw\/pg-connection: a named prepared statement cannot be routed/),
    })
    // The connection is still fine for the next statement.
    expect(await run(async (db) => (await db.query('SELECT 3 AS n')).rows)).toEqual([{ n: 3 }])
  })

  it('stops a statement at the deadline through the pooler (cancel request forwarded, 57014)', async () => {
    const { url } = testRole
    const run = inProcessFunction(
      { config: url(bouncer.port), proxy: 'transaction', statementMarginMs: 1_000 },
      0,
    )
    const outcome = await run((db) => outcomeOf(db.query('SELECT pg_sleep(30)')), 2_500)
    expect(outcome.code).toBe('THAW_PG_CONNECTION_STATEMENT_DEADLINE')
    expect(outcome.message).toMatch(/server confirmed it cancelled it/)
  })
})
