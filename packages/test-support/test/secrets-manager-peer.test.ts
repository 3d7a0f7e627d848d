import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  peerConfig,
  type SecretsManagerPeer,
  startedThings,
  startSecretsManagerPeer,
  testCredentials,
} from '../src/index.ts'

const started = startedThings()

// The peer, spoken to by a real SecretsManagerClient (signing, JSON 1.1 protocol, error parsing).
describe('startSecretsManagerPeer', () => {
  let peer: SecretsManagerPeer
  let client: SecretsManagerClient

  beforeAll(async () => {
    peer = started.add(await startSecretsManagerPeer({ secrets: { 'sdk-clients/initial': 'first value' } }))
    client = new SecretsManagerClient(peerConfig(peer))
  })
  afterAll(async () => {
    client.destroy()
    await started.stopAll()
  })

  it('listens on 127.0.0.1 on a port of its own', () => {
    expect(peer.endpoint).toBe(`http://127.0.0.1:${peer.port}`)
    expect(peer.port).toBeGreaterThan(0)
  })

  it('answers GetSecretValue with the AWSCURRENT version, by name or by ARN', async () => {
    const byName = await client.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/initial' }))
    expect(byName.SecretString).toBe('first value')
    expect(byName.Name).toBe('sdk-clients/initial')
    expect(byName.VersionStages).toEqual(['AWSCURRENT'])
    expect(byName.ARN).toMatch(
      /^arn:aws:secretsmanager:us-east-1:123456789012:secret:sdk-clients\/initial-\w{6}$/,
    )
    expect(byName.CreatedDate).toBeInstanceOf(Date)
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: byName.ARN }))
    expect(byArn.VersionId).toBe(byName.VersionId)
  })

  it('moves AWSCURRENT to a new version and AWSPREVIOUS to the old one', async () => {
    const first = peer.setSecret('sdk-clients/rotated', { username: 'u', password: 'one' })
    const second = await client.send(
      new PutSecretValueCommand({
        SecretId: 'sdk-clients/rotated',
        SecretString: '{"username":"u","password":"two"}',
      }),
    )
    expect(second.VersionStages).toEqual(['AWSCURRENT'])
    const current = await client.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/rotated' }))
    expect(JSON.parse(current.SecretString ?? '')).toEqual({ username: 'u', password: 'two' })
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: 'sdk-clients/rotated', VersionStage: 'AWSPREVIOUS' }),
    )
    expect(previous.VersionId).toBe(first.versionId)
    expect(JSON.parse(previous.SecretString ?? '')).toEqual({ username: 'u', password: 'one' })
    const description = await client.send(new DescribeSecretCommand({ SecretId: 'sdk-clients/rotated' }))
    expect(description.VersionIdsToStages).toEqual({
      [first.versionId]: ['AWSPREVIOUS'],
      [second.VersionId as string]: ['AWSCURRENT'],
    })
  })

  it('keeps an AWSPENDING version apart until its label is moved', async () => {
    peer.setSecret('sdk-clients/pending', 'current')
    const pending = peer.setSecret('sdk-clients/pending', 'next', { stages: ['AWSPENDING'] })
    const current = await client.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/pending' }))
    expect(current.SecretString).toBe('current')
    const staged = await client.send(
      new GetSecretValueCommand({ SecretId: 'sdk-clients/pending', VersionStage: 'AWSPENDING' }),
    )
    expect(staged.SecretString).toBe('next')
    peer.moveStage('sdk-clients/pending', 'AWSCURRENT', pending.versionId)
    const after = await client.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/pending' }))
    expect(after.SecretString).toBe('next')
    expect(after.VersionStages?.sort()).toEqual(['AWSCURRENT', 'AWSPENDING'])
    expect(
      peer.describe('sdk-clients/pending')?.find((v) => v.stages.includes('AWSPREVIOUS'))?.stages,
    ).toEqual(['AWSPREVIOUS'])
  })

  it('reads a version by id, and a binary secret as bytes', async () => {
    const version = peer.setSecret('sdk-clients/binary', new Uint8Array([0, 1, 2, 255]))
    const answer = await client.send(
      new GetSecretValueCommand({ SecretId: 'sdk-clients/binary', VersionId: version.versionId }),
    )
    expect(answer.SecretString).toBeUndefined()
    expect([...(answer.SecretBinary ?? [])]).toEqual([0, 1, 2, 255])
  })

  it('answers an unknown secret with ResourceNotFoundException, which the SDK raises as its own class', async () => {
    const error = await client
      .send(new GetSecretValueCommand({ SecretId: 'sdk-clients/missing' }))
      .catch((e) => e)
    expect(error).toBeInstanceOf(ResourceNotFoundException)
    expect(error).toBeInstanceOf(SecretsManagerServiceException)
    expect(error.name).toBe('ResourceNotFoundException')
    expect(error.$metadata.httpStatusCode).toBe(400)
    const unknownStage = await client
      .send(new GetSecretValueCommand({ SecretId: 'sdk-clients/initial', VersionStage: 'NOPE' }))
      .catch((e) => e)
    expect(unknownStage).toBeInstanceOf(ResourceNotFoundException)
    const put = await client
      .send(new PutSecretValueCommand({ SecretId: 'sdk-clients/missing', SecretString: 'x' }))
      .catch((e) => e)
    expect(put).toBeInstanceOf(ResourceNotFoundException)
  })

  it('records each call with its operation, secret, access key and connection', async () => {
    peer.resetCounts()
    await client.send(
      new GetSecretValueCommand({ SecretId: 'sdk-clients/initial', VersionStage: 'AWSCURRENT' }),
    )
    expect(peer.calls).toEqual([
      {
        target: 'GetSecretValue',
        secretId: 'sdk-clients/initial',
        versionId: undefined,
        versionStage: 'AWSCURRENT',
        accessKeyId: testCredentials.accessKeyId,
        connection: expect.any(Number),
        status: 200,
        errorType: undefined,
      },
    ])
    expect(peer.callCount('GetSecretValue')).toBe(1)
    expect(peer.callCount('DescribeSecret')).toBe(0)
  })

  it('fails the next calls on demand, with a status the SDK retries or not', async () => {
    peer.failNext('ThrottlingException', { target: 'GetSecretValue', status: 400 })
    const throttled = await client
      .send(new GetSecretValueCommand({ SecretId: 'sdk-clients/initial' }))
      .catch((e) => e)
    expect(throttled.name).toBe('ThrottlingException')
    const retrying = new SecretsManagerClient(peerConfig(peer, { maxAttempts: 3 }))
    peer.failNext('InternalServiceError', { status: 500, times: 2 })
    const before = peer.callCount('GetSecretValue')
    const answer = await retrying.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/initial' }))
    expect(answer.SecretString).toBe('first value')
    expect(peer.callCount('GetSecretValue') - before).toBe(3)
    retrying.destroy()
  })

  it('counts TCP connections and closes idle keep-alive sockets on demand', async () => {
    const own = new SecretsManagerClient(peerConfig(peer))
    await own.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/initial' }))
    const connectionsAfterFirst = peer.connections
    await own.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/initial' }))
    expect(peer.connections).toBe(connectionsAfterFirst)
    expect(peer.closeIdleConnections()).toBeGreaterThanOrEqual(1)
    // Let the client's event loop see the close before it picks a socket again.
    await new Promise((resolve) => setTimeout(resolve, 20))
    await own.send(new GetSecretValueCommand({ SecretId: 'sdk-clients/initial' }))
    expect(peer.connections).toBe(connectionsAfterFirst + 1)
    own.destroy()
  })
})
