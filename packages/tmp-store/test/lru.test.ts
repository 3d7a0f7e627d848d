// The least-recently-used order of eviction (entries.ts' index, budget.ts' scan): every kind of hit
// moves its entry to the most recent end, ties within a millisecond keep this thread's order, an entry
// another store wrote counts as used once this store reads it, and the mtime that records a use for
// other processes is set at most once a second.
import { lstatSync, readdirSync } from 'node:fs'
import { afterAll, describe, expect, it } from '@jest/globals'
import { TmpStore } from '../src/index.ts'
import { cleanUp, entryFile, hashOf, keysOnDisk, scratchDir, setLastUse, sleep } from './helpers.ts'

afterAll(cleanUp)

describe('the eviction order', () => {
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

  it('every kind of hit (get, getOrFetch, path) moves its entry to the most recently used end, even within one millisecond', async () => {
    // p is written before q, then hit. Every data file then gets the same mtime, an hour ahead: the
    // last uses tie, so only this thread's order decides what goes, and the hit must have put p last.
    const hits: Record<string, (store: TmpStore) => Promise<unknown>> = {
      get: (store) => store.get('p'),
      getOrFetch: (store) => store.getOrFetch('p', () => 'never fetched'),
      path: (store) => store.path('p'),
    }
    for (const [kind, hit] of Object.entries(hits)) {
      const dir = scratchDir(`hit-${kind}`)
      const store = new TmpStore({ dir, maxBytes: 200 })
      await store.put('p', Buffer.alloc(100, 1))
      await store.put('q', Buffer.alloc(100, 2))
      await hit(store)
      const future = Date.now() + 3_600_000
      for (const key of ['p', 'q']) setLastUse(dir, key, future)
      await store.put('new', Buffer.alloc(100, 3))
      expect({ kind, kept: keysOnDisk(dir, ['p', 'q', 'new']) }).toEqual({ kind, kept: ['p', 'new'] })
    }
  })
})

describe('what counts as a use', () => {
  it('counts every kind of hit as a use for the LRU order: get, getOrFetch and path', async () => {
    for (const use of ['get', 'getOrFetch', 'path'] as const) {
      const store = new TmpStore({ dir: scratchDir(`recency-${use}`), maxBytes: 300 })
      await store.put('a', Buffer.alloc(100))
      await sleep(2) // distinct use times, whatever the clock's resolution
      await store.put('b', Buffer.alloc(100))
      await sleep(2)
      await store.put('c', Buffer.alloc(100))
      await sleep(2)
      if (use === 'get') await store.get('a')
      else if (use === 'path') await store.path('a')
      else expect((await store.getOrFetch('a', () => Buffer.alloc(100))).hit).toBe(true)
      await store.put('d', Buffer.alloc(100))
      expect({ use, kept: [await store.has('a'), await store.has('b')] }).toEqual({
        use,
        kept: [true, false],
      })
    }
  })
})
