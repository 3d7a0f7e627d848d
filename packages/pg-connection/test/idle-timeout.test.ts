import { afterAll, describe, expect, it } from '@jest/globals'
import { admin, call, createTestRole, setUpTestFile, sleep, startHandler } from './helpers.ts'
import { type Relay, startRelay } from './relay.ts'

// Sessions that went away while the environment was frozen without a word reaching the handler:
// closed by the server's idle_session_timeout (a FIN the client sees without a round trip), or
// silently dropped (no FIN: a NAT or load balancer forgot it), which only a validation with a deadline
// finds after validateAfterIdleMs.

setUpTestFile()

interface Stats {
  connectionsOpened: number
  replacements: number
  validations: number
}
type Answer = { rows: [{ pid: number }]; stats: Stats }
const whoAmI = { action: 'query', sql: 'SELECT pg_backend_pid() AS pid' }

let relay: Relay | undefined
afterAll(() => relay?.close())

describe('idle-timeout', () => {
  it('a session the server closed for idle_session_timeout while frozen is replaced with no round trip', async () => {
    const { role, url } = await createTestRole('idle')
    await (await admin()).query(`ALTER ROLE ${role} SET idle_session_timeout = '300ms'`)
    const environment = await startHandler({ url: url() })
    const first = await call<Answer>(environment, whoAmI)
    expect(environment.isFrozen).toBe(true)
    // Frozen well past the server's idle limit: it closes the session (and sends its FIN).
    await sleep(1_000)
    const second = await call<Answer>(environment, whoAmI)
    expect(second.rows[0].pid).not.toBe(first.rows[0].pid)
    expect(second.stats.replacements).toBe(1)
    expect(second.stats.validations).toBe(0)
  })

  it('a silently dropped session (no FIN) fails its validation within validateTimeoutMs and is replaced', async () => {
    const { host, port, role } = await createTestRole('holed')
    relay = await startRelay({ host, port })
    const relayPort = relay.port
    const environment = await startHandler({
      url: `postgres://${role}@127.0.0.1:${relayPort}/${new URL(
        (await import('./helpers.ts')).pgUrl(),
      ).pathname.slice(1)}`,
      pgOptions: { validateAfterIdleMs: 0, validateTimeoutMs: 300 },
    })
    const first = await call<Answer>(environment, whoAmI)
    relay.holeOpenConnections()
    const second = await call<Answer>(environment, whoAmI)
    expect(second.rows[0].pid).not.toBe(first.rows[0].pid)
    expect(second.stats.replacements).toBe(1)
    expect(second.stats.connectionsOpened).toBe(2)
  })
})
