// The byte budget across every thread and process sharing a directory (budget.ts): never more than
// maxBytes on disk, the ledger (checked against the entries the store can see, no scan while it says
// an entry fits), a budget lowered between runs, the default budget, and what a full disk or a name
// that cannot be removed does to a commit. Failures are real ones on a file system of the test's own
// (file-systems.ts).
import { existsSync, lstatSync, readdirSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { defaultBudget, TmpStore, TmpStoreEntryTooLargeError } from '../src/index.ts'
import {
  bindOver,
  boundDir,
  itWithMount,
  leaveFree,
  leftoversIn,
  mountStoreDir,
  unmountLeftoverBinds,
} from './file-systems.ts'
import {
  cleanUp,
  dataBytesIn,
  entryFile,
  hashOf,
  keysOnDisk,
  ledgerOf,
  rejectionOf,
  scratchDir,
  setLastUse,
  sleep,
  startStoreEnvironment,
  storeDirOf,
} from './helpers.ts'

afterAll(cleanUp)
beforeAll(unmountLeftoverBinds)

const environmentMaxBytes = 200_000

describe('the byte budget, in execution environments', () => {
  it('holds across many invocations of random sizes, in two environments sharing the directory', async () => {
    const tmpDir = scratchDir('budget')
    const environments = await Promise.all([
      startStoreEnvironment({ tmpDir, maxBytes: environmentMaxBytes }),
      startStoreEnvironment({ tmpDir, maxBytes: environmentMaxBytes }),
    ])
    const storeDir = storeDirOf(tmpDir)
    let round = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            size: fc.integer({ min: 0, max: environmentMaxBytes + 20_000 }),
            key: fc.integer({ min: 0, max: 30 }),
          }),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        async (writes) => {
          round++
          // Pairs of invocations run at once, one in each environment.
          for (let i = 0; i < writes.length; i += 2) {
            const outcomes = await Promise.all(
              writes
                .slice(i, i + 2)
                .map(({ size, key }, j) =>
                  environments[j]?.invoke({ op: 'getOrFetch', key: `r${round % 3}/k${key}`, size }),
                ),
            )
            for (const [j, outcome] of outcomes.entries()) {
              const size = writes[i + j]?.size ?? 0
              if (size > environmentMaxBytes)
                expect(outcome?.ok ? 'stored' : outcome?.error.name).toBe('TmpStoreEntryTooLargeError')
              // Lambda's error in the failure message: a timeout under load reads otherwise like a refusal.
              else
                expect(outcome?.ok ? 'stored' : `${outcome?.error.name}: ${outcome?.error.message}`).toBe(
                  'stored',
                )
            }
            expect(dataBytesIn(storeDir)).toBeLessThanOrEqual(environmentMaxBytes)
          }
        },
      ),
      { numRuns: 12, seed: 6 },
    )
    let evictions = 0
    for (const environment of environments) {
      const outcome = await environment.invoke<{
        stats: { bytes: number; maxBytes: number; evictions: number }
      }>({
        op: 'stats',
      })
      expect(outcome.ok && outcome.result.stats.maxBytes).toBe(environmentMaxBytes)
      expect(outcome.ok && outcome.result.stats.bytes).toBeLessThanOrEqual(environmentMaxBytes)
      evictions += outcome.ok ? outcome.result.stats.evictions : 0
    }
    // The sizes overflow the budget many times over: it held because entries were evicted.
    expect(evictions).toBeGreaterThan(10)
  })
})

describe('the byte budget in one process', () => {
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
})

