import { beforeAll, describe, expect, it } from '@jest/globals'
import { pgConnectionStats } from '../src/index.ts'
import { admin, createTestRole, inProcessFunction, sessionsOf, setUpTestFile } from './helpers.ts'
import { type Pgbouncer, startPgbouncer } from './pgbouncer.ts'

// `fleet` behind a transaction pooler (a real pgbouncer, pool_mode=transaction, default_pool_size=2):
// pg_stat_activity counts the pooler's server connections, not thaw's clients, so nothing is read,
// set or given back there: the pooler's two server sessions fill the role's CONNECTION LIMIT of 2, and
// thaw's connections stay open all the same.

let bouncer: Pgbouncer
let testRole: Awaited<ReturnType<typeof createTestRole>>
beforeAll(async () => {
  testRole = await createTestRole('pfleet')
  await (await admin()).query(`ALTER ROLE ${testRole.role} CONNECTION LIMIT 2`)
  bouncer = await startPgbouncer({ host: testRole.host, port: testRole.port, database: testRole.database }, [
    testRole.role,
  ])
})
setUpTestFile(() => bouncer?.stop())

// A pool of `max` clients to the pooler.
const pooled = (max: number) => ({
  host: testRole.host,
  port: bouncer.port,
  user: testRole.role,
  database: testRole.database,
  max,
})

describe("fleet behind a transaction pooler (proxy: 'transaction')", () => {
  it("reads no limits, sets no idle limit and gives nothing back: the crowding it would see is the pooler's", async () => {
    const { role, url } = testRole
    const before = pgConnectionStats()
    const run = inProcessFunction({ config: url(bouncer.port), proxy: 'transaction' })
    // Two concurrent invocations: the pooler opens both its server connections, the role's limit.
    const concurrent = inProcessFunction({
      config: pooled(2),
      proxy: 'transaction',
    })
    const sleepers = await Promise.all(
      [0, 1].map(() =>
        concurrent(
          async (db) => (await db.query('SELECT pg_sleep(0.2), pg_backend_pid() AS pid')).rows[0]?.pid,
        ),
      ),
    )
    expect(new Set(sleepers).size).toBe(2)
    expect((await sessionsOf(role)).length).toBe(2)
    for (let invocation = 0; invocation < 3; invocation++) {
      const idle = await run(
        async (db) =>
          (await db.query("SELECT current_setting('idle_session_timeout') AS idle")).rows[0]?.idle,
      )
      // The server's own setting: the fleet's would have stayed on the pooler's server connection.
      expect(idle).toBe('0')
    }
    const after = pgConnectionStats()
    expect(after.givenBack).toBe(before.givenBack)
    // One client connection to the pooler per pool, opened once and kept.
    expect(after.connectionsOpened - before.connectionsOpened).toBe(3)
    // No statement of the fleet reached the server.
    const { rows } = await (await admin()).query('SELECT query FROM pg_stat_activity WHERE usename = $1', [
      role,
    ])
    for (const { query } of rows) expect(query).not.toMatch(/pg_stat_activity|set_config/)
  })
})

describe('fleet through a pooler without proxy mode', () => {
  it('connects without the idle limit once the pooler refused it as a startup option', async () => {
    const events: string[] = []
    const run = inProcessFunction({ config: pooled(1), logger: (event) => events.push(event.event) })
    // The role is full of the pooler's sessions: each connection is given back after its invocation,
    // and every later one is opened with the idle limit the first learned, which pgbouncer refuses.
    for (let invocation = 0; invocation < 3; invocation++) {
      expect(await run(async (db) => (await db.query('SELECT 1 AS one')).rows)).toEqual([{ one: 1 }])
    }
    expect(events.filter((event) => event === 'fleet-idle-limit-refused')).toHaveLength(1)
    expect(events).not.toContain('connect-failed')
  })
})
