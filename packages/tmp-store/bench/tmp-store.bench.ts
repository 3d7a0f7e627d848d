// Benchmarks of @thaw/tmp-store, in one process, with each case and its baseline interleaved round
// by round (so drift of the machine affects both alike):
//   1. get() hit (bytes)                  vs fs.promises.readFile of the same file (bytes)
//   2. getOrFetch() hit (a checked path)  vs fs.promises.lstat of the path (the hand-written "reuse the
//      file if it exists", which checks nothing else)
//   3. getOrFetch() hit + readFile        vs fs.promises.readFile (bytes either way)
//   4. getOrFetch() hit + readFile        vs re-downloading the object from s3rver (a real S3 peer on loopback)
//   5. the index rebuild of a directory of 10,000 entries (opening a store over it) vs the least any
//      rebuild must do, in the same run: one readdir, one lstat per data file, one unlink per dead
//      partial file; the 100 dead partial files are planted again before every round of either.
// Each ratio compares like with like: the same result (bytes, or a path known to exist) both ways.
// Run: pnpm --filter @thaw/tmp-store bench   (or: node --conditions=@thaw/source bench/tmp-store.bench.ts)
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { lstat, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { s3PeerConfig, startS3Peer } from '@thaw/test-support'
import { TmpStore } from '../src/index.ts'

// Many short rounds, each case beside its baseline: on a loaded machine the load changes between
// rounds, not within one, so the ratio is the median of each round's own ratio.
const rounds = 41
const rebuildRounds = 11
const root = mkdtempSync(join(tmpdir(), 'thaw-tmp-store-bench-'))

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN

// Runs `operation` `iterations` times and returns the mean time of one, in microseconds.
const time = async (iterations: number, operation: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  for (let i = 0; i < iterations; i++) await operation()
  return ((performance.now() - start) * 1000) / iterations
}

interface Row {
  name: string
  baseline: string
  caseUs: number[]
  baselineUs: number[]
}
const rows: Row[] = []

const compare = async (
  name: string,
  baseline: string,
  iterations: number,
  operation: () => Promise<unknown>,
  baselineOperation: () => Promise<unknown>,
) => {
  const row: Row = { name, baseline, caseUs: [], baselineUs: [] }
  await time(Math.ceil(iterations / 5), operation) // warm-up
  await time(Math.ceil(iterations / 5), baselineOperation)
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      row.caseUs.push(await time(iterations, operation))
      row.baselineUs.push(await time(iterations, baselineOperation))
    } else {
      row.baselineUs.push(await time(iterations, baselineOperation))
      row.caseUs.push(await time(iterations, operation))
    }
  }
  rows.push(row)
}

const store = new TmpStore({ dir: join(root, 'store'), maxBytes: 512 * 1024 * 1024 })
for (const [label, bytes] of [
  ['4 KiB', 4 * 1024],
  ['1 MiB', 1024 * 1024],
] as const) {
  const key = `objects/${label}`
  const entry = await store.put(key, Buffer.alloc(bytes, 7))
  const iterations = bytes > 100_000 ? 40 : 400
  await compare(
    `get() hit, ${label}`,
    'readFile',
    iterations,
    () => store.get(key),
    () => readFile(entry.path),
  )
  await compare(
    `getOrFetch() hit (path), ${label}`,
    'lstat of the path',
    iterations,
    () => store.getOrFetch(key, () => Buffer.alloc(0)),
    async () => (await lstat(entry.path)).isFile() && entry.path,
  )
  await compare(
    `getOrFetch() hit + readFile, ${label}`,
    'readFile',
    iterations,
    async () => readFile((await store.getOrFetch(key, () => Buffer.alloc(0))).path),
    () => readFile(entry.path),
  )
}