describe('the ledger', () => {
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

  it('rebuilds a ledger that counts fewer bytes than the entries it can see: a .budget of 0 written between puts never lets the budget go', async () => {
    // The report: 0 planted before each put of 300 kB under 1 MiB let 2.46 MB be committed.
    const dir = scratchDir('planted-zero')
    const maxBytes = 1024 * 1024
    const store = new TmpStore({ dir, maxBytes })
    for (let i = 0; i < 8; i++) {
      writeFileSync(join(dir, '.budget'), '0')
      await store.put(`k${i}`, Buffer.alloc(300_000, i + 1))
      expect({ i, bytes: dataBytesIn(dir) <= maxBytes, ledger: ledgerOf(dir) }).toEqual({
        i,
        bytes: true,
        ledger: String(dataBytesIn(dir)),
      })
    }
    // Three of 300 kB fit in 1 MiB; the others were evicted, least recently used first.
    expect(keysOnDisk(dir, ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'])).toEqual(['k5', 'k6', 'k7'])
    expect(store.stats().evictions).toBe(5)
  })

  it('a planted ledger of any value never lets the entries on disk exceed maxBytes, and the ledger never counts less than they hold (by generators)', async () => {
    const maxBytes = 1000
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            planted: fc.option(fc.oneof(fc.nat(3 * maxBytes), fc.nat()), { nil: undefined }),
            key: fc.nat(5),
            size: fc.nat(450),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        async (steps) => {
          const dir = scratchDir('planted')
          const store = new TmpStore({ dir, maxBytes })
          for (const { planted, key, size } of steps) {
            if (planted !== undefined) writeFileSync(join(dir, '.budget'), String(planted))
            await store.put(`k${key}`, Buffer.alloc(size, 1))
            expect(dataBytesIn(dir)).toBeLessThanOrEqual(maxBytes)
            expect(Number(ledgerOf(dir))).toBeGreaterThanOrEqual(dataBytesIn(dir))
            expect((await store.get(`k${key}`))?.length).toBe(size)
          }
        },
      ),
      { numRuns: 40 },
    )
  })
})

