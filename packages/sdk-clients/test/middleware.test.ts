import { Agent as HttpAgent } from 'node:http'
import { S3Client } from '@aws-sdk/client-s3'
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { peerConfig, type SecretsManagerPeer, testCredentials } from '@thaw/test-support'
import fc from 'fast-check'
import sdkClients, {
  type AwsClient,
  type ClientSpec,
  getClient,
  type SdkClientsMiddleware,
  sdkClientsStats,
} from '../src/index.ts'
import { startTestPeer, stopStarted } from './helpers.ts'
import { lambdaContext } from './invoke.ts'

let peer: SecretsManagerPeer
beforeAll(async () => {
  peer = await startTestPeer({ secrets: { 'sdk-clients/middleware': 'value' } })
})
afterAll(stopStarted)

const get = (client: SecretsManagerClient) =>
  client.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/middleware' }))

// A handler that returns the clients it was given.
const clientsHandler = <TClients extends Record<string, ClientSpec>>(
  middleware: SdkClientsMiddleware<TClients>,
) =>
  middy()
    .use(middleware)
    .handler(async (_event: unknown, context) => context.clients)

describe('one client per configuration', () => {
  it('builds at construction, then hands the same instances to every invocation', async () => {
    const built = sdkClientsStats().built
    const handler = clientsHandler(
      sdkClients({ clients: { secrets: SecretsManagerClient }, config: peerConfig(peer) }),
    )
    expect(sdkClientsStats().built).toBe(built + 1)
    const first = await handler({}, lambdaContext())
    const second = await handler({}, lambdaContext())
    expect(first.secrets).toBeInstanceOf(SecretsManagerClient)
    expect(second.secrets).toBe(first.secrets)
    expect(sdkClientsStats().built).toBe(built + 1)
  })

  it('shares one instance between middlewares and getClient asking for the same thing, key order aside', async () => {
    const config = peerConfig(peer, { maxAttempts: 2 })
    const reordered = Object.fromEntries(Object.entries(config).reverse())
    const a = await clientsHandler(sdkClients({ clients: { secrets: SecretsManagerClient }, config }))(
      {},
      lambdaContext(),
    )
    const b = await clientsHandler(
      sdkClients({
        clients: { other: { client: SecretsManagerClient, config: reordered } },
        config: { region: undefined },
      }),
    )({}, lambdaContext())
    expect(b.other).toBe(a.secrets)
    expect(getClient(SecretsManagerClient, reordered)).toBe(a.secrets)
  })

  it('merges the shared config under each client config, and gives different configs different clients', async () => {
    const handler = clientsHandler(
      sdkClients({
        clients: {
          one: SecretsManagerClient,
          two: { client: SecretsManagerClient, config: { maxAttempts: 3 } },
          s3: { client: S3Client, config: { forcePathStyle: true } },
        },
        config: peerConfig(peer),
      }),
    )
    const clients = await handler({}, lambdaContext())
    expect(clients.one).not.toBe(clients.two)
    expect(await clients.one.config.maxAttempts()).toBe(1)
    expect(await clients.two.config.maxAttempts()).toBe(3)
    expect(clients.s3.config.forcePathStyle).toBe(true)
    expect(await clients.s3.config.region()).toBe('us-east-1')
    expect((await get(clients.two)).SecretString).toBe('value')
  })

  it('keys functions in the config by identity: two credential providers, two clients', () => {
    const provider = async () => ({ accessKeyId: 'AKIDONE', secretAccessKey: 'x' })
    const same = getClient(SecretsManagerClient, { ...peerConfig(peer), credentials: provider })
    expect(getClient(SecretsManagerClient, { ...peerConfig(peer), credentials: provider })).toBe(same)
    const other = async () => ({ accessKeyId: 'AKIDONE', secretAccessKey: 'x' })
    expect(getClient(SecretsManagerClient, { ...peerConfig(peer), credentials: other })).not.toBe(same)
  })

  // An undefined value is a key left out, for the registry as for the SDK.
  it('gives { region: undefined } the client of {}, and lets it not hide the shared region', async () => {
    const shared = peerConfig(peer, { maxAttempts: 8 })
    const plain = await clientsHandler(
      sdkClients({ clients: { secrets: { client: SecretsManagerClient, config: {} } }, config: shared }),
    )({}, lambdaContext())
    const withUndefined = await clientsHandler(
      sdkClients({
        clients: { secrets: { client: SecretsManagerClient, config: { region: undefined } } },
        config: shared,
      }),
    )({}, lambdaContext())
    expect(withUndefined.secrets).toBe(plain.secrets)
    expect(await withUndefined.secrets.config.region()).toBe(shared.region)
    const { region: _, ...withoutRegion } = shared
    expect(getClient(SecretsManagerClient, { ...withoutRegion, region: undefined })).toBe(
      getClient(SecretsManagerClient, withoutRegion),
    )
    // Nested too: the registry key (@thaw/util's configurationKey) drops an undefined value.
    expect(
      getClient(SecretsManagerClient, {
        ...withoutRegion,
        credentials: { ...testCredentials, sessionToken: undefined },
      }),
    ).toBe(getClient(SecretsManagerClient, withoutRegion))
  })

  it('shares a client whatever the key order and the undefined keys, and only for the same configuration (generated)', () => {
    const built = sdkClientsStats().built
    const keys = ['region', 'maxAttempts', 'endpoint', 'customUserAgent', 'systemClockOffset'] as const
    const settingFor = (key: string, n: number): unknown =>
      key === 'maxAttempts' || key === 'systemClockOffset'
        ? n + 100
        : key === 'endpoint'
          ? `${peer.endpoint}/${n}`
          : `${key}-${n}`
    const configArbitrary = fc
      .dictionary(fc.constantFrom(...keys), fc.nat(3))
      .map((picked) =>
        Object.fromEntries(Object.entries(picked).map(([key, n]) => [key, settingFor(key, n)])),
      )
    const canonical = (config: Record<string, unknown>) => JSON.stringify(Object.entries(config).sort())
    const configurations = new Set<string>()
    fc.assert(
      fc.property(
        configArbitrary,
        fc.subarray([...keys]),
        fc.boolean(),
        configArbitrary,
        (config, undefinedKeys, reverse, other) => {
          const noisy: Record<string, unknown> = { ...config }
          for (const key of undefinedKeys) if (!(key in config)) noisy[key] = undefined
          const reordered = Object.fromEntries(
            reverse ? Object.entries(noisy).reverse() : Object.entries(noisy),
          )
          const client = getClient(SecretsManagerClient, { ...config, credentials: testCredentials })
          expect(getClient(SecretsManagerClient, { ...reordered, credentials: testCredentials })).toBe(client)
          const same = canonical(other) === canonical(config)
          expect(getClient(SecretsManagerClient, { ...other, credentials: testCredentials }) === client).toBe(
            same,
          )
          configurations.add(canonical(config)).add(canonical(other))
        },
      ),
      { numRuns: 200 },
    )
    // One client built per configuration, none for a reordering or an undefined key.
    expect(sdkClientsStats().built - built).toBe(configurations.size)
  })

  it('puts the clients under contextKey', async () => {
    const handler = middy()
      .use(
        sdkClients({
          clients: { secrets: SecretsManagerClient },
          config: peerConfig(peer),
          contextKey: 'aws',
        }),
      )
      .handler(async (_event: unknown, context) => (await get(context.aws.secrets)).SecretString)
    expect(await handler({}, lambdaContext())).toBe('value')
  })

  it('makes no request when it builds the clients', () => {
    const before = peer.calls.length
    const connections = peer.connections
    sdkClients({ clients: { a: SecretsManagerClient }, config: peerConfig(peer, { maxAttempts: 4 }) })
    expect(peer.calls.length).toBe(before)
    expect(peer.connections).toBe(connections)
  })
})

