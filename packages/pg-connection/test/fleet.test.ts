import { describe, expect, it } from '@jest/globals'
import { waitFor } from '@thaw/test-support'
import pg from 'pg'
import { pgConnectionStats } from '../src/index.ts'
import {
  admin,
  call,
  createTestRole,
  inProcessFunction,
  sessionsOf,
  setUpTestFile,
  startHandler,
} from './helpers.ts'

// Sharing a server with a fleet (fleet.ts), on the real server with frozen lambda-sim environments:
// the server closes what a frozen environment holds (idle_session_timeout, never above the session's
// own), a connection opened while its role is crowded goes back after its invocation, a burst larger
// than a role's CONNECTION LIMIT succeeds because slots circulate, and nobody else's session is ever
// ended. (Behind a pooler: proxy-fleet.test.ts.)

setUpTestFile()

type Answer = { rows: { pid: number; idle: string }[]; stats: { givenBack: number; resets: number } }
const whoAmI = {
  action: 'query',
  sql: "SELECT pg_backend_pid() AS pid, current_setting('idle_session_timeout') AS idle",
}

// A session of the role that is not thaw's: another application's idle pool.
const bystanderOf = async (url: string) => {
  const client = new pg.Client({ connectionString: url })
  let ended = false
  client.on('error', () => {})
  client.on('end', () => {
    ended = true
  })
  await client.connect()
  const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number
  return { pid, ended: () => ended, stop: () => client.end() }
}

const waitForSessions = (role: string, expected: number[], what: string) =>
  waitFor(
    async () => {
      const pids = await sessionsOf(role)
      return JSON.stringify(pids) === JSON.stringify(expected) ? pids : undefined
    },
    { what, withinMs: 15_000, everyMs: 50 },
  )

describe('fleet.idleTimeoutMs', () => {
  it('the server closes the session a frozen environment holds; later sessions get the limit at startup and keep it through DISCARD ALL', async () => {
    const { role, url } = await createTestRole('fleetidle')
    const environment = await startHandler({ url: url(), pgOptions: { fleet: { idleTimeoutMs: 2_000 } } })
    const first = await call<Answer>(environment, whoAmI)
    expect(first.rows[0]?.idle).toBe('2s')
    expect(environment.isFrozen).toBe(true)
    // Nothing runs in the frozen process: the server alone ends the session.
    await waitForSessions(role, [], 'the frozen session closed by the server')
    const second = await call<Answer>(environment, whoAmI)
    expect(second.rows[0]?.pid).not.toBe(first.rows[0]?.pid)
    expect(second.rows[0]?.idle).toBe('2s')
    // A reported setting change: DISCARD ALL after the invocation, which resets to the startup value.
    await call(environment, { action: 'query', sql: "SET application_name = 'changed'" })
    const third = await call<Answer>(environment, whoAmI)
    expect(third.stats.resets).toBeGreaterThanOrEqual(1)
    expect(third.rows[0]?.idle).toBe('2s')
  })

  it("never raises the session's own idle_session_timeout (the role's, here)", async () => {
    const { role, url } = await createTestRole('fleetlower')
    await (await admin()).query(`ALTER ROLE ${role} SET idle_session_timeout = '700ms'`)
    const run = inProcessFunction({ config: url() })
    const read = () =>
      run(async (db) => (await db.query(whoAmI.sql)).rows[0] as { pid: number; idle: string })
    const first = await read()
    expect(first.idle).toBe('700ms')
    await waitForSessions(role, [], 'the idle session closed by the server')
    const second = await read()
    expect(second.pid).not.toBe(first.pid)
    expect(second.idle).toBe('700ms')
  })
})

describe('fleet.giveBackAbove', () => {
  it("gives back a connection opened while its role was at half its CONNECTION LIMIT, and never ends the role's other sessions", async () => {
    const { role, url } = await createTestRole('fleetcrowd')
    await (await admin()).query(`ALTER ROLE ${role} CONNECTION LIMIT 4`)
    const bystander = await bystanderOf(url())
    try {
      const environment = await startHandler({ url: url() })
      const first = await call<Answer>(environment, whoAmI)
      // 2 of 4 (the bystander's and its own) when it opened: closed once its invocation ended.
      await waitForSessions(role, [bystander.pid], "thaw's session given back")
      const second = await call<Answer>(environment, whoAmI)
      expect(second.rows[0]?.pid).not.toBe(first.rows[0]?.pid)
      expect(second.stats.givenBack).toBe(1)
      expect(bystander.ended()).toBe(false)
      expect(await sessionsOf(role)).toContain(bystander.pid)
    } finally {
      await bystander.stop()
    }
  })

  it('keeps a connection opened while the role had room through the freeze', async () => {
    const { role, url } = await createTestRole('fleetroom')
    await (await admin()).query(`ALTER ROLE ${role} CONNECTION LIMIT 10`)
    const environment = await startHandler({ url: url() })
    const first = await call<Answer>(environment, whoAmI)
    expect(environment.isFrozen).toBe(true)
    expect(await sessionsOf(role)).toEqual([first.rows[0]?.pid])
    const second = await call<Answer>(environment, whoAmI)
    expect(second.rows[0]?.pid).toBe(first.rows[0]?.pid)
    expect(second.stats.givenBack).toBe(0)
  })

  // Four environments, a role allowed two sessions, three bursts: without giving back, the two that
  // connect first keep both slots through their freezes and the others wait in vain.
  const burst = async (label: string, fleet?: Record<string, unknown>) => {
    const { role, url } = await createTestRole(label)
    await (await admin()).query(`ALTER ROLE ${role} CONNECTION LIMIT 2`)
    const pgOptions = { connectRetry: { baseDelayMs: 20, maxDelayMs: 200, deadlineMarginMs: 300 }, fleet }
    const environments = await Promise.all(
      Array.from({ length: 4 }, () => startHandler({ url: url(), pgOptions }, { timeoutMs: 4_000 })),
    )
    let failed = 0
    for (let wave = 0; wave < 3; wave++) {
      const outcomes = await Promise.all(
        environments.map((environment) =>
          environment.invoke({ action: 'query', sql: 'SELECT pg_sleep(0.1)' }),
        ),
      )
      failed += outcomes.filter((outcome) => !outcome.ok).length
    }
    return failed
  }

  it('a burst larger than the CONNECTION LIMIT succeeds: the slots circulate', async () => {
    expect(await burst('fleetburst')).toBe(0)
    expect(await burst('fleetnoburst', { idleTimeoutMs: 0, giveBackAbove: false })).toBeGreaterThan(0)
  })
})

describe('fleet off', () => {
  it('with both halves off, nothing is read or set and the session is kept', async () => {
    const { role, url } = await createTestRole('fleetoff')
    await (await admin()).query(`ALTER ROLE ${role} CONNECTION LIMIT 2`)
    const before = pgConnectionStats().givenBack
    const run = inProcessFunction({ config: url(), fleet: { idleTimeoutMs: 0, giveBackAbove: false } })
    const first = await run(
      async (db) => (await db.query(whoAmI.sql)).rows[0] as { pid: number; idle: string },
    )
    expect(first.idle).toBe('0')
    const second = await run(async (db) => (await db.query(whoAmI.sql)).rows[0] as { pid: number })
    expect(second.pid).toBe(first.pid)
    expect(pgConnectionStats().givenBack).toBe(before)
    expect(await sessionsOf(role)).toEqual([first.pid])
  })
})
