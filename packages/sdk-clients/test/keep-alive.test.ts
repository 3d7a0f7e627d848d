import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { peerConfig, type SecretsManagerPeer } from '@thaw/test-support'
import sdkClients, { getClient } from '../src/index.ts'
import { startTestPeer, stopStarted } from './helpers.ts'
import { lambdaContext } from './invoke.ts'

let peer: SecretsManagerPeer
beforeAll(async () => {
  peer = await startTestPeer({ secrets: { 'sdk-clients/keep-alive': 'value' } })
})
afterAll(stopStarted)

describe('an agent without keep-alive is refused', () => {
  it('in a requestHandler options object, at construction, naming the option', () => {
    expect(() =>
      sdkClients({
        clients: {
          secrets: {
            client: SecretsManagerClient,
            config: { requestHandler: { httpsAgent: new HttpsAgent() } },
          },
        },
      }),
    ).toThrow(
      /option 'clients\.secrets\.config\.requestHandler\.httpsAgent' has keepAlive false.*refuses it rather than rewrite/,
    )
    expect(() =>
      sdkClients({
        clients: { secrets: SecretsManagerClient },
        config: { requestHandler: { httpAgent: { keepAlive: false } } },
      }),
    ).toThrow(/option 'clients\.secrets\.config\.requestHandler\.httpAgent' has keepAlive false/)
    // getClient checks the same, at its call.
    expect(() =>
      getClient(SecretsManagerClient, { requestHandler: { httpsAgent: new HttpsAgent() } }),
    ).toThrow(/^@thaw\/sdk-clients: option 'config\.requestHandler\.httpsAgent' has keepAlive false/)
  })

  it('in a NodeHttpHandler instance, on the first invocation (its agents are only known once resolved)', async () => {
    const handler = middy()
      .use(
        sdkClients({
          clients: { secrets: SecretsManagerClient },
          config: peerConfig(peer, { requestHandler: new NodeHttpHandler({ httpAgent: new HttpAgent() }) }),
        }),
      )
      .handler(async () => 'handler ran')
    await expect(handler({}, lambdaContext())).rejects.toThrow(
      /option 'clients\.secrets\.config\.requestHandler \(NodeHttpHandler\) httpAgent' has keepAlive false/,
    )
    // A run-time error, so the package's own class and code (CONTRIBUTING.md: Errors).
    await expect(handler({}, lambdaContext())).rejects.toMatchObject({
      name: 'SdkClientsError',
      code: 'THAW_SDK_CLIENTS_KEEP_ALIVE_OFF',
      package: '@thaw/sdk-clients',
    })
    // And on every invocation after it: the client is never handed out.
    await expect(handler({}, lambdaContext())).rejects.toThrow(/has keepAlive false/)
    expect(peer.callCount()).toBe(0)
  })

  it('accepts an agent with keepAlive true, and the client reuses one connection', async () => {
    const handler = middy()
      .use(
        sdkClients({
          clients: { secrets: SecretsManagerClient },
          config: peerConfig(peer, {
            requestHandler: new NodeHttpHandler({
              httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 4 }),
            }),
          }),
        }),
      )
      .handler(async (_event: unknown, context) =>
        context.clients.secrets.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/keep-alive' })),
      )
    const connections = peer.connections
    for (let i = 0; i < 5; i++) expect((await handler({}, lambdaContext())).SecretString).toBe('value')
    expect(peer.connections).toBe(connections + 1)
  })

  it('agent options without keepAlive are merged over the SDK default (keepAlive true) and accepted', () => {
    expect(() =>
      sdkClients({
        clients: { secrets: SecretsManagerClient },
        config: { region: 'us-east-1', requestHandler: { httpsAgent: { maxSockets: 10 } } },
      }),
    ).not.toThrow()
  })
})
