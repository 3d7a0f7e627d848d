import { beforeAll, describe, expect, it } from '@jest/globals'
import { waitFor } from '@thaw/test-support'
import { type PgConnectionLogEvent, pgConnectionStats } from '../src/index.ts'
import { admin, createTestRole, type Db, inProcessFunction, setUpTestFile } from './helpers.ts'
import { startRelay } from './relay.ts'

// context.db's surface in-process: transactions and savepoints, the exclusive lease, what a handler is
// told after its invocation ended, and an invocation that ended with a statement still running.

setUpTestFile()

let role: Awaited<ReturnType<typeof createTestRole>>
let table: string
beforeAll(async () => {
  role = await createTestRole('surface')
  table = `${role.role}_t`
  await (await admin()).query(`CREATE TABLE ${table} (v text)`)
  await (await admin()).query(`GRANT ALL ON ${table} TO ${role.role}`)
})

const outcomeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ code: 'answered', message: '' }),
    (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message ?? '' }),
  )

describe('transaction()', () => {
  it('commits; a nested transaction() is a savepoint rolled back alone when it throws', async () => {
    const run = inProcessFunction({ config: role.url() })
    await run((db) =>
      db.transaction(async (client) => {
        await client.query(`INSERT INTO ${table} VALUES ('outer')`)
        await db.transaction(async () => {
          await db.query(`INSERT INTO ${table} VALUES ('inner-kept')`)
        })
        await db
          .transaction(async (inner) => {
            await inner.query(`INSERT INTO ${table} VALUES ('inner-dropped')`)
            throw new Error('inner fails')
          })
          .catch(() => {})
        expect((await outcomeOf(db.getConnection())).code).toBe('THAW_PG_CONNECTION_NESTED_LEASE')
      }),
    )
    const { rows } = await (await admin()).query(`SELECT v FROM ${table} ORDER BY v`)
    expect(rows.map((row) => row.v)).toEqual(['inner-kept', 'outer'])
    await (await admin()).query(`DELETE FROM ${table}`)
  })

  it('rolls back and rethrows when fn throws, never re-running fn', async () => {
    const run = inProcessFunction({ config: role.url() })
    let calls = 0
    const outcome = await run((db) =>
      outcomeOf(
        db.transaction(async (client) => {
          calls++
          await client.query(`INSERT INTO ${table} VALUES ('x')`)
          throw Object.assign(new Error('handler failure'), { code: 'MINE' })
        }),
      ),
    )
    expect(outcome.code).toBe('MINE')
    expect(calls).toBe(1)
    expect((await (await admin()).query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n).toBe(0)
  })
})

describe('after the invocation', () => {
  it('context.db kept past the invocation fails with THAW_PG_CONNECTION_INVOCATION_ENDED', async () => {
    const run = inProcessFunction({ config: role.url() })
    let kept: { query(text: string): Promise<unknown> } | undefined
    await run(async (db) => {
      kept = db
      await db.query('SELECT 1')
    })
    const outcome = await outcomeOf((kept as { query(text: string): Promise<unknown> }).query('SELECT 1'))
    expect(outcome.code).toBe('THAW_PG_CONNECTION_INVOCATION_ENDED')
  })

  it("Middy's early timeout mid-statement: the statement is cancelled at once, and the handler is told it stopped only because the server said so", async () => {
    const run = inProcessFunction({ config: role.url(), statementMarginMs: 0 }, 500)
    const before = pgConnectionStats()
    let seen: { code?: string; message: string } | undefined
    const invocation = run(async (db) => {
      seen = await outcomeOf(db.query('SELECT pg_sleep(30)'))
      return seen
    }, 1_000)
    await expect(invocation).rejects.toThrow(/aborted/)
    // The stopped statement's await settles once the cancel's answer came.
    await waitFor(async () => seen, { what: 'the stopped statement settled', withinMs: 5_000 })
    const told = seen as { code?: string; message: string }
    expect(told.code).toBe('THAW_PG_CONNECTION_STATEMENT_DEADLINE')
    expect(told.message).toMatch(
      /Middy's early timeout ended the invocation .*the server confirmed it cancelled it/,
    )
    const after = pgConnectionStats()
    expect(after.deadlineStops - before.deadlineStops).toBe(1)
    // Confirmed cancelled: the session is sound and goes back to the pool, not closed.
    expect(after.abandoned - before.abandoned).toBe(0)
    // True: nothing of the role runs pg_sleep any more.
    const { rows } = await (await admin()).query(
      "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%pg_sleep%'",
      [role.role],
    )
    expect(rows).toEqual([])
  })

  it("Middy's early timeout with the cancel lost: the handler is told the statement may still run, and it does", async () => {
    const { role: name, host, port, database } = await createTestRole('early_lost')
    // Through a relay whose later connections go nowhere: the cancel request never reaches the server.
    const relay = await startRelay({ host, port })
    try {
      const run = inProcessFunction(
        { config: `postgres://${name}@127.0.0.1:${relay.port}/${database}`, statementMarginMs: 0 },
        500,
      )
      const before = pgConnectionStats().abandoned
      let seen: { code?: string; message: string } | undefined
      const invocation = run(async (db) => {
        await db.query('SELECT 1')
        relay.holeNewConnections = true
        seen = await outcomeOf(db.query('SELECT pg_sleep(5)'))
        return seen
      }, 1_500)
      await expect(invocation).rejects.toThrow(/aborted/)
      await waitFor(async () => seen, { what: 'the statement settled', withinMs: 5_000 })
      const told = seen as { code?: string; message: string }
      expect(told.code).toBe('THAW_PG_CONNECTION_STATEMENT_OUTCOME_UNKNOWN')
      expect(told.message).toMatch(/Middy's early timeout .*may still be running/)
      // The confirmation is awaited within what was left before the function's timeout, no longer.
      const [, beforeMs, waitedMs] =
        /ended the invocation (\d+) ms before the function's timeout; .*within (\d+) ms/.exec(told.message) ??
        []
      expect(Number(waitedMs)).toBeLessThan(Number(beforeMs))
      expect(pgConnectionStats().abandoned - before).toBe(1)
      const { rows } = await (await admin()).query(
        "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%pg_sleep(5)%'",
        [name],
      )
      expect(rows).toHaveLength(1)
    } finally {
      await relay.close()
    }
  })
})

describe("resetSession 'never'", () => {
  it('keeps session settings but never an open transaction', async () => {
    const run = inProcessFunction({ config: role.url(), resetSession: 'never' })
    await run(async (db) => {
      await db.query("SET application_name = 'kept'")
      await db.query('BEGIN')
      await db.query(`INSERT INTO ${table} VALUES ('uncommitted')`)
    })
    const seen = await run(
      async (db) => (await db.query("SELECT current_setting('application_name') AS a")).rows,
    )
    expect(seen).toEqual([{ a: 'kept' }])
    expect((await (await admin()).query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n).toBe(0)
  })
})

describe('what the release after an invocation sends', () => {
  // Counted by the server's own statistics would need superuser views; thaw's counters say what it
  // sent, and the session's pid says the connection was kept.
  const counted = async (
    options: Partial<Parameters<typeof inProcessFunction>[0]>,
    invocations: ((
      db: Parameters<Parameters<ReturnType<typeof inProcessFunction>>[0]>[0],
    ) => Promise<unknown>)[],
  ) => {
    const run = inProcessFunction({ config: role.url(), ...options })
    const steps: { resets: number; rollbacks: number; pid: number }[] = []
    for (const invocation of invocations) {
      const before = pgConnectionStats()
      const pid = await run(async (db) => {
        await invocation(db)
        return (await db.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number
      })
      const after = pgConnectionStats()
      steps.push({ resets: after.resets - before.resets, rollbacks: after.rollbacks - before.rollbacks, pid })
    }
    return steps
  }

  it("'auto': one DISCARD ALL after a session change and none after the plain read that follows; no ROLLBACK without a transaction", async () => {
    const steps = await counted({}, [
      (db) => db.query("SET application_name = 'changed'"),
      (db) => db.query('SELECT 1'),
    ])
    expect(steps.map(({ resets, rollbacks }) => ({ resets, rollbacks }))).toEqual([
      { resets: 1, rollbacks: 0 },
      { resets: 0, rollbacks: 0 },
    ])
    // The same session throughout: reset, not replaced.
    expect(steps[1]?.pid).toBe(steps[0]?.pid)
  })

  it("'always': a DISCARD ALL after every invocation, a plain read included", async () => {
    const steps = await counted({ resetSession: 'always' }, [
      (db) => db.query('SELECT 1'),
      (db) => db.query('SELECT 1'),
    ])
    expect(steps.map(({ resets }) => resets)).toEqual([1, 1])
  })

  it.each([
    {
      left: 'a transaction left open',
      event: 'rollback-failed',
      message: 'ROLLBACK got no answer within 300 ms; connection discarded',
      leave: (db: Db) => db.query('BEGIN'),
    },
    {
      left: 'a changed setting',
      event: 'reset-failed',
      message: 'DISCARD ALL got no answer within 300 ms; connection discarded',
      leave: (db: Db) => db.query("SET application_name = 'left behind'"),
    },
  ])(
    '$left, whose clean-up the server never answers: the connection is discarded after validateTimeoutMs, said once in the log, and the next invocation starts on a new session',
    async ({ event, message, leave }) => {
      const { role: name, host, port, database } = await createTestRole('unanswered')
      // Through a relay that stops forwarding the open connection (no FIN): the server never sees the
      // release's statement, and nothing answers it.
      const relay = await startRelay({ host, port })
      const logged: PgConnectionLogEvent[] = []
      try {
        const run = inProcessFunction({
          config: `postgres://${name}@127.0.0.1:${relay.port}/${database}`,
          validateTimeoutMs: 300,
          logger: (each) => logged.push(each),
        })
        const pidOf = async (db: Db) => (await db.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid
        const first = await run(async (db) => {
          const pid = await pidOf(db)
          await leave(db)
          relay.holeOpenConnections()
          return pid
        })
        expect(logged.filter((each) => each.event !== 'connected')).toEqual([
          expect.objectContaining({ level: 'warn', event, message }),
        ])
        // The pool holds one client (config.max's default): one kept would hold the next invocation.
        const next = await run(
          async (db) => ({
            pid: await pidOf(db),
            application: (await db.query('SHOW application_name')).rows[0]?.application_name,
            transaction: (await db.query('SELECT now() = statement_timestamp() AS fresh')).rows[0]?.fresh,
          }),
          2_500,
        )
        expect(next.pid).not.toBe(first)
        expect(next.application).not.toBe('left behind')
        // Outside a transaction, now() is this statement's own start.
        expect(next.transaction).toBe(true)
      } finally {
        await relay.close()
      }
    },
  )

  it('a transaction left open: one ROLLBACK, and a reset only where the session changed too', async () => {
    const steps = await counted({}, [
      async (db) => {
        await db.query('BEGIN')
        await db.query('SELECT 1')
      },
    ])
    expect(steps.map(({ resets, rollbacks }) => ({ resets, rollbacks }))).toEqual([
      { resets: 0, rollbacks: 1 },
    ])
  })
})
