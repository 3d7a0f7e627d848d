// Issue 16, item 2: guarantees of the read, write and budget modules that the first mutation run
// (`pnpm mutate tmp-store`, 53.6 %) showed no test checked. Each test states a behaviour: what a
// caller of the store sees, or what is on disk afterwards (damaged metadata, data and ledgers are
// planted by hand). Everything here runs in the test's own process, so Stryker sees what each test
// reaches. The locks are in mutation-survivors-locks.test.ts; the failures that need a file system
// of the test's own (a full disk, a name that cannot be removed) in mutation-survivors-fs.test.ts;
// the mutants no test can tell from the original in the README's "Mutation testing" section.
import {
  existsSync,
  linkSync,
  lstatSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  truncateSync,
  watch,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, describe, expect, it, jest } from '@jest/globals'
import fc from 'fast-check'
import { type TmpEntryInfo, TmpStore, TmpStoreEntryTooLargeError } from '../src/index.ts'
import {
  cleanUp,
  dataBytesIn,
  deadPid,
  entryFile,
  hashOf,
  keysOnDisk,
  ledgerOf,
  openFilesUnder,
  scratchDir,
  setLastUse,
  sleep,
  waitFor,
} from './helpers.ts'

afterAll(cleanUp)

describe('the byte budget and the eviction order', () => {
  type Step =
    | { op: 'put' | 'getOrFetch'; key: number; size: number }
    | { op: 'get' | 'path' | 'has' | 'delete'; key: number }

  const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'] as const
  const maxBytes = 1000
  const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      op: fc.constantFrom('put' as const, 'getOrFetch' as const),
      key: fc.nat(keys.length - 1),
      // Mostly entries that fit several times over, some as large as the budget or larger.
      size: fc.oneof(fc.integer({ min: 0, max: 450 }), fc.integer({ min: 0, max: maxBytes + 50 })),
    }),
    fc.record({
      op: fc.constantFrom('get' as const, 'path' as const, 'has' as const, 'delete' as const),
      key: fc.nat(keys.length - 1),
    }),
  )

  it('never holds more than maxBytes and evicts least recently used first, only as much as needed (one store, by generators)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArbitrary, { minLength: 1, maxLength: 12 }), async (steps) => {
        const dir = scratchDir('lru')
        const store = new TmpStore({ dir, maxBytes })
        // The model: the entries, least recently used first, with the fill byte of their version.
        const model = new Map<string, { size: number; fill: number }>()
        const total = () => [...model.values()].reduce((sum, entry) => sum + entry.size, 0)
        const use = (key: string) => {
          const entry = model.get(key)
          if (!entry) return
          model.delete(key)
          model.set(key, entry)
        }
        // A write evicts least recently used entries (never the key's own older version, whose bytes
        // leave with it) until the new version fits, then is the most recently used.
        const write = (key: string, size: number, fill: number) => {
          let bytes = total() - (model.get(key)?.size ?? 0) + size
          for (const [other, entry] of model) {
            if (bytes <= maxBytes) break
            if (other === key) continue
            model.delete(other)
            bytes -= entry.size
          }
          model.delete(key)
          model.set(key, { size, fill })
        }
        let version = 0
        let deleted = false
        for (const step of steps) {
          // Calls at least a millisecond apart: the least recently used is then the one called
          // longest ago. (Within one millisecond a file's mtime, which has sub-millisecond digits,
          // can outrank a later use the store records in whole milliseconds; ties are tested below.)
          await sleep(2)
          const key = keys[step.key] as string
          const expected = model.get(key)
          switch (step.op) {
            case 'put':
            case 'getOrFetch': {
              const fill = (++version % 255) + 1
              const bytes = Buffer.alloc(step.size, fill)
              if (step.op === 'getOrFetch' && expected) {
                expect(await store.getOrFetch(key, () => bytes)).toMatchObject({
                  hit: true,
                  size: expected.size,
                })
                use(key)
                break
              }
              const call = step.op === 'put' ? store.put(key, bytes) : store.getOrFetch(key, () => bytes)
              if (step.size > maxBytes) {
                await expect(call).rejects.toThrow(TmpStoreEntryTooLargeError)
                break
              }
              expect(await call).toMatchObject({ size: step.size })
              write(key, step.size, fill)
              break
            }
            case 'get': {
              const bytes = await store.get(key)
              if (expected) expect(bytes?.equals(Buffer.alloc(expected.size, expected.fill))).toBe(true)
              else expect(bytes).toBeUndefined()
              use(key)
              break
            }
            case 'path':
              expect(await store.path(key)).toBe(expected ? entryFile(dir, key, 'data') : undefined)
              use(key)
              break
            case 'has': // not a use
              expect(await store.has(key)).toBe(expected !== undefined)
              break
            case 'delete':
              expect(await store.delete(key)).toBe(expected !== undefined)
              model.delete(key)
              deleted = true
              break
          }
          expect(keysOnDisk(dir, keys)).toEqual(keys.filter((each) => model.has(each)))
          expect(dataBytesIn(dir)).toBe(total())
          // The ledger never counts less than what is on disk; without a delete (which does not take
          // the budget lock), it is exact.
          const ledger = ledgerOf(dir)
          if (ledger !== undefined) {
            expect(Number(ledger)).toBeGreaterThanOrEqual(total())
            if (!deleted) expect(Number(ledger)).toBe(total())
          }
        }
      }),
      {
        numRuns: 30,
        // First, the case a random run seldom makes: a new version of the least recently used entry,
        // larger, so that another entry must go too (the old version's bytes leave with it).
        examples: [
          [
            [
              { op: 'put', key: 0, size: 300 },
              { op: 'put', key: 1, size: 300 },
              { op: 'put', key: 2, size: 300 },
              { op: 'put', key: 0, size: 700 },
            ],
          ],
        ],
      },
    )
  })

  it("holds the budget on disk for two stores sharing the directory, and stats() counts every store's entries (by generators)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ store: fc.nat(1), key: fc.nat(keys.length - 1), size: fc.nat(450) }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (writes) => {
          const dir = scratchDir('two-stores')
          const stores = [new TmpStore({ dir, maxBytes }), new TmpStore({ dir, maxBytes })] as const
          // stats() reads the directory: asked of a third store, so that the writers learn of each
          // other's entries only as a commit does.
          const observer = new TmpStore({ dir, maxBytes })
          let version = 0
          for (const { store, key, size } of writes) {
            const writer = stores[store] as TmpStore
            const bytes = Buffer.alloc(size, (++version % 255) + 1)
            await writer.put(keys[key] as string, bytes)
            expect((await writer.get(keys[key] as string))?.equals(bytes)).toBe(true)
            expect(dataBytesIn(dir)).toBeLessThanOrEqual(maxBytes)
            expect(Number(ledgerOf(dir))).toBeGreaterThanOrEqual(dataBytesIn(dir))
            expect(observer.stats()).toMatchObject({
              entries: keysOnDisk(dir, keys).length,
              bytes: dataBytesIn(dir),
            })
          }
        },
      ),
      { numRuns: 20 },
    )
  })

  it("orders last uses within one millisecond by this thread's order: entries it never used go first", async () => {
    // Every data file gets the same mtime, an hour ahead: every entry's last use is then the same
    // millisecond, and only the tie-break decides. The scan lists equal mtimes in directory order, so
    // the entry this store knows is put first in that order in one round and second in the other.
    for (const knownFirst of [true, false]) {
      const dir = scratchDir('ties')
      const reader = new TmpStore({ dir, maxBytes: 200 })
      const writer = new TmpStore({ dir, maxBytes: 200 })
      await writer.put('p', Buffer.alloc(100, 1))
      await writer.put('q', Buffer.alloc(100, 2))
      const inDirectoryOrder = readdirSync(dir)
        .filter((name) => name.endsWith('.data'))
        .map((name) => (name.startsWith(hashOf('p')) ? 'p' : 'q'))
      const known = inDirectoryOrder[knownFirst ? 0 : 1] as string
      const unknown = known === 'p' ? 'q' : 'p'
      // The reader learns of one entry by using it; the other it has never seen.
      expect((await reader.get(known))?.length).toBe(100)
      const future = Date.now() + 3_600_000
      for (const key of ['p', 'q']) setLastUse(dir, key, future)
      await reader.put('new', Buffer.alloc(100, 3))
      expect({ knownFirst, kept: keysOnDisk(dir, ['p', 'q', 'new']).sort() }).toEqual({
        knownFirst,
        kept: [known, 'new'].sort(),
      })
      expect(unknown).not.toBe(known)
    }
  })

  it('an entry another store wrote counts as used when this store reads it, for eviction too', async () => {
    // The reader opens first, so only its read tells it of `x`; `x` is also the oldest file.
    const dir = scratchDir('learned')
    const reader = new TmpStore({ dir, maxBytes: 300 })
    const writer = new TmpStore({ dir, maxBytes: 300 })
    await writer.put('x', Buffer.alloc(100, 1))
    await sleep(5)
    await reader.put('a1', Buffer.alloc(100, 2))
    await sleep(5)
    await reader.put('a2', Buffer.alloc(100, 3))
    await sleep(5)
    expect((await reader.get('x'))?.length).toBe(100)
    await sleep(5)
    await reader.put('a3', Buffer.alloc(100, 4))
    expect(keysOnDisk(dir, ['x', 'a1', 'a2', 'a3'])).toEqual(['x', 'a2', 'a3'])
  })

  it('honours a budget lowered since the last run at open: least recently used first, the ledger set to the truth', async () => {
    const dir = scratchDir('lowered')
    const before = new TmpStore({ dir, maxBytes: 500 })
    const keysWritten = ['e0', 'e1', 'e2', 'e3', 'e4']
    for (const [i, key] of keysWritten.entries()) await before.put(key, Buffer.alloc(100, i + 1))
    // Last uses as the files record them (what a new process reads), least recent first.
    const recency = ['e2', 'e0', 'e4', 'e1', 'e3']
    for (const [i, key] of recency.entries()) setLastUse(dir, key, Date.now() - (recency.length - i) * 1000)
    const after = new TmpStore({ dir, maxBytes: 250 })
    // At once, before any call: within the new budget, the two most recently used kept.
    expect(keysOnDisk(dir, keysWritten)).toEqual(['e1', 'e3'])
    expect(ledgerOf(dir)).toBe('200')
    expect(after.stats()).toMatchObject({ entries: 2, bytes: 200, evictions: 3 })
  })

  it('opening a store within its budget writes nothing: no lock, no ledger (a cold start only reads)', async () => {
    const empty = scratchDir('open-empty')
    new TmpStore({ dir: empty, maxBytes: 300 })
    expect(readdirSync(empty)).toEqual([])
    // Exactly at the budget: still within it.
    const full = scratchDir('open-full')
    const writer = new TmpStore({ dir: full, maxBytes: 300 })
    for (const key of ['a', 'b', 'c']) await writer.put(key, Buffer.alloc(100))
    const snapshot = () =>
      readdirSync(full)
        .sort()
        .map((name) => {
          const { ino, mtimeMs } = lstatSync(join(full, name))
          return { name, ino, mtimeMs }
        })
    const before = snapshot()
    new TmpStore({ dir: full, maxBytes: 300 })
    expect(snapshot()).toEqual(before)
  })

  it('a commit the ledger says fits scans no directory (with 10,000 entries a scan is a quarter second): a leftover only a scan removes stays', async () => {
    const dir = scratchDir('no-scan')
    const store = new TmpStore({ dir, maxBytes: 300 })
    await store.put('empty', '') // the first commit scans (no ledger yet): the ledger is now 0
    expect(ledgerOf(dir)).toBe('0')
    // What a crash leaves behind and a scan removes: a lock moved aside.
    const leftover = join(dir, `${hashOf('crashed')}.lock.stale-0123456789ab`)
    writeFileSync(leftover, '')
    const steps: Array<[string, number]> = [
      ['a', 100], // 0 + 100 fits
      ['b', 100], // 100 + 100
      ['b', 100], // a new version: 200 - 100 + 100
      ['c', 100], // 300: exactly the budget
    ]
    for (const [key, size] of steps) {
      await store.put(key, Buffer.alloc(size))
      expect({ key, leftover: existsSync(leftover), ledger: ledgerOf(dir) }).toEqual({
        key,
        leftover: true,
        ledger: String(dataBytesIn(dir)),
      })
    }
    // One that does not fit: the directory is scanned (the leftover goes) and the oldest evicted.
    await store.put('d', Buffer.alloc(100))
    expect(existsSync(leftover)).toBe(false)
    expect(keysOnDisk(dir, ['empty', 'a', 'b', 'c', 'd'])).toEqual(['b', 'c', 'd'])
    expect(ledgerOf(dir)).toBe('300')
  })

  it('trusts no ledger it did not write (empty, negative, not digits): the next commit scans and the budget holds', async () => {
    const dir = scratchDir('damaged-ledger')
    const store = new TmpStore({ dir, maxBytes: 300 })
    for (const key of ['a', 'b', 'c']) await store.put(key, Buffer.alloc(100))
    // An empty file is what a power loss can leave of a renamed file whose data never reached the
    // disk; the rest is what a hand or another program could leave. Each would count too little.
    const planted = ['', '-1000', 'NaN', 'garbage', '0\n', ' 0', '0x0', '1e2', '12abc']
    for (const [i, text] of planted.entries()) {
      writeFileSync(join(dir, '.budget'), text)
      await store.put(`new${i}`, Buffer.alloc(100))
      expect({ text, bytes: dataBytesIn(dir), ledger: ledgerOf(dir) }).toEqual({
        text,
        bytes: 300,
        ledger: '300',
      })
    }
  })

  it("sets an entry's mtime at most once a second, counting the mtime another store set (learned from a scan)", async () => {
    const dir = scratchDir('touch')
    const reader = new TmpStore({ dir })
    const writer = new TmpStore({ dir })
    await writer.put('x', 'bytes of x')
    const written = lstatSync(entryFile(dir, 'x', 'data')).mtimeMs
    reader.stats() // the reader learns of x from the directory
    await sleep(20)
    expect((await reader.get('x'))?.toString()).toBe('bytes of x')
    expect(lstatSync(entryFile(dir, 'x', 'data')).mtimeMs).toBe(written)
  })
})

