import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type S3Peer, startS3Peer } from '@thaw/test-support'
import type { ObjectEvent } from './fixtures/s3-handler.ts'
import { startTestEnvironment, stopStarted } from './helpers.ts'

const bucket = 'sdk-clients-bucket'
let s3: S3Peer

beforeAll(async () => {
  s3 = await startS3Peer({ buckets: [bucket] })
})
afterAll(async () => {
  await stopStarted()
  await s3.close()
})

describe('S3Client against s3rver, through lambda-sim', () => {
  it('writes and reads objects over one kept-alive connection across frozen invocations', async () => {
    const environment = await startTestEnvironment('s3-handler', {
      // s3rver checks signatures against its one built-in key pair (the peer's credentials).
      env: {
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      },
    })
    expect(s3.connections).toBe(0)
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
    expect(s3.connections).toBe(1)
  })
})
