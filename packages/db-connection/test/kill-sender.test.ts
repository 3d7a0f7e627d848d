import { describe, expect, it } from '@jest/globals'
import { waitFor } from '@thaw/test-support'
import { closePools, type DbConnectionContext, dbConnectionStats } from '../src/index.ts'
import { connectionIds, createTestUser, inProcessFunction, setUpTestFile, untilRunning } from './helpers.ts'

// The connection a KILL was sent from (release.ts: a statement still running when its invocation ended
// is stopped from a second pool connection, which then stays in the pool) is the one connection a warm
// invocation takes that was opened outside a lease. Its first lease must prepare it as any new
// connection is prepared: session tracking and the session idle limit (one SET), and the server's
// fullness read that decides whether it goes back after its invocation. In-process, so that mutation
// testing sees it: lambda-sim's statement-deadline test reuses it in a child process.

const rows = setUpTestFile({ table: 'dbc_killsender', cleanUp: () => closePools() })

type Db = DbConnectionContext['db']

const connectionId = async (db: Db) => {
  const [result] = await db.query('SELECT CONNECTION_ID() AS id')
  return Number((result as [{ id: number }])[0].id)
}

// An invocation that returns while its statement runs on the server: its end waits for the statement
// until the deadline less the stop's margin (a second here), then thaw abandons the connection and
// KILLs its session from a new one. Resolves with the two connections' ids once the killed session has
// left the server's process list.
const abandonOne = async (invoke: ReturnType<typeof inProcessFunction>, user: string) => {
  const abandoned = await invoke(async (db) => {
    const id = await connectionId(db)
    void db.query(`SELECT BENCHMARK(1000000000, MD5('thaw'))`).catch(() => {})
    await untilRunning(id, 'BENCHMARK')
    return id
  })
  const sender = await waitFor(
    async () => {
      const ids = await connectionIds(user)
      return ids.length === 1 && ids[0] !== abandoned ? ids[0] : undefined
    },
    // A BENCHMARK runs on after its client has gone (a SLEEP would notice within 5 s): without the
    // KILL the session would still be there.
    { what: 'the KILLed session gone, the connection the KILL was sent from left', withinMs: 5_000 },
  )
  return { abandoned, sender }
}

describe('the connection a KILL was sent from', () => {
  it('is tracked and idle-limited before its first statement, so a write on it costs no reset', async () => {
    const { user, dsn } = await createTestUser('killtrack')
    const invoke = inProcessFunction({ config: dsn(), fleet: { idleTimeoutMs: 7_000 } }, 1_500)
    const { sender } = await abandonOne(invoke, user)
    const resetsBefore = dbConnectionStats().resets
    const seen = await invoke(async (db) => {
      await db.query(`INSERT INTO ${rows} (v) VALUES ('kill-sender')`)
      const [result] = await db.query(
        'SELECT CONNECTION_ID() AS id, @@SESSION.session_track_state_change AS tracked, @@SESSION.wait_timeout AS idle',
      )
      const [row] = result as [{ id: number; tracked: number; idle: number }]
      return { id: Number(row.id), tracked: Number(row.tracked), idle: Number(row.idle) }
    })
    // The same connection, asked to report session changes and to close after 7 s idle.
    expect(seen).toEqual({ id: sender, tracked: 1, idle: 7 })
    // Tracked, the INSERT reported no session change: released as it was. (Untracked, anything but a
    // plain read would have cost a COM_RESET_CONNECTION.)
    expect(dbConnectionStats().resets).toBe(resetsBefore)
    expect(await connectionIds(user)).toEqual([sender])
  })

  it('goes back to the server after its invocation when the server is fuller than giveBackAbove', async () => {
    const { user, dsn } = await createTestUser('killcrowd')
    // Any server is fuller than this: every connection thaw opens is crowded, the KILL's too.
    const invoke = inProcessFunction({ config: dsn(), fleet: { giveBackAbove: 0.000_001 } }, 1_500)
    const { sender } = await abandonOne(invoke, user)
    const givenBackBefore = dbConnectionStats().givenBack
    expect(await invoke(connectionId)).toBe(sender)
    expect(dbConnectionStats().givenBack).toBe(givenBackBefore + 1)
    await waitFor(async () => ((await connectionIds(user)).length === 0 ? true : undefined), {
      what: 'the connection closed on the server',
    })
  })
})