describe('a full disk (ENOSPC) and names that cannot be removed, at a commit', () => {
  itWithMount(
    "evicts least recently used entries until the write that failed fits (another store's entries too), and retries it once",
    async () => {
      const { path: mountPoint, dir, unmount } = mountStoreDir('enospc-evicts', 'size=1m')
      try {
        // The writer opens first: the eight entries are another store's, which it knows only by a
        // scan. A budget far above the disk: only the disk is short.
        const writer = new TmpStore({ dir, maxBytes: 100_000 })
        const other = new TmpStore({ dir, maxBytes: 100_000 })
        const keys = ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7']
        for (const key of keys) await other.put(key, Buffer.alloc(4096, 1))
        for (const [i, key] of keys.entries()) setLastUse(dir, key, Date.now() - (keys.length - i) * 1000)
        leaveFree(mountPoint, 2)
        // A stream (its size unknown before it is written) of one 20 KiB chunk: the room it needs is
        // five entries, more than a tenth of the budget (10,000 bytes).
        const bytes = Buffer.alloc(20_480, 2)
        await writer.put('big', Readable.from([bytes]))
        expect(keysOnDisk(dir, [...keys, 'big'])).toEqual(['e5', 'e6', 'e7', 'big'])
        expect(writer.stats()).toMatchObject({ evictions: 5, bytes: 3 * 4096 + 20_480 })
        expect(ledgerOf(dir)).toBe(String(dataBytesIn(dir)))
        expect((await writer.get('big'))?.equals(bytes)).toBe(true)
      } finally {
        unmount()
      }
    },
  )

  itWithMount(
    'a ledger that cannot be written is removed (never left counting too little), and the commit lands in the room that frees',
    async () => {
      const { path: mountPoint, dir, unmount } = mountStoreDir('enospc-ledger', 'size=256k')
      try {
        const store = new TmpStore({ dir, maxBytes: 10_000_000 })
        await store.put('old', Buffer.alloc(4096, 1))
        expect(ledgerOf(dir)).toBe('4096')
        // The key's lock and the data: the old ledger's page is the only one the metadata can have.
        const filler = leaveFree(mountPoint, 3)
        const bytes = Buffer.alloc(8192, 2)
        await store.put('k', bytes)
        expect((await store.get('k'))?.equals(bytes)).toBe(true)
        expect(ledgerOf(dir)).toBeUndefined()
        // The next commit scans, and the ledger is the truth again.
        unlinkSync(filler)
        await store.put('next', Buffer.alloc(4096, 3))
        expect(ledgerOf(dir)).toBe(String(dataBytesIn(dir)))
      } finally {
        unmount()
      }
    },
  )

  itWithMount(
    'an entry that cannot be evicted fails the commit naming its file; nothing stays locked, and the put works once it can',
    async () => {
      const dir = boundDir('busy-evict')
      const store = new TmpStore({ dir, maxBytes: 300 })
      for (const key of ['a', 'b', 'c']) await store.put(key, Buffer.alloc(100))
      const source = join(scratchDir('busy-evict-source'), 'a')
      writeFileSync(source, Buffer.alloc(100))
      const unbind = bindOver(source, entryFile(dir, 'a', 'data'))
      setLastUse(dir, 'a', Date.now() - 60_000) // (the mounted file's: still the least recently used)
      try {
        const error = await rejectionOf(store.put('d', Buffer.alloc(100)))
        expect(error).toMatchObject({ code: 'THAW_TMP_STORE_FILE_SYSTEM', path: entryFile(dir, 'a', 'data') })
        expect(error.message).toMatch(/^@thaw\/tmp-store: could not evict an entry \(.*\.data\): EBUSY$/)
        expect((error.cause as NodeJS.ErrnoException).code).toBe('EBUSY')
        expect(leftoversIn(dir)).toEqual([])
        expect(keysOnDisk(dir, ['d'])).toEqual([])
      } finally {
        unbind()
      }
      await store.put('d', Buffer.alloc(100))
      expect(keysOnDisk(dir, ['a', 'b', 'c', 'd'])).toEqual(['b', 'c', 'd'])
    },
  )

  itWithMount(
    'a ledger that can be neither replaced nor removed fails the commit rather than leave it counting too little',
    async () => {
      const dir = boundDir('busy-ledger')
      const store = new TmpStore({ dir, maxBytes: 300 })
      await store.put('a', Buffer.alloc(100))
      const source = join(scratchDir('busy-ledger-source'), 'budget')
      writeFileSync(source, '0')
      const unbind = bindOver(source, join(dir, '.budget'))
      try {
        const error = await rejectionOf(store.put('b', Buffer.alloc(100)))
        expect(error).toMatchObject({ code: 'THAW_TMP_STORE_FILE_SYSTEM', path: join(dir, '.budget') })
        expect(error.message).toMatch(/^@thaw\/tmp-store: could not update the ledger \(.*\.budget\): EBUSY$/)
        expect(keysOnDisk(dir, ['a', 'b'])).toEqual(['a'])
        expect(leftoversIn(dir)).toEqual([])
      } finally {
        unbind()
      }
      await store.put('b', Buffer.alloc(100))
      expect(ledgerOf(dir)).toBe('200')
    },
  )
})

describe('the default budget', () => {
  it('bounds the default budget by the file system (half its size, 90 % of free plus stored)', () => {
    const dir = scratchDir('default-budget')
    const before = statfsSync(dir)
    const store = new TmpStore({ dir })
    const after = statfsSync(dir)
    const { blocks, bsize } = after
    // Others write to this file system too: free space is taken at its largest around the opening.
    const free = Math.max(before.bavail, after.bavail) * bsize
    expect(store.maxBytes).toBeLessThanOrEqual(Math.floor(blocks * bsize * defaultBudget.shareOfSize))
    expect(store.maxBytes).toBeLessThanOrEqual(Math.ceil(free * defaultBudget.shareOfFree))
    expect(store.maxBytes).toBeGreaterThan(0)
    expect(Number.isSafeInteger(store.maxBytes)).toBe(true)
  })
})
