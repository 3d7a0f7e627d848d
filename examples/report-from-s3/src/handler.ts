// A report over a SQLite file kept in S3. The file is downloaded into /tmp once per execution
// environment (and once per Managed Instance, whatever the number of threads), opened with Node's own
// node:sqlite, and revalidated by ETag at most once a minute: when the object changes in S3, the next
// revalidation downloads the new version.
import type { Readable } from 'node:stream'
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import middy from '@middy/core'
import sdkClients from '@thaw/sdk-clients'
import tmpStore, { type TmpEntryInfo } from '@thaw/tmp-store'
import { type ReportEvent, reportRows } from './report.ts'

export type { ReportEvent, ReportRow } from './report.ts'

const bucket = process.env.REPORT_BUCKET ?? 'reports'
const objectKey = process.env.REPORT_KEY ?? 'sales.sqlite'
const revalidateAfterMs = Number(process.env.REVALIDATE_AFTER_MS ?? 60_000)

// When the cached file's ETag was last checked against S3 (or the file downloaded).
let lastValidatedAt = 0

export const handler = middy<ReportEvent>()
  .use(sdkClients({ clients: { s3: { client: S3Client, config: { forcePathStyle: true } } } }))
  .use(tmpStore({ maxBytes: Number(process.env.TMP_BUDGET_BYTES ?? 256 * 1024 * 1024) }))
  .handler(async (event, context) => {
    const s3 = context.clients.s3
    // An ETag round trip costs a request; within the revalidation window the cached file is trusted.
    const isStillCurrent = async (cached: TmpEntryInfo) => {
      if (Date.now() - lastValidatedAt < revalidateAfterMs) return true
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }))
      lastValidatedAt = Date.now()
      return head.ETag === cached.meta.etag
    }
    const entry = await context.tmp.getOrFetch(
      `s3://${bucket}/${objectKey}`,
      async () => {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }))
        lastValidatedAt = Date.now()
        // Streamed to disk: the file is never held whole in memory.
        return { data: object.Body as Readable, meta: { etag: object.ETag ?? '' } }
      },
      { validate: isStillCurrent },
    )
    const rows = reportRows(entry.path, event)
    return { downloaded: !entry.hit, bytes: entry.size, rows }
  })