describe('reading: metadata, damaged entries, checksums, expiry', () => {
  // 1 MiB: the largest metadata file the store reads (it writes a few hundred bytes, plus `meta`).
  const maxMetaBytes = 1024 * 1024

  /** Metadata of exactly `bytes` bytes (a large `meta` string pads it). */
  const metaOfSize = (key: string, size: number, bytes: number): string => {
    const base = { v: 1, key, size, createdAt: Date.now(), meta: { pad: '' } }
    const padding = bytes - Buffer.byteLength(JSON.stringify(base))
    return JSON.stringify({ ...base, meta: { pad: 'x'.repeat(padding) } })
  }

  it("serves no entry whose metadata is not the store's own, and removes it; the key is fetched again", async () => {
    const data = 'ten bytes!'
    const cases: Record<string, string> = {
      'version 2': JSON.stringify({ v: 2, key: 'k', size: 10, createdAt: 1 }),
      'key not a string': JSON.stringify({ v: 1, key: 42, size: 10, createdAt: 1 }),
      'size not a number': JSON.stringify({ v: 1, key: 'k', size: '10', createdAt: 1 }),
      'not JSON': '{"v":1,"key":"k",',
      null: 'null',
      'over 1 MiB': metaOfSize('k', 10, maxMetaBytes + 1),
    }
    for (const [label, meta] of Object.entries(cases)) {
      const dir = scratchDir('bad-meta')
      writeFileSync(entryFile(dir, 'k', 'data'), data)
      writeFileSync(entryFile(dir, 'k', 'meta'), meta)
      const store = new TmpStore({ dir })
      expect({ label, got: await store.get('k') }).toEqual({ label, got: undefined })
      expect({ label, left: readdirSync(dir).filter((name) => name.startsWith(hashOf('k'))) }).toEqual({
        label,
        left: [],
      })
      expect(await store.getOrFetch('k', () => 'fetched')).toMatchObject({ hit: false, size: 7 })
    }
  })

  it('reads metadata up to 1 MiB (a large `meta` of the caller): exactly 1 MiB is served', async () => {
    const dir = scratchDir('large-meta')
    writeFileSync(entryFile(dir, 'k', 'data'), 'ten bytes!')
    writeFileSync(entryFile(dir, 'k', 'meta'), metaOfSize('k', 10, maxMetaBytes))
    expect(lstatSync(entryFile(dir, 'k', 'meta')).size).toBe(maxMetaBytes)
    expect((await new TmpStore({ dir }).get('k'))?.toString()).toBe('ten bytes!')
  })

  it("leaves another key's entry under the name alone: not served, not removed", async () => {
    const dir = scratchDir('other-key')
    // As a hash collision would: metadata naming another key beside this key's data file.
    writeFileSync(entryFile(dir, 'k', 'data'), 'not yours')
    writeFileSync(entryFile(dir, 'k', 'meta'), JSON.stringify({ v: 1, key: 'other', size: 9, createdAt: 1 }))
    const store = new TmpStore({ dir })
    expect(await store.get('k')).toBeUndefined()
    expect(await store.has('k')).toBe(false)
    expect(await store.path('k')).toBeUndefined()
    expect(readFileSync(entryFile(dir, 'k', 'data'), 'utf8')).toBe('not yours')
    expect(existsSync(entryFile(dir, 'k', 'meta'))).toBe(true)
  })

  it('a data file whose size does not match its metadata is no entry for has() and path() either, and is removed', async () => {
    const dir = scratchDir('size')
    await new TmpStore({ dir }).put('k', 'twelve bytes')
    truncateSync(entryFile(dir, 'k', 'data'), 5)
    const store = new TmpStore({ dir })
    expect(await store.path('k')).toBeUndefined()
    expect(existsSync(entryFile(dir, 'k', 'data'))).toBe(false)
    await new TmpStore({ dir }).put('k', 'twelve bytes')
    truncateSync(entryFile(dir, 'k', 'data'), 5)
    expect(await new TmpStore({ dir }).has('k')).toBe(false)
  })

  it('get() removes a damaged entry it finds (a link planted as its data file)', async () => {
    const dir = scratchDir('get-drops')
    const outside = join(scratchDir('get-drops-outside'), 'target')
    writeFileSync(outside, 'ten bytes!')
    const store = new TmpStore({ dir })
    await store.put('k', 'ten bytes!')
    // Replaced by a link to a file of the same size elsewhere (get() opens without following it).
    renameSync(`${entryFile(dir, 'k', 'data')}`, join(dir, 'moved-away'))
    symlinkSync(outside, entryFile(dir, 'k', 'data'))
    expect(await store.get('k')).toBeUndefined()
    expect(readdirSync(dir).filter((name) => name.startsWith(hashOf('k')))).toEqual([])
    expect(readFileSync(outside, 'utf8')).toBe('ten bytes!') // only the link went
  })

  it('the fast path too refuses a checked data file that gained a second name (a hard link made to it)', async () => {
    const dir = scratchDir('linked')
    const store = new TmpStore({ dir })
    await store.put('k', 'ten bytes!')
    expect(await store.has('k')).toBe(true) // checked: the next lookups are decided in memory
    linkSync(entryFile(dir, 'k', 'data'), join(scratchDir('linked-outside'), 'second-name'))
    expect(await store.has('k')).toBe(false)
    expect(await store.path('k')).toBeUndefined()
  })

  it('serves the new version another store wrote over a version this store had checked', async () => {
    const dir = scratchDir('new-version')
    const reader = new TmpStore({ dir })
    await reader.put('k', 'aaaa')
    expect((await reader.get('k'))?.toString()).toBe('aaaa')
    await new TmpStore({ dir }).put('k', 'bbbbbbbb')
    expect((await reader.get('k'))?.toString()).toBe('bbbbbbbb')
  })

  it('checksum on: has(), path() and getOrFetch() verify too, leave no descriptor open, and serve an entry stored without a checksum', async () => {
    const dir = scratchDir('checksum-lookups')
    await new TmpStore({ dir, checksum: true }).put('k', 'checked bytes')
    // Fresh stores: nothing verified in memory yet.
    expect(await new TmpStore({ dir, checksum: true }).has('k')).toBe(true)
    expect(openFilesUnder(dir)).toEqual([])
    expect(await new TmpStore({ dir, checksum: true }).path('k')).toBe(entryFile(dir, 'k', 'data'))
    expect(await new TmpStore({ dir, checksum: true }).getOrFetch('k', () => 'unused')).toMatchObject({
      hit: true,
    })
    expect((await new TmpStore({ dir, checksum: true }).get('k'))?.toString()).toBe('checked bytes')
    // Same size, other bytes, same file: has() refuses it as get() does.
    writeFileSync(entryFile(dir, 'k', 'data'), 'checkeD bytes')
    expect(await new TmpStore({ dir, checksum: true }).has('k')).toBe(false)
    // Stored by a store without checksums: nothing to verify, so it is served.
    const plain = scratchDir('checksum-absent')
    await new TmpStore({ dir: plain }).put('u', 'unchecked bytes')
    expect(await new TmpStore({ dir: plain, checksum: true }).has('u')).toBe(true)
    expect((await new TmpStore({ dir: plain, checksum: true }).get('u'))?.toString()).toBe('unchecked bytes')
  })

  it('checksum on: a checked version that a rescan saw change size is checked again, even once its size is back', async () => {
    const dir = scratchDir('rechecked')
    const store = new TmpStore({ dir, checksum: true })
    await store.put('k', 'abcdefghij')
    expect((await store.get('k'))?.toString()).toBe('abcdefghij')
    const data = entryFile(dir, 'k', 'data')
    truncateSync(data, 5) // in place: the same file
    store.stats() // a rescan sees 5 bytes
    writeFileSync(data, 'XXXXXXXXXX') // in place again, the checked size, other bytes
    expect(await store.get('k')).toBeUndefined()
  })

  it("hands validate() the entry's expiresAt exactly when it has one, and expires it from that millisecond on", async () => {
    const store = new TmpStore({ dir: scratchDir('expiry') })
    await store.getOrFetch('ttl', () => 'expiring', { ttlMs: 60_000 })
    await store.getOrFetch('forever', () => 'kept')
    const seen: TmpEntryInfo[] = []
    const validate = (info: TmpEntryInfo) => {
      seen.push(info)
      return true
    }
    await store.getOrFetch('ttl', () => 'unused', { validate })
    await store.getOrFetch('forever', () => 'unused', { validate })
    const [ttl, forever] = seen as [TmpEntryInfo, TmpEntryInfo]
    expect(Object.keys(ttl).sort()).toEqual(['createdAt', 'expiresAt', 'key', 'meta', 'path', 'size'])
    expect(ttl.expiresAt).toBe(ttl.createdAt + 60_000)
    expect(Object.keys(forever).sort()).toEqual(['createdAt', 'key', 'meta', 'path', 'size'])
    // Only Date is faked (no timer): the clock at the last millisecond before expiresAt, then at it.
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'requestAnimationFrame',
        'cancelAnimationFrame',
        'requestIdleCallback',
        'cancelIdleCallback',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
      now: (ttl.expiresAt as number) - 1,
    })
    try {
      expect((await store.get('ttl'))?.toString()).toBe('expiring')
      jest.setSystemTime(ttl.expiresAt as number)
      expect(await store.get('ttl')).toBeUndefined()
    } finally {
      jest.useRealTimers()
    }
  })
})

