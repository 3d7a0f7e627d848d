// The report-from-s3 example written by hand, for the cold-start comparison: the same work as
// examples/report-from-s3 (the same S3 client built at init, the object downloaded into /tmp once per
// environment, streamed to a temporary file and renamed into place so that a killed download never
// leaves a damaged file under the final name, its ETag kept beside it and checked with a HEAD at most
// once a minute, the same node:sqlite query and answer), on Middy alone, the way a careful developer
// writes it. None of thaw's guarantees across threads and processes (one download per instance, a
// byte budget, a dead writer's leftovers cleaned at init); the demo shows what those cost to lack.
import { createWriteStream, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { threadId } from 'node:worker_threads'
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import middy from '@middy/core'
import { type ReportEvent, reportRows } from '../../../examples/report-from-s3/src/report.ts'

const bucket = process.env.REPORT_BUCKET ?? 'reports'
const objectKey = process.env.REPORT_KEY ?? 'sales.sqlite'
const revalidateAfterMs = Number(process.env.REVALIDATE_AFTER_MS ?? 60_000)

const s3 = new S3Client({ forcePathStyle: true })
const file = join(process.env.TMPDIR ?? '/tmp', 'report.sqlite')
const etagFile = `${file}.etag`
let lastValidatedAt = 0
// One download at a time in this thread (Managed Instances run invocations concurrently).
let downloading: Promise<void> | undefined

// Written under a name of this process and thread, then renamed: the final name only ever holds a
// whole file. The data goes first, its ETag after: a crash between the two leaves an old ETag, which
// the next check finds stale.
const writeInPlace = async (path: string, write: (temporary: string) => Promise<void>) => {
  const temporary = `${path}.${process.pid}.${threadId}.partial`
  try {
    await write(temporary)
    renameSync(temporary, path)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
}

const download = async () => {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }))
  lastValidatedAt = Date.now()
  await writeInPlace(file, (temporary) => pipeline(object.Body as Readable, createWriteStream(temporary)))
  await writeInPlace(etagFile, async (temporary) => writeFileSync(temporary, object.ETag ?? ''))
}

const cachedEtag = (): string | undefined => {
  try {
    statSync(file)
    return readFileSync(etagFile, 'utf8')
  } catch {
    return undefined
  }
}

const isStillCurrent = async (etag: string) => {
  if (Date.now() - lastValidatedAt < revalidateAfterMs) return true
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }))
  lastValidatedAt = Date.now()
  return head.ETag === etag
}

export const handler = middy<ReportEvent>().handler(async (event) => {
  const etag = cachedEtag()
  const downloaded = etag === undefined || !(await isStillCurrent(etag))
  if (downloaded) {
    downloading ??= download().finally(() => {
      downloading = undefined
    })
    await downloading
  }
  const rows = reportRows(file, event)
  return { downloaded, bytes: statSync(file).size, rows }
})
