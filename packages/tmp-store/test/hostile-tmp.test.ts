// /tmp is shared with whatever else runs there. Every name the store uses is planted with
// every kind of thing another program could put there (a symlink, a dangling symlink, a FIFO, a
// directory with a file in it, a hard link to a file outside), and the store must: never block (each
// script runs in a real execution environment whose invocation has a deadline, so a thread stuck in
// an open() fails the test instead of hanging it), never touch anything outside its directory (a
// canary directory outside is checked by checksum), answer every call with the right bytes or a miss
// (never a raw errno), and serve the key again afterwards.

import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import type { LambdaEnvironment } from '@thaw/lambda-sim'
import type { StepOutcome, StoreEvent } from './fixtures/store-handler.ts'
import { cleanUp, run, scratchDir, startStoreEnvironment, storeDirOf } from './helpers.ts'

afterAll(async () => {
  await closeSockets()
  await cleanUp()
})

const hashOf = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex')

// Everything about a directory tree that a write, a create, a rename or a removal would change
// (not atime: reading a file is not what the canary is for).
const digestOf = (dir: string): string => {
  const hash = createHash('sha256')
  const walk = (path: string, name: string) => {
    const stats = lstatSync(path)
    hash.update(`${name}\0${stats.mode}\0${stats.size}\0${stats.mtimeMs}\0${stats.ino}\n`)
    if (stats.isDirectory())
      for (const child of readdirSync(path).sort()) walk(join(path, child), `${name}/${child}`)
    else if (stats.isFile()) hash.update(readFileSync(path))
  }
  walk(dir, '.')
  return hash.digest('hex')
}

interface Canary {
  dir: string
  file: string
  /** Where dangling links point: must never come into existence. */
  absent: string
}

const makeCanary = (): Canary => {
  const dir = scratchDir('canary')
  const file = join(dir, 'precious.txt')
  writeFileSync(file, 'precious bytes outside the store')
  mkdirSync(join(dir, 'subdir'))
  return { dir, file, absent: join(dir, 'subdir', 'created-through-a-link') }
}

type Kind = 'symlink' | 'dangling symlink' | 'FIFO' | 'socket' | 'device' | 'directory' | 'hard link'