describe('capture', () => {
  it('wraps each client once, however many middlewares ask for it', async () => {
    const captured: AwsClient[] = []
    const capture = <T extends AwsClient>(client: T): T => {
      captured.push(client)
      return client
    }
    const config = peerConfig(peer, { maxAttempts: 5 })
    const first = await clientsHandler(
      sdkClients({ clients: { secrets: SecretsManagerClient }, config, capture }),
    )({}, lambdaContext())
    await clientsHandler(sdkClients({ clients: { secrets: SecretsManagerClient }, config, capture }))(
      {},
      lambdaContext(),
    )
    expect(captured).toEqual([first.secrets])
  })

  it('hands out what capture returns, and a per-client capture overrides the shared one', async () => {
    const tagged = new WeakSet<object>()
    const tag = <T extends AwsClient>(client: T): T => {
      tagged.add(client)
      return client
    }
    const other = <T extends AwsClient>(client: T): T => client
    const clients = await clientsHandler(
      sdkClients({
        clients: { a: SecretsManagerClient, b: { client: SecretsManagerClient, capture: other } },
        config: peerConfig(peer, { maxAttempts: 6 }),
        capture: tag,
      }),
    )({}, lambdaContext())
    expect(tagged.has(clients.a)).toBe(true)
    expect(tagged.has(clients.b)).toBe(false)
  })
})

