import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type SecretsManagerPeer, sleep, startSecretsManagerPeer } from '@thaw/test-support'
import {
  call,
  closeAdmin,
  dropTestUsers,
  killConnections,
  getSecretValueCalls as secretValueCalls,
  setPassword,
  startSecretHandler,
  stopStarted,
} from './helpers.ts'

// secret.maxAgeMs: a secret older than this is read again before the next connect, like
// @middy/secrets-manager's cacheExpiry, but lazily: no timer (a frozen environment runs none) and no
// request on a warm invocation that keeps its connection. Real SDK client over HTTP to the local
// Secrets Manager peer, real MariaDB, through lambda-sim.

interface QueryResult {
  rows: [{ id: number; user: string }]
  stats: { secretFetches: number; rotationRetries: number; connectionsOpened: number }
}
const whoAmI = { action: 'query' }

let peer: SecretsManagerPeer
beforeAll(async () => {
  peer = await startSecretsManagerPeer()
})
afterAll(async () => {
  await stopStarted()
  await dropTestUsers()
  await closeAdmin()
  await peer.close()
})

const getSecretValueCalls = (secretId: string) => secretValueCalls(peer, secretId)
const withSecret = (label: string, secret: Record<string, unknown>) =>
  startSecretHandler(peer, label, { secret })

describe('secret.maxAgeMs', () => {
  it('while fresh: no request on warm invocations, nor for a new connection', async () => {
    const { user, secretId, environment } = await withSecret('fresh', { maxAgeMs: 600_000 })
    await call<QueryResult>(environment, whoAmI)
    await call<QueryResult>(environment, whoAmI)
    expect(await killConnections(user)).toBe(1)
    const third = await call<QueryResult>(environment, whoAmI)
    expect(third.stats).toMatchObject({ connectionsOpened: 2, secretFetches: 1 })
    expect(getSecretValueCalls(secretId)).toBe(1)
  })

  it('once older: read again before the next connect, and the new password is used at once', async () => {
    const { user, password, secretId, environment, setSecret } = await withSecret('stale', { maxAgeMs: 300 })
    await call<QueryResult>(environment, whoAmI)
    expect(getSecretValueCalls(secretId)).toBe(1)
    // Past the age, a warm invocation that keeps its connection still sends nothing.
    await sleep(400)
    await call<QueryResult>(environment, whoAmI)
    expect(getSecretValueCalls(secretId)).toBe(1)
    // The password changes on the server and in the secret while frozen, and the connection dies.
    const rotated = `${password}-next`
    await setPassword(user, rotated)
    setSecret(rotated)
    expect(await killConnections(user)).toBe(1)
    const after = await call<QueryResult>(environment, whoAmI)
    expect(after.rows[0].user).toBe(`${user}@%`)
    // One read for the age, none for a refusal: the fresh secret was used for the connect.
    expect(getSecretValueCalls(secretId)).toBe(2)
    expect(after.stats).toMatchObject({ secretFetches: 2, rotationRetries: 0, connectionsOpened: 2 })
  })

  it('is refused past the timer limit, naming the option', async () => {
    const { default: dbConnection } = await import('../src/index.ts')
    expect(() =>
      dbConnection({ config: 'mysql://u@h/d', secret: { secretId: 's', maxAgeMs: 2 ** 31 } } as never),
    ).toThrow("option 'secret.maxAgeMs' must be an integer from 1 to 2147483647 (milliseconds)")
  })
})
