import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { LambdaEnvironment } from '@thaw/lambda-sim'
import type { SecretsManagerPeer } from '@thaw/test-support'
import type { SecretResult } from './fixtures/secrets-handler.ts'
import { startTestEnvironment, startTestPeer, stopStarted } from './helpers.ts'

// A real SecretsManagerClient in a real Lambda-like process, frozen with SIGSTOP between
// invocations, talking HTTP to the local peer.
let peer: SecretsManagerPeer
const secretId = 'sdk-clients/wire'

const startSecretsEnvironment = (maxAttempts: number): Promise<LambdaEnvironment> =>
  startTestEnvironment('secrets-handler', {
    env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: peer.endpoint, MAX_ATTEMPTS: String(maxAttempts) },
  })

// What the handler returned, or its error's message.
const resultOf = (outcome: Awaited<ReturnType<LambdaEnvironment['invoke']>>): SecretResult | string =>
  outcome.ok ? (outcome.result as SecretResult) : outcome.error.message
const secretValueOf = (outcome: Awaited<ReturnType<LambdaEnvironment['invoke']>>) => {
  const result = resultOf(outcome)
  return typeof result === 'string' ? result : result.value
}

beforeAll(async () => {
  peer = await startTestPeer({ secrets: { [secretId]: 'wire value' } })
})
afterAll(stopStarted)

describe('through lambda-sim, with freezes', () => {
  it('opens no connection at init, then one TCP connection for every invocation of the environment', async () => {
    const connections = peer.connections
    const calls = peer.callCount()
    const environment = await startSecretsEnvironment(1)
    expect(environment.isFrozen).toBe(true)
    expect(peer.connections).toBe(connections)
    expect(peer.callCount()).toBe(calls)
    const outcomes = []
    for (let i = 0; i < 20; i++) outcomes.push(await environment.invoke({ secretId }))
    expect(outcomes.map(secretValueOf)).toEqual(Array(20).fill('wire value'))
    expect(outcomes.filter((outcome) => outcome.coldStart)).toHaveLength(1)
    expect(peer.callCount() - calls).toBe(20)
    expect(peer.connections - connections).toBe(1)
    const last = outcomes.at(-1)
    expect(last && (resultOf(last) as SecretResult).stats).toEqual({
      built: 1,
      reused: 0,
      destroyed: 0,
      live: 1,
    })
  })

  it('gives each environment its own client and connection', async () => {
    const connections = peer.connections
    const [one, two] = await Promise.all([startSecretsEnvironment(1), startSecretsEnvironment(1)])
    for (let i = 0; i < 3; i++) {
      expect((await one.invoke({ secretId })).ok).toBe(true)
      expect((await two.invoke({ secretId })).ok).toBe(true)
    }
    expect(peer.connections - connections).toBe(2)
  })

  it('survives the peer closing the idle keep-alive socket while the environment is frozen', async () => {
    const environment = await startSecretsEnvironment(3)
    expect((await environment.invoke({ secretId })).ok).toBe(true)
    for (let round = 0; round < 5; round++) {
      const connections = peer.connections
      expect(environment.isFrozen).toBe(true)
      expect(peer.closeIdleConnections()).toBeGreaterThanOrEqual(1)
      const outcome = await environment.invoke({ secretId })
      expect(secretValueOf(outcome)).toBe('wire value')
      // A new connection replaced the closed one, and only one.
      expect(peer.connections - connections).toBe(1)
    }
    expect(environment.initCount).toBe(1)
  })

  it("surfaces errors as the SDK's typed exceptions", async () => {
    const environment = await startSecretsEnvironment(1)
    const described = await environment.invoke({ secretId: 'sdk-clients/no-such-secret' })
    expect(resultOf(described)).toEqual({
      errorName: 'ResourceNotFoundException',
      isResourceNotFoundException: true,
      httpStatusCode: 400,
    })
    const thrown = await environment.invoke({ secretId: 'sdk-clients/no-such-secret', rethrow: true })
    expect(thrown.ok).toBe(false)
    expect(!thrown.ok && thrown.error.name).toBe('ResourceNotFoundException')
    expect(!thrown.ok && thrown.error.message).toMatch(/can't find the specified secret/)
    // The environment is still healthy after its errors.
    const healthy = await environment.invoke({ secretId })
    expect(secretValueOf(healthy)).toBe('wire value')
  })
})
