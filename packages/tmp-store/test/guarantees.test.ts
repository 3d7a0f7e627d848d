// Issue 16 (tmp-store part): tests that fail when a guarantee is quietly dropped, without root or a
// tmpfs. Each names the change it catches.
import { createHash } from 'node:crypto'
import { lstatSync, readdirSync, statfsSync, symlinkSync, watch, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, describe, expect, it } from '@jest/globals'
import { defaultBudget, TmpStore } from '../src/index.ts'
import { cleanUp, scratchDir, sleep, waitFor } from './helpers.ts'

afterAll(cleanUp)

const hashOf = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex')

describe('guarantees that a quiet change would break', () => {
  it('commits by rename: the data file is the very file that was streamed (not a copy of it)', async () => {
    // A copy-and-unlink commit makes a new inode, and a reader could see the copy half-written.
    const store = new TmpStore({ dir: scratchDir('rename') })
    const inodes: number[] = []
    const data = Readable.from(
      (async function* () {
        yield Buffer.alloc(1000, 1)
        // Mid-stream: the partial file exists; remember its inode.
        for (const name of readdirSync(store.dir))
          if (name.endsWith('.data-partial')) inodes.push(lstatSync(join(store.dir, name)).ino)
        yield Buffer.alloc(1000, 2)
      })(),
    )
    const entry = await store.put('streamed', data)
    expect(inodes).toHaveLength(1)
    expect(lstatSync(entry.path).ino).toBe(inodes[0])
    expect(readdirSync(store.dir).filter((name) => name.includes('partial'))).toEqual([])
  })

  it('renames the data into place before the metadata (a crash between them leaves a mismatch, not old bytes under new metadata)', async () => {
    const store = new TmpStore({ dir: scratchDir('order') })
    await store.put('k', 'first version')
    const hash = hashOf('k')
    const seen: string[] = []
    // inotify reports the renames in the order they happened.
    const watcher = watch(store.dir, (_event, name) => {
      if (name === `${hash}.data` || name === `${hash}.meta`) seen.push(name)
    })
    try {
      await store.put('k', 'second version')
      await waitFor(() => (seen.length >= 2 ? true : undefined), { what: 'both renames', withinMs: 10_000 })
    } finally {
      watcher.close()
    }
    expect(seen.slice(0, 2)).toEqual([`${hash}.data`, `${hash}.meta`])
  })

  it('looks entries up with lstat: has() and path() never follow a planted symlink, nor does the rebuild', async () => {
    // With stat, the link below resolves to a regular file of the right size with matching metadata.
    const store = new TmpStore({ dir: scratchDir('lstat') })
    const outside = join(scratchDir('lstat-outside'), 'secret')
    writeFileSync(outside, 'fifteen bytes!!')
    const hash = hashOf('planted')
    symlinkSync(outside, join(store.dir, `${hash}.data`))
    writeFileSync(
      join(store.dir, `${hash}.meta`),
      JSON.stringify({ v: 1, key: 'planted', size: 15, createdAt: Date.now() }),
    )
    expect(await store.has('planted')).toBe(false)
    expect(await store.path('planted')).toBeUndefined()
    symlinkSync(outside, join(store.dir, `${hashOf('planted again')}.data`))
    writeFileSync(
      join(store.dir, `${hashOf('planted again')}.meta`),
      JSON.stringify({ v: 1, key: 'planted again', size: 15, createdAt: Date.now() }),
    )
    expect(new TmpStore({ dir: store.dir }).stats()).toMatchObject({ entries: 0, bytes: 0 })
  })

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

  it('shares one fetch among concurrent callers in a thread: every caller gets its result, none waits on the lock', async () => {
    // Without the in-thread single flight the file lock still fetches once, but the later callers
    // wait for the lock and then find the entry (hit: true).
    const store = new TmpStore({ dir: scratchDir('single-flight') })
    let fetches = 0
    const entries = await Promise.all(
      Array.from({ length: 5 }, () =>
        store.getOrFetch('k', async () => {
          fetches++
          await sleep(20)
          return 'value'
        }),
      ),
    )
    expect(fetches).toBe(1)
    expect(entries.map((entry) => entry.hit)).toEqual([false, false, false, false, false])
  })

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
