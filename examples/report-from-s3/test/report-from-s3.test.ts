import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import { type S3Peer, startS3Peer } from '@thaw/test-support'
import { buildExample, type ExampleBundle } from '../../../scripts/build-examples.ts'
import type { ReportRow } from '../src/handler.ts'

const bucket = 'thaw-example-reports'
const objectKey = 'sales.sqlite'
let peer: S3Peer
let bundle: ExampleBundle
let workDirectory: string
const environments: LambdaEnvironment[] = []

// A SQLite file of sales, as the report's upstream job would publish it.
const makeSalesDatabase = (sales: Array<[string, number]>): Buffer => {
  const file = join(workDirectory, `sales-${Date.now()}-${Math.random()}.sqlite`)
  const database = new DatabaseSync(file)
  database.exec('CREATE TABLE sales (region TEXT NOT NULL, amount REAL NOT NULL)')
  const insert = database.prepare('INSERT INTO sales (region, amount) VALUES (?, ?)')
  for (const [region, amount] of sales) insert.run(region, amount)
  database.close()
  return readFileSync(file)
}

const publish = async (sales: Array<[string, number]>) => {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: peer.endpoint,
    forcePathStyle: true,
    credentials: peer.credentials,
  })
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey, Body: makeSalesDatabase(sales) }))
  s3.destroy()
}

const start = async (options: { revalidateAfterMs: number; workers?: number }) => {
  const environment = await startEnvironment({
    entry: bundle.file,
    prebuilt: true,
    timeoutMs: 10_000,
    memoryMb: 256,
    ...(options.workers ? { workers: options.workers, concurrency: 4 } : {}),
    env: {
      AWS_ENDPOINT_URL_S3: peer.endpoint,
      AWS_ACCESS_KEY_ID: peer.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: peer.credentials.secretAccessKey,
      REPORT_BUCKET: bucket,
      REPORT_KEY: objectKey,
      REVALIDATE_AFTER_MS: String(options.revalidateAfterMs),
    },
  })
  environments.push(environment)
  return environment
}

interface Report {
  downloaded: boolean
  bytes: number
  rows: ReportRow[]
}

const report = async (environment: LambdaEnvironment, event = {}): Promise<Report> => {
  const outcome = await environment.invoke<Report>(event)
  if (!outcome.ok) throw new Error(`${outcome.error.name}: ${outcome.error.message}`)
  return outcome.result
}

beforeAll(async () => {
  workDirectory = mkdtempSync(join(tmpdir(), 'thaw-example-report-'))
  peer = await startS3Peer({ buckets: [bucket] })
  bundle = await buildExample('report-from-s3')
})

afterAll(async () => {
  await Promise.all(environments.map((environment) => environment.shutdown()))
  await peer.close()
  rmSync(workDirectory, { recursive: true, force: true })
})

describe('report-from-s3, its deployment bundle in lambda-sim against s3rver', () => {
  it('downloads the file once per environment and answers every warm invocation from /tmp', async () => {
    await publish([
      ['eu', 10],
      ['eu', 5],
      ['us', 7],
    ])
    const environment = await start({ revalidateAfterMs: 60_000 })
    const getsBefore = peer.requestCount('GET', `/${bucket}/${objectKey}`)
    const first = await report(environment)
    expect(first.downloaded).toBe(true)
    expect(first.rows).toEqual([
      { region: 'eu', orders: 2, total: 15 },
      { region: 'us', orders: 1, total: 7 },
    ])
    for (let index = 0; index < 5; index++) {
      const warm = await report(environment, { region: 'us' })
      expect(warm.downloaded).toBe(false)
      expect(warm.rows).toEqual([{ region: 'us', orders: 1, total: 7 }])
    }
    expect(peer.requestCount('GET', `/${bucket}/${objectKey}`) - getsBefore).toBe(1)
  })

  it('downloads the new version once its ETag changes, and keeps the file across a crash', async () => {
    await publish([['eu', 1]])
    const environment = await start({ revalidateAfterMs: 0 })
    expect((await report(environment)).rows).toEqual([{ region: 'eu', orders: 1, total: 1 }])
    const unchanged = await report(environment)
    expect(unchanged.downloaded).toBe(false)
    await publish([
      ['eu', 1],
      ['ap', 4],
    ])
    const changed = await report(environment)
    expect(changed.downloaded).toBe(true)
    expect(changed.rows.map((row) => row.region)).toEqual(['ap', 'eu'])
    // A crash resets the environment; the next init finds the file in /tmp and only revalidates it.
    await environment.crash()
    const afterCrash = await report(environment)
    expect(afterCrash.downloaded).toBe(false)
    expect(afterCrash.rows.map((row) => row.region)).toEqual(['ap', 'eu'])
  })

  it('downloads once for all the worker threads of a Managed Instance', async () => {
    await publish([['sa', 3]])
    const environment = await start({ revalidateAfterMs: 60_000, workers: 3 })
    const getsBefore = peer.requestCount('GET', `/${bucket}/${objectKey}`)
    const reports = await Promise.all(Array.from({ length: 12 }, () => report(environment)))
    // Invocations that joined the one download in flight report it as theirs; S3 saw a single GET.
    expect(reports.filter((each) => each.downloaded).length).toBeGreaterThanOrEqual(1)
    expect(new Set(reports.map((each) => JSON.stringify(each.rows)))).toEqual(
      new Set([JSON.stringify([{ region: 'sa', orders: 1, total: 3 }])]),
    )
    expect(peer.requestCount('GET', `/${bucket}/${objectKey}`) - getsBefore).toBe(1)
  })
})
