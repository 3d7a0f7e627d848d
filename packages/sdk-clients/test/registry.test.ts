// The registry as a caller sees it: its counters, destroy in any order and twice, destroyClients, the
// keep-alive refusal through getClient, and a key that never holds a secret. Written to kill the
// mutants `pnpm mutate sdk-clients` found alive; each test says what a caller would see.
import { Agent as HttpAgent } from 'node:http'
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { peerConfig, type SecretsManagerPeer, waitFor } from '@thaw/test-support'
import fc from 'fast-check'
import { destroyClients, getClient, sdkClientsStats } from '../src/index.ts'
import { startTestPeer, stopStarted } from './helpers.ts'

let peer: SecretsManagerPeer
beforeAll(async () => {
  peer = await startTestPeer({ secrets: { 'sdk-clients/registry': 'value' } })
})
afterAll(stopStarted)

const get = (client: SecretsManagerClient) =>
  client.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/registry' }))

// Each test asks for configurations of its own (maxAttempts tells them apart).
let nextAttempts = 100
const freshConfig = () => peerConfig(peer, { maxAttempts: nextAttempts++ })

describe('the counters', () => {
  it('count a build, a reuse, a destroy and what is live, and a second destroy of one client not at all', () => {
    const before = sdkClientsStats()
    const config = freshConfig()
    const client = getClient(SecretsManagerClient, config)
    expect(sdkClientsStats()).toEqual({ ...before, built: before.built + 1, live: before.live + 1 })
    expect(getClient(SecretsManagerClient, config)).toBe(client)
    expect(getClient(SecretsManagerClient, { ...config })).toBe(client)
    expect(sdkClientsStats()).toEqual({
      ...before,
      built: before.built + 1,
      reused: before.reused + 2,
      live: before.live + 1,
    })
    client.destroy()
    const destroyed = { ...before, built: before.built + 1, reused: before.reused + 2 }
    expect(sdkClientsStats()).toEqual({ ...destroyed, destroyed: before.destroyed + 1, live: before.live })
    client.destroy()
    expect(sdkClientsStats()).toEqual({ ...destroyed, destroyed: before.destroyed + 1, live: before.live })
    // The next request for it builds a new one.
    expect(getClient(SecretsManagerClient, config)).not.toBe(client)
  })
})

describe('destroy on a shared request handler', () => {
  it('keeps the handler open for the client built first when the one built last is destroyed first', async () => {
    const requestHandler = new NodeHttpHandler({ httpAgent: new HttpAgent({ keepAlive: true }) })
    const first = getClient(SecretsManagerClient, { ...freshConfig(), requestHandler })
    const last = getClient(SecretsManagerClient, { ...freshConfig(), requestHandler })
    expect((await get(first)).SecretString).toBe('value')
    const connections = peer.connections
    const open = peer.openConnections
    last.destroy()
    // The first client still talks over the socket it had: the handler was not destroyed.
    expect((await get(first)).SecretString).toBe('value')
    expect(peer.connections).toBe(connections)
    first.destroy()
    await waitFor(() => (peer.openConnections === open - 1 ? true : undefined), {
      what: 'the shared socket closed once its last client was destroyed',
      withinMs: 10_000,
    })
  })
})

describe('destroyClients', () => {
  it('destroys every client held, says how many, and the next request builds afresh', async () => {
    const a = getClient(SecretsManagerClient, freshConfig())
    const config = freshConfig()
    const b = getClient(SecretsManagerClient, config)
    await get(b)
    const open = peer.openConnections
    const { live, destroyed } = sdkClientsStats()
    expect(live).toBeGreaterThanOrEqual(2)
    expect(destroyClients()).toBe(live)
    expect(sdkClientsStats()).toMatchObject({ live: 0, destroyed: destroyed + live })
    // b's own handler is closed with it.
    await waitFor(() => (peer.openConnections === open - 1 ? true : undefined), {
      what: "the destroyed client's socket closed",
      withinMs: 10_000,
    })
    const again = getClient(SecretsManagerClient, config)
    expect(again).not.toBe(b)
    expect(again).not.toBe(a)
    expect((await get(again)).SecretString).toBe('value')
    expect(destroyClients()).toBe(1)
    expect(destroyClients()).toBe(0)
  })
})

describe('getClient and a NodeHttpHandler without keep-alive', () => {
  it('refuses the client once the handler has resolved, naming the config option', async () => {
    const config = {
      ...freshConfig(),
      requestHandler: new NodeHttpHandler({ httpAgent: new HttpAgent() }),
    }
    // Its agents are known a microtask after the build: the refusal comes with the next call.
    getClient(SecretsManagerClient, config)
    const refusal = await waitFor(
      () => {
        try {
          getClient(SecretsManagerClient, config)
          return undefined
        } catch (error) {
          return error as Error
        }
      },
      { what: 'getClient refusing the keep-alive-less handler', withinMs: 10_000 },
    )
    expect(refusal).toMatchObject({ name: 'SdkClientsError', code: 'THAW_SDK_CLIENTS_KEEP_ALIVE_OFF' })
    expect(refusal.message).toMatch(
      /^@thaw\/sdk-clients: option 'config\.requestHandler \(NodeHttpHandler\) httpAgent' has keepAlive false/,
    )
    expect(() => getClient(SecretsManagerClient, config)).toThrow(refusal)
  })
})

describe('the registry key', () => {
  // The registry is found through a global symbol (the README names it) and keeps each key as long
  // as its client: a heap snapshot or a debugger must not find a secret key or a session token there.
  const registry = (globalThis as Record<symbol, unknown>)[Symbol.for('@thaw/sdk-clients.registry.v2')] as {
    byClass: Map<unknown, Map<string, unknown>>
  }
  const keys = () => [...registry.byClass.values()].flatMap((byKey) => [...byKey.keys()])

  it('tells secrets apart without holding them (generated)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 8, maxLength: 40 }),
        fc.string({ minLength: 8, maxLength: 40 }),
        fc.string({ minLength: 8, maxLength: 40 }),
        (secretAccessKey, otherSecret, sessionToken) => {
          fc.pre(secretAccessKey !== otherSecret && secretAccessKey !== sessionToken)
          const base = freshConfig()
          const withSecret = (secret: string, token?: string) =>
            getClient(SecretsManagerClient, {
              ...base,
              credentials: { accessKeyId: 'AKIDREGISTRY', secretAccessKey: secret, sessionToken: token },
            })
          const client = withSecret(secretAccessKey, sessionToken)
          expect(withSecret(secretAccessKey, sessionToken)).toBe(client)
          expect(withSecret(otherSecret, sessionToken)).not.toBe(client)
          expect(withSecret(secretAccessKey, `${sessionToken}!`)).not.toBe(client)
          for (const key of keys()) {
            for (const secret of [secretAccessKey, otherSecret, sessionToken]) {
              expect(key).not.toContain(JSON.stringify(secret))
            }
          }
        },
      ),
      { numRuns: 30 },
    )
  })
})
