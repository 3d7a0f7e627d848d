// The first everyday /tmp pattern: build a client and download the file in every invocation.
// Always correct; it pays the download (and a new client's connection) every time.
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { reportQuery } from './report-query.ts'

export const handler = async () => {
  const s3 = new S3Client({ forcePathStyle: true })
  const file = join(process.env.TMPDIR ?? '/tmp', 'report.sqlite')
  const object = await s3.send(
    new GetObjectCommand({ Bucket: process.env.REPORT_BUCKET, Key: process.env.REPORT_KEY }),
  )
  await pipeline(object.Body as Readable, createWriteStream(file))
  s3.destroy()
  const database = new DatabaseSync(file, { readOnly: true })
  try {
    return { downloaded: true, rows: reportQuery(database) }
  } finally {
    database.close()
  }
}
