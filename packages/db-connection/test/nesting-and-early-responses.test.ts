import { randomBytes } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import { waitFor } from '@thaw/test-support'
import {
  call,
  connectionIds,
  countRowsWith,
  createTestUser,
  lockHolder,
  setUpTestFile,
  startHandler,
} from './helpers.ts'

// The connection goes back whatever the other middlewares return, and nesting inside transaction()
// never waits.

const table = setUpTestFile({ table: 'dbc_early' })

const rowsWith = (value: string) => countRowsWith(table, value)

describe('a middleware after dbConnection answers early (Middy skips dbConnection after/onError)', () => {
  it.each([
    ['after', { earlyAfter: true }, []],
    ['onError', { earlyOnError: true }, [{ sql: 'SELECT * FROM dbc_no_such_table' }]],
  ])(
    'from its %s: the next invocation gets the connection at once, with the transaction rolled back and the lock free',
    async (_hook, flags, failing) => {
      const { dsn } = await createTestUser('early')
      // connectionLimit 1 (the default): a connection left leased would starve every later invocation.
      const environment = await startHandler({ databaseUrl: dsn() }, { timeoutMs: 4_000 })
      const value = `early-${randomBytes(3).toString('hex')}`
      const lock = `dbc_lock_${randomBytes(3).toString('hex')}`
      const first = await environment.invoke({
        action: 'steps',
        ...flags,
        steps: [
          { sql: 'START TRANSACTION' },
          { sql: `INSERT INTO ${table} (v) VALUES (?)`, values: [value] },
          { sql: 'SELECT GET_LOCK(?, 0) AS got', values: [lock] },
          ...failing,
        ],
      })
      expect(first.ok).toBe(true)
      expect((first.ok ? first.result : {}) as { early: string }).toMatchObject({ early: _hook })
      const next = await environment.invoke({ action: 'query', sql: 'SELECT @@in_transaction AS t' })
      if (!next.ok) throw new Error(`the next invocation failed: ${next.error.message}`)
      expect(Number((next.result as { rows: [{ t: number }] }).rows[0].t)).toBe(0)
      // At once, not after a wait in the pool's queue (THAW_DB_CONNECTION_QUEUE_TIMEOUT came after 3.5 s).
      expect(next.durationMs).toBeLessThan(2_000)
      expect(await rowsWith(value)).toBe(0)
      expect(await lockHolder(lock)).toBeNull()
    },
  )

  it('with Managed Instances: the connection is back by the invocation deadline, its lock free', async () => {
    const { user, dsn } = await createTestUser('earlymi')
    const timeoutMs = 1_500
    const environment = await startHandler({ databaseUrl: dsn() }, { workers: 1, concurrency: 2, timeoutMs })
    const lock = `dbc_lock_${randomBytes(3).toString('hex')}`
    const first = await environment.invoke({
      action: 'steps',
      earlyAfter: true,
      steps: [{ sql: 'SELECT GET_LOCK(?, 0) AS got', values: [lock] }],
    })
    expect(first.ok).toBe(true)
    const returnedAt = Date.now()
    // Held until the invocation's deadline, then freed by thaw's timer (the process is not frozen).
    await waitFor(async () => ((await lockHolder(lock)) === null ? true : undefined), {
      what: `the lock ${lock} freed`,
      withinMs: timeoutMs + 3_000,
    })
    expect(Date.now() - returnedAt).toBeLessThan(timeoutMs + 3_000)
    const next = await call<{ rows: [{ id: number }] }>(environment, {
      action: 'query',
      sql: 'SELECT CONNECTION_ID() AS id',
    })
    expect(next.rows[0].id).toBeGreaterThan(0)
    expect((await connectionIds(user)).length).toBe(1)
  })
})

describe('nesting inside transaction()', () => {
  it('context.db statements run in the transaction, a nested transaction() is a savepoint, getConnection() fails at once', async () => {
    const { dsn } = await createTestUser('nested')
    const environment = await startHandler({ databaseUrl: dsn() }, { timeoutMs: 5_000 })
    const tag = `n-${randomBytes(3).toString('hex')}`
    const outcome = await environment.invoke({ action: 'nested', table, tag })
    if (!outcome.ok) throw new Error(`invocation failed: ${outcome.error.message}`)
    const result = outcome.result as {
      outerId: number
      innerId: number
      innerError: string
      nestedLease: string
    }
    expect(result.innerId).toBe(result.outerId)
    expect(result.innerError).toBe('inner throw')
    expect(result.nestedLease).toBe('THAW_DB_CONNECTION_NESTED_LEASE')
    expect(outcome.durationMs).toBeLessThan(4_000)
    expect(await rowsWith(`${tag}-leased`)).toBe(1)
    expect(await rowsWith(`${tag}-context`)).toBe(1)
    expect(await rowsWith(`${tag}-savepoint-kept`)).toBe(1)
    expect(await rowsWith(`${tag}-savepoint-undone`)).toBe(0)
  })

  it('a throw from the outer callback rolls back what context.db wrote inside it', async () => {
    const { dsn } = await createTestUser('nestedthrow')
    const environment = await startHandler({ databaseUrl: dsn() }, { timeoutMs: 5_000 })
    const tag = `t-${randomBytes(3).toString('hex')}`
    const outcome = await environment.invoke({ action: 'nested', table, tag, throwOuter: true })
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(outcome.error.message).toBe('outer throw')
    for (const suffix of ['leased', 'context', 'savepoint-kept', 'savepoint-undone']) {
      expect(await rowsWith(`${tag}-${suffix}`)).toBe(0)
    }
  })
})
