// tmpStoreStats(): this thread's counts across every store it opened, read from the modules that
// own them (hits and misses in store.ts, evictions in budget.ts).
import { afterAll, describe, expect, it } from '@jest/globals'
import { TmpStore, tmpStoreStats } from '../src/index.ts'
import { cleanUp, scratchDir } from './helpers.ts'

afterAll(cleanUp)

describe('tmpStoreStats', () => {
  it("adds up every store's hits, misses and evictions, and counts the stores opened", async () => {
    const before = tmpStoreStats()
    const first = new TmpStore({ dir: scratchDir('stats-a'), maxBytes: 200 })
    const second = new TmpStore({ dir: scratchDir('stats-b'), maxBytes: 200 })
    await first.getOrFetch('a', () => Buffer.alloc(100)) // a miss
    await first.getOrFetch('a', () => Buffer.alloc(100)) // a hit
    expect(await second.get('nothing')).toBeUndefined() // a miss
    await second.put('b', Buffer.alloc(150))
    await second.put('c', Buffer.alloc(150)) // evicts b
    expect(await second.get('c')).toHaveLength(150) // a hit
    const after = tmpStoreStats()
    expect({
      stores: after.stores - before.stores,
      hits: after.hits - before.hits,
      misses: after.misses - before.misses,
      evictions: after.evictions - before.evictions,
    }).toEqual({ stores: 2, hits: 2, misses: 2, evictions: 1 })
    // A copy: changing it changes nothing.
    after.hits = -1
    expect(tmpStoreStats().hits).toBeGreaterThanOrEqual(2)
    // Each store's own counts are its stats().
    expect(first.stats()).toMatchObject({ hits: 1, misses: 1, evictions: 0 })
    expect(second.stats()).toMatchObject({ hits: 1, misses: 1, evictions: 1 })
  })
})
