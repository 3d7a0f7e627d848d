// A local S3 for tests: s3rver (a real S3 wire peer) on 127.0.0.1, with the buckets asked for, and a
// count of the requests and TCP connections it served, so a test can prove a download happened once.
// It lives here, in the private @thaw/test-support, so that no published thaw package depends on s3rver.
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface S3PeerOptions {
  // Buckets to create at start.
  buckets?: string[]
}

export interface S3PeerRequest {
  method: string
  // The path, e.g. '/reports/sales.sqlite' (path-style addressing).
  path: string
}

export interface S3Peer {
  // 'http://127.0.0.1:<port>': set it as AWS_ENDPOINT_URL_S3, or as the client's `endpoint`.
  readonly endpoint: string
  // s3rver checks signatures against its one built-in key pair: use these as static credentials.
  readonly credentials: { accessKeyId: 'S3RVER'; secretAccessKey: 'S3RVER' }
  readonly requests: readonly S3PeerRequest[]
  // Requests of this method whose path starts with `pathPrefix`.
  requestCount(method: string, pathPrefix?: string): number
  readonly connections: number
  close(): Promise<void>
}

// s3rver ships no types: the little of it used here.
interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
  httpServer: Server
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance

export const startS3Peer = async (options: S3PeerOptions = {}): Promise<S3Peer> => {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass
  const directory = await mkdtemp(join(tmpdir(), 'thaw-s3-peer-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  })
  const address = await server.run()
  const requests: S3PeerRequest[] = []
  let connections = 0
  server.httpServer.on('connection', () => {
    connections++
  })
  server.httpServer.prependListener('request', (request) => {
    requests.push({ method: request.method ?? '', path: (request.url ?? '').split('?')[0] ?? '' })
  })
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requests,
    requestCount: (method, pathPrefix = '') =>
      requests.filter((request) => request.method === method && request.path.startsWith(pathPrefix)).length,
    get connections() {
      return connections
    },
    close: async () => {
      server.httpServer.closeAllConnections()
      await server.close()
      await rm(directory, { recursive: true, force: true })
    },
  }
}