describe('destroy', () => {
  // Two clients of different configurations built on one request handler (one agent, one socket pool).
  const sharedHandlerConfig = () => {
    const requestHandler = new NodeHttpHandler({ httpAgent: new HttpAgent({ keepAlive: true }) })
    return { ...peerConfig(peer), requestHandler }
  }

  it('the SDK alone: destroying a client breaks a sibling request on the shared handler (the hazard)', async () => {
    const { requestHandler, ...config } = sharedHandlerConfig()
    const a = new SecretsManagerClient({ ...config, requestHandler })
    const b = new SecretsManagerClient({ ...config, requestHandler, maxAttempts: 1 })
    await get(b) // a keep-alive socket to reuse
    peer.latencyMs = 150
    const inFlight = get(b).then(
      () => 'ok',
      (error: Error) => error.name,
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    a.destroy()
    peer.latencyMs = 0
    expect(await inFlight).not.toBe('ok')
  })

  it('with thaw: a sibling request on the shared handler survives, and its socket stays open', async () => {
    const config = sharedHandlerConfig()
    const handler = clientsHandler(
      sdkClients({
        clients: { a: SecretsManagerClient, b: { client: SecretsManagerClient, config: { maxAttempts: 1 } } },
        config: { ...config, maxAttempts: 2 },
      }),
    )
    const clients = await handler({}, lambdaContext())
    await get(clients.b)
    const connections = peer.connections
    peer.latencyMs = 150
    const inFlight = get(clients.b)
    await new Promise((resolve) => setTimeout(resolve, 50))
    clients.a.destroy()
    peer.latencyMs = 0
    expect((await inFlight).SecretString).toBe('value')
    await get(clients.b)
    expect(peer.connections).toBe(connections)
  })

  it('rebuilds a destroyed client on the next invocation, and closes its sockets when it was alone', async () => {
    const built = sdkClientsStats().built
    const handler = clientsHandler(
      sdkClients({
        clients: { secrets: SecretsManagerClient },
        config: peerConfig(peer, { maxAttempts: 7 }),
      }),
    )
    const first = await handler({}, lambdaContext())
    await get(first.secrets)
    const open = peer.openConnections
    first.secrets.destroy()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(peer.openConnections).toBe(open - 1)
    const second = await handler({}, lambdaContext())
    expect(second.secrets).not.toBe(first.secrets)
    expect(second.secrets).toBeInstanceOf(SecretsManagerClient)
    expect(sdkClientsStats().built).toBe(built + 2)
    expect((await get(second.secrets)).SecretString).toBe('value')
    // Other middlewares holding the destroyed client move on too.
    expect(getClient(SecretsManagerClient, peerConfig(peer, { maxAttempts: 7 }))).toBe(second.secrets)
  })

  it('closes the shared handler once its last client is destroyed', async () => {
    const config = sharedHandlerConfig()
    const a = getClient(SecretsManagerClient, { ...config, maxAttempts: 1 })
    const b = getClient(SecretsManagerClient, { ...config, maxAttempts: 2 })
    await get(a)
    const open = peer.openConnections
    a.destroy()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(peer.openConnections).toBe(open)
    b.destroy()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(peer.openConnections).toBe(open - 1)
  })
})
