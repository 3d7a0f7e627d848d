import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type S3Peer, s3PeerConfig, startedThings, startS3Peer } from '../src/index.ts'

// The S3 peer (s3rver), spoken to by a real S3Client: signing with s3rver's key pair, path-style
// addressing, keep-alive sockets; what it counts is what the tests of tmp-store and the examples rely on.
const started = startedThings()
let peer: S3Peer
let client: S3Client

beforeAll(async () => {
  peer = started.add(await startS3Peer({ buckets: ['peer-bucket'] }))
  client = new S3Client(s3PeerConfig(peer, { maxAttempts: 1 }))
})
afterAll(async () => {
  client.destroy()
  await started.stopAll()
})

describe('startS3Peer', () => {
  it('listens on 127.0.0.1 with the buckets asked for, and stores what it is sent', async () => {
    expect(peer.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    await client.send(new PutObjectCommand({ Bucket: 'peer-bucket', Key: 'a/b.txt', Body: 'hello' }))
    const object = await client.send(new GetObjectCommand({ Bucket: 'peer-bucket', Key: 'a/b.txt' }))
    expect(await object.Body?.transformToString()).toBe('hello')
  })

  it('counts requests by method and path prefix, and TCP connections', async () => {
    const gets = peer.requestCount('GET', '/peer-bucket/a/')
    const connections = peer.connections
    // A body left unread holds its socket: read each one, as a handler would.
    const read = async (s3: S3Client) =>
      (
        await s3.send(new GetObjectCommand({ Bucket: 'peer-bucket', Key: 'a/b.txt' }))
      ).Body?.transformToString()
    expect(await read(client)).toBe('hello')
    expect(await read(client)).toBe('hello')
    expect(peer.requestCount('GET', '/peer-bucket/a/') - gets).toBe(2)
    expect(peer.requestCount('GET', '/peer-bucket/other/')).toBe(0)
    expect(peer.requests.at(-1)).toEqual({ method: 'GET', path: '/peer-bucket/a/b.txt' })
    // The client keeps its socket alive: two requests, no new connection.
    expect(peer.connections).toBe(connections)
    const other = new S3Client(s3PeerConfig(peer, { maxAttempts: 1 }))
    expect(await read(other)).toBe('hello')
    other.destroy()
    expect(peer.connections).toBe(connections + 1)
  })

  it('refuses a request signed with other credentials', async () => {
    const stranger = new S3Client(
      s3PeerConfig(peer, {
        maxAttempts: 1,
        credentials: { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'not-s3rver' },
      }),
    )
    const error = await stranger.send(new CreateBucketCommand({ Bucket: 'stranger-bucket' })).catch((e) => e)
    stranger.destroy()
    expect(error).toBeInstanceOf(Error)
    expect(error.$metadata?.httpStatusCode).toBe(403)
  })

  it('stops listening once closed: a later request is refused', async () => {
    const own = await startS3Peer()
    const ownClient = new S3Client(s3PeerConfig(own, { maxAttempts: 1 }))
    try {
      await ownClient.send(new CreateBucketCommand({ Bucket: 'closing' }))
    } finally {
      await own.close()
    }
    const error = await ownClient
      .send(new GetObjectCommand({ Bucket: 'closing', Key: 'x' }))
      .catch((e: Error) => e)
    ownClient.destroy()
    expect(error).toBeInstanceOf(Error)
    // The SDK (3.1175) wraps a socket error from another realm (jest's vm) and keeps its message.
    expect((error as Error).message).toMatch(/ECONNREFUSED 127\.0\.0\.1/)
  })
})