describe('writing: what a failed or crashed write leaves', () => {
  it('a fetch that fails mid-stream reaches the caller as it is, and leaves no partial file, lock or descriptor', async () => {
    const dir = scratchDir('failed-stream')
    const store = new TmpStore({ dir })
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(1000, 1)
        throw new Error('the download failed')
      })(),
    )
    const error = await store
      .getOrFetch('k', () => failing)
      .then(
        () => undefined,
        (thrown: unknown) => thrown,
      )
    expect((error as Error).message).toBe('the download failed')
    expect(readdirSync(dir)).toEqual([])
    expect(openFilesUnder(dir)).toEqual([])
  })

  it('every temporary name a put writes under is one the next init removes once its writer is dead', async () => {
    const dir = scratchDir('temporary-names')
    const store = new TmpStore({ dir })
    await store.put('k', 'first version') // a ledger and an entry to replace
    const seen = new Set<string>()
    // inotify reports every name created in the directory, however briefly it lived.
    const watcher = watch(dir, (_event, name) => {
      if (name) seen.add(name)
    })
    try {
      await store.put('k', 'second version')
      await waitFor(() => (seen.has(`${hashOf('k')}.meta`) ? true : undefined), {
        what: 'the metadata renamed into place',
      })
    } finally {
      watcher.close()
    }
    const temporary = [...seen].filter((name) => name.includes(`.${process.pid}-`))
    expect(temporary.map((name) => name.replace(/^.*\./, '')).sort()).toEqual([
      'data-partial',
      'meta-partial',
      'partial',
    ])
    // The same names left by a writer that died (a pid no process has), where the next init looks.
    const crashed = scratchDir('temporary-names-crashed')
    for (const name of temporary)
      writeFileSync(join(crashed, name.replace(`.${process.pid}-`, `.${deadPid}-`)), 'left by a crash')
    new TmpStore({ dir: crashed })
    expect(readdirSync(crashed)).toEqual([])
  })
})