// A hit against downloading the object again from S3 (s3rver on loopback: no network latency at
// all, so this is the smallest gap a real region could show).
const s3Peer = await startS3Peer({ buckets: ['bench'] })
const s3 = new S3Client(s3PeerConfig(s3Peer, { maxAttempts: 1 }))
const objectBytes = 1024 * 1024
await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'model.bin', Body: Buffer.alloc(objectBytes, 3) }))
const download = async () => {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: 'model.bin' }))
  return Buffer.from(await (Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())
}
await store.getOrFetch(
  's3/model.bin',
  async () => (await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: 'model.bin' }))).Body as never,
)
await compare(
  'getOrFetch() hit + readFile, 1 MiB',
  'S3 GetObject (s3rver)',
  5,
  async () => readFile((await store.getOrFetch('s3/model.bin', download)).path),
  download,
)
s3.destroy()
await s3Peer.close()

// The index rebuild: a directory of 10,000 complete entries (plus a crashed writer's partial file
// per hundred, planted again before every round), opened by a new store, as the next init after a
// reset does; against the least a rebuild must do, measured in the same rounds.
const rebuildDir = join(root, 'rebuild')
mkdirSync(rebuildDir)
const seed = new TmpStore({ dir: rebuildDir, maxBytes: 1024 * 1024 * 1024 })
for (let i = 0; i < 10_000; i++) await seed.put(`entry/${i}`, Buffer.alloc(64, i & 0xff))
const plantDeadPartials = () => {
  for (let i = 0; i < 100; i++)
    writeFileSync(join(rebuildDir, `${'0'.repeat(63)}${i % 10}.999999-0-${i.toString(16)}.data-partial`), 'x')
}
const leastRebuild = () => {
  let entries = 0
  for (const name of readdirSync(rebuildDir)) {
    if (name.endsWith('.data')) entries += Number(lstatSync(join(rebuildDir, name)).isFile())
    else if (name.endsWith('-partial')) unlinkSync(join(rebuildDir, name))
  }
  return () => entries
}
const rebuildMs: number[] = []
const leastMs: number[] = []
// `run` returns how to count what it found, read after the clock stops (stats() scans again).
const timeOnce = (run: () => () => number, into: number[]) => {
  plantDeadPartials()
  const start = performance.now()
  const count = run()
  into.push(performance.now() - start)
  const entries = count()
  if (entries !== 10_000) throw new Error(`rebuilt ${entries} entries, not 10,000`)
}
const rebuild = () => {
  const reopened = new TmpStore({ dir: rebuildDir, maxBytes: 1024 * 1024 * 1024 })
  return () => reopened.stats().entries
}
timeOnce(rebuild, [])
timeOnce(leastRebuild, [])
for (let round = 0; round < rebuildRounds; round++) {
  if (round % 2 === 0) {
    timeOnce(rebuild, rebuildMs)
    timeOnce(leastRebuild, leastMs)
  } else {
    timeOnce(leastRebuild, leastMs)
    timeOnce(rebuild, rebuildMs)
  }
}
rows.push({
  name: 'index rebuild, 10,000 entries (+100 dead partial files)',
  baseline: 'readdir + lstat + unlink loop',
  caseUs: rebuildMs.map((ms) => ms * 1000),
  baselineUs: leastMs.map((ms) => ms * 1000),
})

const format = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`)
console.log(
  `\n@thaw/tmp-store benchmark (Node ${process.version}; ${rounds} interleaved rounds, the rebuild ${rebuildRounds}; times are medians, a ratio is the median of each round's ratio)\n`,
)
console.log('| case | time | baseline | baseline time | ratio (case / baseline) |')
console.log('| --- | ---: | --- | ---: | ---: |')
for (const row of rows) {
  const ratio = median(row.caseUs.map((us, round) => us / (row.baselineUs[round] ?? Number.NaN)))
  console.log(
    `| ${row.name} | ${format(median(row.caseUs))} | ${row.baseline} | ${format(median(row.baselineUs))} | ${ratio.toFixed(3)}x |`,
  )
}
rmSync(root, { recursive: true, force: true })
