import { describe, expect, it } from '@jest/globals'
import {
  admin,
  call,
  createTestRole,
  sessionsOf,
  setUpTestFile,
  startHandler,
  terminateSessions,
  waitForNoSessions,
} from './helpers.ts'

// Handlers in lambda-sim, frozen with SIGSTOP between invocations: one server session kept across
// freezes, and a session the server terminated while the environment was frozen replaced before the
// first statement, with nothing re-run.

interface Stats {
  connectionsOpened: number
  reusedInvocations: number
  replacements: number
  errors: number
}
type Answer = { rows: [{ pid: number }]; stats: Stats }
const whoAmI = { action: 'query', sql: 'SELECT pg_backend_pid() AS pid' }

setUpTestFile()

describe('reuse across freezes', () => {
  it('keeps one server session across many frozen invocations', async () => {
    const { role, url } = await createTestRole('reuse')
    const environment = await startHandler({ url: url() })
    expect(await sessionsOf(role)).toEqual([])
    const pids = new Set<number>()
    for (let i = 0; i < 6; i++) {
      const answer = await call<Answer>(environment, whoAmI)
      pids.add(answer.rows[0].pid)
      expect(environment.isFrozen).toBe(true)
    }
    expect(pids.size).toBe(1)
    expect(await sessionsOf(role)).toEqual([...pids])
    const { stats } = await call<Answer>(environment, whoAmI)
    expect(stats.connectionsOpened).toBe(1)
    expect(stats.reusedInvocations).toBe(6)
  })
})

describe('termination-while-frozen', () => {
  it('a session terminated (pg_terminate_backend) while frozen is replaced before the first statement', async () => {
    const { role, url } = await createTestRole('terminated')
    const environment = await startHandler({ url: url() })
    const first = await call<Answer>(environment, whoAmI)
    expect(environment.isFrozen).toBe(true)
    expect(await terminateSessions(role)).toBe(1)
    await waitForNoSessions(role)
    const second = await call<Answer>(environment, whoAmI)
    expect(second.rows[0].pid).not.toBe(first.rows[0].pid)
    expect(second.stats.replacements).toBe(1)
    expect(second.stats.connectionsOpened).toBe(2)
    expect(await sessionsOf(role)).toEqual([second.rows[0].pid])
  })

  it('a statement whose session is terminated mid-flight fails with 57P01 and is never re-run', async () => {
    const { role, url } = await createTestRole('midflight')
    const db = await admin()
    const table = `${role}_runs`
    await db.query(`CREATE TABLE ${table} (id serial PRIMARY KEY)`)
    await db.query(`GRANT ALL ON ${table}, ${table}_id_seq TO ${role}`)
    const environment = await startHandler({ url: url() })
    await call(environment, whoAmI)
    // The statement inserts a row, then sleeps; the session is terminated during the sleep.
    const running = call<{ error: { code: string } | null; stats: Stats }>(environment, {
      action: 'catch',
      sql: `INSERT INTO ${table} DEFAULT VALUES; SELECT pg_sleep(5)`,
    })
    const deadline = Date.now() + 10_000
    for (;;) {
      const { rows } = await db.query(
        "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND query LIKE '%pg_sleep%' AND state = 'active'",
        [role],
      )
      if (rows[0]) {
        await db.query('SELECT pg_terminate_backend($1)', [rows[0].pid])
        break
      }
      if (Date.now() > deadline) throw new Error('the statement was not seen running within 10000 ms')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const answer = await running
    expect(answer.error?.code).toBe('57P01')
    // The first statement of the text ran in the same implicit transaction: rolled back, not re-run.
    expect((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(0)
    const next = await call<Answer>(environment, whoAmI)
    expect(next.stats.connectionsOpened).toBe(2)
    expect((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(0)
    await db.query(`DROP TABLE ${table}`)
  })
})
