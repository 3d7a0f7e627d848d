import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { peerConfig, type SecretsManagerPeer, testCredentials } from '@thaw/test-support'
import { getClient } from '../src/index.ts'
import { startTestPeer, stopStarted } from './helpers.ts'

// A local STS that answers AssumeRole (query protocol, XML) with fixed temporary credentials and
// records who asked: enough for the SDK's own fromTemporaryCredentials to run over the wire.
const assumedKeyId = 'ASIASDKCLIENTSASSUMED'
const stsRequests: { body: string; accessKeyId: string | undefined }[] = []
let sts: Server
let peer: SecretsManagerPeer
const previousStsEndpoint = process.env.AWS_ENDPOINT_URL_STS

beforeAll(async () => {
  peer = await startTestPeer({ secrets: { 'sdk-clients/assumed': 'assumed value' } })
  sts = createServer(async (request, response) => {
    let body = ''
    for await (const chunk of request) body += chunk
    stsRequests.push({
      body,
      accessKeyId: /Credential=([^/]+)\//.exec(request.headers.authorization ?? '')?.[1],
    })
    response.writeHead(200, { 'content-type': 'text/xml' })
    response.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>${assumedKeyId}</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey>
<SessionToken>assumed-token</SessionToken><Expiration>${new Date(Date.now() + 3_600_000).toISOString()}</Expiration></Credentials>
<AssumedRoleUser><AssumedRoleId>AROASDKCLIENTS:thaw</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/reader/thaw</Arn></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>sdk-clients</RequestId></ResponseMetadata></AssumeRoleResponse>`)
  })
  await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve))
  // The SDK's STS client reads this by itself: no endpoint is passed anywhere.
  process.env.AWS_ENDPOINT_URL_STS = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`
})
afterAll(async () => {
  if (previousStsEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_STS
  else process.env.AWS_ENDPOINT_URL_STS = previousStsEndpoint
  sts.closeAllConnections()
  await new Promise((resolve) => sts.close(resolve))
  await stopStarted()
})

describe('assumeRole', () => {
  it('signs with the role credentials from fromTemporaryCredentials, calling STS once, not at init', async () => {
    const client = getClient(SecretsManagerClient, peerConfig(peer), {
      assumeRole: { RoleArn: 'arn:aws:iam::123456789012:role/reader', DurationSeconds: 900 },
    })
    expect(stsRequests).toHaveLength(0)
    for (let i = 0; i < 3; i++) {
      const answer = await client.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/assumed' }))
      expect(answer.SecretString).toBe('assumed value')
    }
    expect(stsRequests).toHaveLength(1)
    // The client's own credentials assumed the role…
    expect(stsRequests[0]?.accessKeyId).toBe(testCredentials.accessKeyId)
    const params = new URLSearchParams(stsRequests[0]?.body)
    expect(params.get('Action')).toBe('AssumeRole')
    expect(params.get('RoleArn')).toBe('arn:aws:iam::123456789012:role/reader')
    expect(params.get('RoleSessionName')).toBe('thaw-sdk-clients')
    expect(params.get('DurationSeconds')).toBe('900')
    // …and every request was signed with the role's.
    expect(peer.calls.map((call) => call.accessKeyId)).toEqual([assumedKeyId, assumedKeyId, assumedKeyId])
  })

  it('keys the client by the role: another role, another client', () => {
    const reader = getClient(SecretsManagerClient, peerConfig(peer), {
      assumeRole: 'arn:aws:iam::123456789012:role/a',
    })
    expect(
      getClient(SecretsManagerClient, peerConfig(peer), { assumeRole: 'arn:aws:iam::123456789012:role/a' }),
    ).toBe(reader)
    expect(
      getClient(SecretsManagerClient, peerConfig(peer), { assumeRole: 'arn:aws:iam::123456789012:role/b' }),
    ).not.toBe(reader)
  })

  it('takes the module from `sdk` when given (a bundle carrying it), once, and keys the client without it', async () => {
    let loads = 0
    const role = 'arn:aws:iam::123456789012:role/bundled'
    const assumeRole = () => ({
      RoleArn: role,
      sdk: () => {
        loads++
        return import('@aws-sdk/credential-providers')
      },
    })
    // Each call passes a new arrow, as a handler written inline does: still one client.
    const client = getClient(SecretsManagerClient, peerConfig(peer), { assumeRole: assumeRole() })
    expect(getClient(SecretsManagerClient, peerConfig(peer), { assumeRole: assumeRole() })).toBe(client)
    // Only assumeRole's own `sdk` is left out of the key: the client's config still counts, and an
    // `sdk` there is no configuration key of the client (refused by name, never keyed).
    const otherConfig = { ...peerConfig(peer), maxAttempts: 2 }
    expect(getClient(SecretsManagerClient, otherConfig, { assumeRole: assumeRole() })).not.toBe(client)
    const configWithSdk = { ...peerConfig(peer), sdk: 'a value of the config' } as ReturnType<
      typeof peerConfig
    >
    expect(() => getClient(SecretsManagerClient, configWithSdk, { assumeRole: assumeRole() })).toThrow(
      "@thaw/sdk-clients: unknown option 'config.sdk' (not a configuration key of SecretsManagerClient)",
    )
    const before = stsRequests.length
    for (let i = 0; i < 2; i++) {
      const answer = await client.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/assumed' }))
      expect(answer.SecretString).toBe('assumed value')
    }
    expect(loads).toBe(1)
    expect(stsRequests).toHaveLength(before + 1)
    const params = new URLSearchParams(stsRequests[before]?.body)
    // `sdk` is no AssumeRole parameter: STS sees the role and the session name only.
    expect([...params.keys()].sort()).toEqual(['Action', 'RoleArn', 'RoleSessionName', 'Version'])
    expect(params.get('RoleArn')).toBe(role)
  })

  it('a module that cannot be loaded fails the request with its error, and every request after it', async () => {
    let loads = 0
    const client = getClient(SecretsManagerClient, peerConfig(peer), {
      assumeRole: {
        RoleArn: 'arn:aws:iam::123456789012:role/unloadable',
        sdk: () => {
          loads++
          return Promise.reject(new Error('no such module here'))
        },
      },
    })
    for (let i = 0; i < 2; i++) {
      await expect(
        client.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/assumed' })),
      ).rejects.toThrow('no such module here')
    }
    expect(loads).toBe(1)
  })
})
