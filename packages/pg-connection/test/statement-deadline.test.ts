import { describe, expect, it } from '@jest/globals'
import { type PgConnectionLogEvent, pgConnectionStats } from '../src/index.ts'
import { admin, createTestRole, inProcessFunction, setUpTestFile } from './helpers.ts'
import { startRelay } from './relay.ts'

// A statement never outlives its invocation on the server: still running statementMarginMs before the
// deadline, it is cancelled with PostgreSQL's cancel request, and the handler hears "stopped" only once
// the server answered that it cancelled it; a statement sent after that point is not sent at all.

setUpTestFile()

const outcomeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ code: 'answered', message: '' }),
    (error: { code?: string; message?: string; cause?: { code?: string } }) => ({
      code: error.code,
      message: error.message ?? '',
      causeCode: error.cause?.code,
    }),
  )

describe('statement deadline', () => {
  it('a statement still running at deadline - margin is cancelled on the server and reported stopped', async () => {
    const { role, url } = await createTestRole('deadline')
    // Middy's own early timeout off: thaw's margin alone decides.
    const run = inProcessFunction({ config: url(), statementMarginMs: 1_000 }, 0)
    const outcome = await run(async (db) => {
      const pid = (await db.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number
      const result = await outcomeOf(db.query('SELECT pg_sleep(30)'))
      const late = await outcomeOf(db.query('SELECT 1'))
      return { pid, result, late }
    }, 2_500)
    expect(outcome.result).toEqual({
      code: 'THAW_PG_CONNECTION_STATEMENT_DEADLINE',
      message: expect.stringMatching(
        /^@thaw\/pg-connection: the statement was stopped .*still running \d+ ms before the function's timeout \(statementMarginMs\), and the server confirmed it cancelled it/,
      ),
      causeCode: '57014',
    })
    expect(outcome.late.code).toBe('THAW_PG_CONNECTION_STATEMENT_DEADLINE')
    expect(outcome.late.message).toMatch(/was not sent/)
    // The server runs nothing for the role any more: the session is idle, and it is kept.
    const { rows } = await (await admin()).query(
      "SELECT pid, state FROM pg_stat_activity WHERE usename = $1 AND query LIKE '%pg_sleep%' AND state = 'active'",
      [role],
    )
    expect(rows).toEqual([])
    const next = await run(
      async (db) => (await db.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number,
    )
    expect(next).toBe(outcome.pid)
  })

  it('stopped inside a transaction: the message says the transaction is rolled back when the invocation ends, and nothing of it is kept', async () => {
    const { role, url } = await createTestRole('deadline_tx')
    await (await admin()).query(`CREATE TABLE ${role}_t (v text)`)
    await (await admin()).query(`GRANT ALL ON ${role}_t TO ${role}`)
    const run = inProcessFunction({ config: url(), statementMarginMs: 1_000 }, 0)
    const outcome = await run(async (db) => {
      await db.query('BEGIN')
      await db.query(`INSERT INTO ${role}_t VALUES ('written before the stop')`)
      return outcomeOf(db.query('SELECT pg_sleep(30)'))
    }, 2_500)
    expect(outcome.code).toBe('THAW_PG_CONNECTION_STATEMENT_DEADLINE')
    expect(outcome.message).toMatch(/a transaction it ran in is rolled back when the invocation ends/)
    // Ended, not merely uncommitted: the kept session is idle, no longer in an (aborted) transaction.
    const { rows: sessions } = await (await admin()).query(
      'SELECT state FROM pg_stat_activity WHERE usename = $1',
      [role],
    )
    expect(sessions).toEqual([{ state: 'idle' }])
    const { rows } = await (await admin()).query(`SELECT count(*)::int AS n FROM ${role}_t`)
    expect(rows).toEqual([{ n: 0 }])
  })

  // The confirmation is awaited for half the margin, at most validateTimeoutMs: the message says how long.
  it.each([
    { statementMarginMs: 1_000, validateTimeoutMs: 300, waitedMs: 300 },
    { statementMarginMs: 400, validateTimeoutMs: 1_000, waitedMs: 200 },
  ])(
    'when the cancel is not confirmed within $waitedMs ms (margin $statementMarginMs, validateTimeoutMs $validateTimeoutMs), the handler is told the statement may still run, and it does',
    async ({ statementMarginMs, validateTimeoutMs, waitedMs }) => {
      const { role, host, port, database } = await createTestRole('unconfirmed')
      // Through a relay whose later connections go nowhere: the client's own session works, the cancel
      // request (a connection of its own) never reaches the server.
      const relay = await startRelay({ host, port })
      const logged: PgConnectionLogEvent[] = []
      try {
        const run = inProcessFunction(
          {
            config: `postgres://${role}@127.0.0.1:${relay.port}/${database}`,
            statementMarginMs,
            validateTimeoutMs,
            // The pool holds one connection (config.max's default), so a client not given up would
            // block the next invocation.
            logger: (event) => logged.push(event),
          },
          0,
        )
        const outcome = await run(async (db) => {
          await db.query('SELECT 1')
          relay.holeNewConnections = true
          return outcomeOf(db.query('SELECT pg_sleep(5)'))
        }, 2_500)
        expect(outcome.code).toBe('THAW_PG_CONNECTION_STATEMENT_OUTCOME_UNKNOWN')
        expect(outcome.message).toMatch(
          /may still be running .* do not retry it unless it is safe to run twice/,
        )
        expect(outcome.message).toMatch(new RegExp(`no confirmation came within ${waitedMs} ms`))
        expect(outcome.message).not.toMatch(/stopped/)
        expect(pgConnectionStats().deadlineUnconfirmed).toBeGreaterThanOrEqual(1)
        // True: the server still runs it.
        const { rows } = await (await admin()).query(
          "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%pg_sleep(5)%'",
          [role],
        )
        expect(rows).toHaveLength(1)
        // Its client is given up (said once in the log), and the function goes on with a new one.
        expect(logged.filter((event) => event.event === 'abandoned')).toEqual([
          expect.objectContaining({ level: 'warn', message: expect.stringMatching(/connection closed/) }),
        ])
        relay.holeNewConnections = false
        const next = await run(async (db) => (await db.query('SELECT 1 AS one')).rows, 2_500)
        expect(next).toEqual([{ one: 1 }])
      } finally {
        await relay.close()
      }
    },
  )

  it('statementMarginMs 0 stops nothing: a statement still running at the deadline is left to answer', async () => {
    const { url } = await createTestRole('margin_off')
    // Nothing ends the invocation here at its deadline (no Middy timeout, no Lambda): a statement that
    // outlives the 3 s left answers, unless thaw stops it, which with a margin of 0 it must not. (The
    // connect itself is bounded by the time left less connectRetry.deadlineMarginMs.)
    const run = inProcessFunction({ config: url(), statementMarginMs: 0 }, 0)
    const outcome = await run(async (db) => {
      const slow = await outcomeOf(db.query('SELECT pg_sleep(4)'))
      const after = await outcomeOf(db.query('SELECT 1'))
      return { slow, after }
    }, 3_000)
    expect(outcome).toEqual({
      slow: { code: 'answered', message: '' },
      after: { code: 'answered', message: '' },
    })
  })
})
