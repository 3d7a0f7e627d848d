import { randomBytes } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import { countRowsWith, createTestUser, setUpTestFile, startHandler } from './helpers.ts'

// A handler that starts a statement and answers without awaiting it (an audit INSERT) gets what a
// plain mysql2 pool gives it: every answer reaches the caller, every statement reaches the server, and
// nothing thaw does ends the runtime. In lambda-sim, so that the runtime's own unhandled-rejection rule
// and the freeze after each answer are the real ones.

const table = setUpTestFile({ table: 'dbc_forget' })

describe('a statement the handler started and did not await', () => {
  it('completes before the environment freezes: 10 answers, 10 rows, one init', async () => {
    const { dsn } = await createTestUser('forget')
    const environment = await startHandler({ databaseUrl: dsn() }, { timeoutMs: 5_000 })
    const value = `forget-${randomBytes(3).toString('hex')}`
    const outcomes = []
    for (let i = 0; i < 10; i++) {
      outcomes.push(
        await environment.invoke({
          action: 'forget',
          // Slow enough to be still running when the handler answers.
          sql: `INSERT INTO ${table} (v) SELECT ? FROM (SELECT SLEEP(0.05)) AS slow`,
          values: [value],
        }),
      )
    }
    expect(outcomes.map((outcome) => (outcome.ok ? 'answered' : outcome.error.name))).toEqual(
      Array(10).fill('answered'),
    )
    expect(await countRowsWith(table, value)).toBe(10)
    expect(environment.initCount).toBe(1)
  })

  it("once completed, nothing keeps its invocation's session: the only session alive is the current invocation's", async () => {
    // A session waiting for un-awaited statements is watched for its stop; one left in the watch after
    // they completed would be kept (and looked at by every later invocation) for the process's life.
    const { dsn } = await createTestUser('forgetheld')
    const environment = await startHandler({ databaseUrl: dsn() }, { timeoutMs: 5_000 })
    for (let i = 0; i < 3; i++) await environment.invoke({ action: 'forget', sql: 'SELECT SLEEP(0.05)' })
    await environment.invoke({ action: 'query', sql: 'SELECT 1' })
    const outcome = await environment.invoke({ action: 'sessions' })
    expect(outcome.ok ? outcome.result : outcome.error).toEqual({ sessions: 1 })
  })

  it('sent after the answer (from a timer), it is refused with a warning and the runtime goes on', async () => {
    const { dsn } = await createTestUser('forgetlate')
    const environment = await startHandler({ databaseUrl: dsn() }, { timeoutMs: 5_000 })
    const value = `late-${randomBytes(3).toString('hex')}`
    const first = await environment.invoke({
      action: 'late',
      sql: `INSERT INTO ${table} (v) VALUES (?)`,
      values: [value],
    })
    expect(first.ok).toBe(true)
    const second = await environment.invoke({ action: 'stats' })
    expect(second.ok).toBe(true)
    if (!second.ok) return
    const { logged } = second.result as { logged: { event: string; level: string }[] }
    expect(logged.filter((event) => event.event === 'late-statement')).toEqual([
      expect.objectContaining({ level: 'warn', event: 'late-statement' }),
    ])
    // Refused, not sent: a statement sent after its invocation could run while the environment is
    // frozen, or never.
    expect(await countRowsWith(table, value)).toBe(0)
    expect(environment.initCount).toBe(1)
  })
})