// A device node needs mknod, which needs root (CAP_MKNOD): where it is refused, jest reports that
// case as skipped rather than passing it without a check.
const canMknod = (() => {
  const probe = join(scratchDir('mknod-probe'), 'null')
  try {
    execFileSync('mknod', [probe, 'c', '1', '3'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
const kinds: Kind[] = ['symlink', 'dangling symlink', 'FIFO', 'socket', 'device', 'directory', 'hard link']

// Unix-socket servers listening on planted names, closed after each case.
const sockets: Server[] = []

const plant = async (kind: Kind, path: string, canary: Canary): Promise<void> => {
  if (kind === 'symlink') symlinkSync(canary.file, path)
  else if (kind === 'dangling symlink') symlinkSync(canary.absent, path)
  else if (kind === 'FIFO') execFileSync('mkfifo', [path])
  else if (kind === 'device')
    execFileSync('mknod', [path, 'c', '1', '3']) // what /dev/null is
  else if (kind === 'hard link') linkSync(canary.file, path)
  else if (kind === 'socket') {
    // A socket's path is limited to 107 bytes: bound at a short one, then renamed into place.
    const short = join(tmpdir(), `thaw-${randomBytes(4).toString('hex')}.sock`)
    const server = createServer()
    sockets.push(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(short, resolve)
    })
    renameSync(short, path)
  } else {
    mkdirSync(path)
    writeFileSync(join(path, 'inside'), 'x')
  }
}

const closeSockets = () =>
  Promise.all(sockets.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))

// Every name the store opens, creates, renames or removes, for the key `key` where the name is a key's.
const names: Array<{ label: string; name: (key: string) => string }> = [
  { label: '<hash>.data', name: (key) => `${hashOf(key)}.data` },
  { label: '<hash>.meta', name: (key) => `${hashOf(key)}.meta` },
  { label: '<hash>.lock', name: (key) => `${hashOf(key)}.lock` },
  { label: '.budget', name: () => '.budget' },
  { label: '.budget.lock', name: () => '.budget.lock' },
  { label: "a dead writer's partial", name: (key) => `${hashOf(key)}.999999-0-abc.data-partial` },
  { label: 'a stale lock moved aside', name: (key) => `${hashOf(key)}.lock.stale-abc` },
]

const size = 1_000

// What a handler does with the key after the plant: every call answers (a miss or the right bytes),
// the key is fetched again, and then served.
const scriptFor = (key: string): StoreEvent => ({
  op: 'script',
  steps: [
    { op: 'get', key },
    { op: 'has', key },
    { op: 'path', key },
    { op: 'getOrFetch', key, size },
    { op: 'get', key },
    { op: 'put', key, size: size + 1 },
    { op: 'get', key },
    { op: 'put', key: `${key}/other`, size: 10 },
    { op: 'get', key: `${key}/other` },
    { op: 'stats' },
    { op: 'reopen', key },
    { op: 'delete', key },
    { op: 'getOrFetch', key, size },
    { op: 'get', key },
  ],
})

const runScript = async (environment: LambdaEnvironment, key: string): Promise<StepOutcome[]> => {
  const outcome = await environment.invoke<StepOutcome[]>(scriptFor(key))
  // A blocked open() shows here as Lambda's timeout (Sandbox.Timedout), never as a hung test.
  if (!outcome.ok) throw new Error(`the script failed: ${outcome.error.name}: ${outcome.error.message}`)
  return outcome.result
}

describe('a hostile /tmp: things planted under every name the store uses', () => {
  for (const kind of kinds) {
    const itWhenPossible = kind === 'device' && !canMknod ? it.skip : it
    itWhenPossible(
      `${kind}: no block, nothing outside touched, the right bytes or a miss, the key usable again`,
      async () => {
        const canary = makeCanary()
        const before = digestOf(canary.dir)
        const environment = await startStoreEnvironment({ timeoutMs: 10_000 })
        const storeDir = storeDirOf(environment.tmpDir)
        for (const [index, { label, name }] of names.entries()) {
          const key = `victim/${index}`
          // The entry exists and this thread has checked it (the fast path is the one a plant must not fool).
          await run(environment, { op: 'put', key, size })
          expect(await run(environment, { op: 'get', key })).toEqual({ found: true, intact: true, size })
          const planted = join(storeDir, name(key))
          // The plant replaces what is there (the store's own file, for .data, .meta and .budget).
          rmSync(planted, { force: true })
          await plant(kind, planted, canary)
          const outcomes = await runScript(environment, key)
          const context = `${kind} as ${label}`
          // Every call answered without an error: a damaged entry is a miss, then fetched again.
          expect({ context, failed: outcomes.filter((outcome) => !outcome.ok) }).toEqual({
            context,
            failed: [],
          })
          const [get, has, path, fetched, afterFetch, put, afterPut, , other, , reopened, , refetched, last] =
            outcomes.map((outcome) => outcome.result as Record<string, unknown>)
          // Before the fetch: the right bytes (a plant that did not damage this entry) or nothing.
          if (get?.found)
            expect({ context, get }).toEqual({ context, get: { found: true, intact: true, size } })
          expect({ context, has: has?.has }).toEqual({ context, has: Boolean(get?.found) })
          expect({ context, path: path?.path === null }).toEqual({ context, path: !get?.found })
          expect(fetched).toMatchObject({ size })
          expect({ context, afterFetch }).toEqual({
            context,
            afterFetch: { found: true, intact: true, size },
          })
          expect(put).toMatchObject({ size: size + 1 })
          expect(afterPut).toEqual({ found: true, intact: true, size: size + 1 })
          expect(other).toEqual({ found: true, intact: true, size: 10 })
          expect(reopened).toEqual({ found: true, intact: true, size: size + 1 })
          expect(refetched).toMatchObject({ hit: false, size })
          expect(last).toEqual({ found: true, intact: true, size })
          // Nothing outside the directory was read through, written, created, renamed or removed.
          expect({ context, canary: digestOf(canary.dir) }).toEqual({ context, canary: before })
          expect(existsSync(canary.absent)).toBe(false)
          expect(readFileSync(canary.file, 'utf8')).toBe('precious bytes outside the store')

          // The same plant met first by a new store's constructor (the next init's rebuild), then put.
          rmSync(planted, { force: true, recursive: true })
          await plant(kind, planted, canary)
          const initOutcome = await environment.invoke<StepOutcome[]>({
            op: 'script',
            steps: [
              { op: 'reopen', key },
              { op: 'put', key, size: size + 2 },
              { op: 'get', key },
            ],
          })
          if (!initOutcome.ok)
            throw new Error(`${context} at init: ${initOutcome.error.name}: ${initOutcome.error.message}`)
          const [atInit, putAfterInit, getAfterInit] = initOutcome.result
          expect({ context, atInit: atInit?.ok, put: putAfterInit?.ok }).toEqual({
            context,
            atInit: true,
            put: true,
          })
          const seen = atInit?.result as Record<string, unknown>
          // A plant on the entry's own files makes it a miss; elsewhere the entry is served whole.
          if (seen.found)
            expect({ context, seen }).toEqual({ context, seen: { found: true, intact: true, size } })
          expect(getAfterInit?.result).toEqual({ found: true, intact: true, size: size + 2 })
          expect({ context, canary: digestOf(canary.dir) }).toEqual({ context, canary: before })
          expect(existsSync(canary.absent)).toBe(false)
        }
        await closeSockets()
        // And the directory holds no link, FIFO or hard link the store would follow or serve.
        for (const name of readdirSync(storeDir)) {
          const stats = lstatSync(join(storeDir, name))
          if (/\.(data|meta)$/.test(name))
            expect({ name, own: stats.isFile() && stats.nlink === 1 }).toEqual({ name, own: true })
        }
      },
    )
  }
})
