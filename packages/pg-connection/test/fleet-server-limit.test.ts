import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { waitFor } from '@thaw/test-support'
import pg from 'pg'
import { call, setUpTestFile, startHandler } from './helpers.ts'
import { type PrivatePostgres, startPrivatePostgres } from './private-postgres.ts'

// fleet.giveBackAbove against the server's own limit, on a private PostgreSQL with max_connections 8:
// a role without CONNECTION LIMIT may use 8 - superuser_reserved_connections (3) = 5 sessions, and
// that is what thaw measures against. Three client backends (the admin's, one other session of the
// role, thaw's) are 3/5, at least half: given back; they would be 3/8, under half, were the reserved
// slots counted as the role's.

let server: PrivatePostgres
const role = 'pgfleet_server_limit'
const password = 'fleet-server-limit'
beforeAll(async () => {
  server = await startPrivatePostgres({ max_connections: 8 })
  await server.admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`)
}, 60_000)
setUpTestFile()
afterAll(() => server?.stop())

const url = () => `postgres://${role}:${password}@127.0.0.1:${server.port}/postgres`
const rolePids = async () =>
  (
    await server.admin.query('SELECT pid FROM pg_stat_activity WHERE usename = $1 ORDER BY pid', [role])
  ).rows.map((row) => Number(row.pid))
type Answer = { rows: { pid: number }[] }
const whoAmI = { action: 'query', sql: 'SELECT pg_backend_pid() AS pid' }

describe('fleet.giveBackAbove and the server limit', () => {
  it('keeps a session opened at 2 of the 5 slots a role may use, and gives back one opened at 3 of 5', async () => {
    const environment = await startHandler({ url: url() })
    const kept = await call<Answer>(environment, whoAmI)
    expect(environment.isFrozen).toBe(true)
    expect(await rolePids()).toEqual([kept.rows[0]?.pid])
    await environment.shutdown()
    await waitFor(async () => ((await rolePids()).length === 0 ? true : undefined), {
      what: 'the first environment gone',
      withinMs: 10_000,
    })

    const other = new pg.Client({ connectionString: url() })
    other.on('error', () => {})
    await other.connect()
    try {
      const otherPid = (other as unknown as { processID: number }).processID
      const crowded = await startHandler({ url: url() })
      const first = await call<Answer>(crowded, whoAmI)
      expect(first.rows[0]?.pid).not.toBe(otherPid)
      // Closed once its invocation ended; the other session of the role untouched.
      await waitFor(
        async () => (JSON.stringify(await rolePids()) === JSON.stringify([otherPid]) ? true : undefined),
        { what: "thaw's session given back", withinMs: 10_000 },
      )
    } finally {
      await other.end()
    }
  })
})
