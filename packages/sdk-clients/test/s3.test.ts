import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { ObjectEvent } from './fixtures/s3-handler.ts'
import { startTestEnvironment, stopStarted } from './helpers.ts'

// s3rver ships no types: the little of it used here, typed where it is used.
interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
  httpServer: Server
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass

const bucket = 'sdk-clients-bucket'
let s3rver: S3rverInstance
let endpoint: string
let directory: string
let connections = 0

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'sdk-clients-s3rver-'))
  s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket }],
  })
  const address = await s3rver.run()
  endpoint = `http://127.0.0.1:${address.port}`
  s3rver.httpServer.on('connection', () => {
    connections += 1
  })
})
afterAll(async () => {
  await stopStarted()
  s3rver.httpServer.closeAllConnections()
  await s3rver.close()
  await rm(directory, { recursive: true, force: true })
})

describe('S3Client against s3rver, through lambda-sim', () => {
  it('writes and reads objects over one kept-alive connection across frozen invocations', async () => {
    const environment = await startTestEnvironment('s3-handler', {
      // s3rver checks signatures against its one built-in key pair.
      env: { AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    })
    expect(connections).toBe(0)
    for (let i = 0; i < 5; i++) {
      const event: ObjectEvent = { bucket, key: `object-${i}.txt`, body: `body ${i}` }
      const outcome = await environment.invoke(event)
      if (!outcome.ok)
        throw new Error(`invocation ${i} failed: ${outcome.error.name}: ${outcome.error.message}`)
      const result = outcome.result as {
        body: string
        putETag: string
        getETag: string
        stats: { built: number }
      }
      expect(result.body).toBe(`body ${i}`)
      expect(result.getETag).toBe(result.putETag)
      expect(result.stats.built).toBe(1)
    }
    expect(connections).toBe(1)
  })
})
