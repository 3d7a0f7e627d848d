import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import tmpStore, {
  openTmpStore,
  TmpStore,
  type TmpStoreContext,
  TmpStoreEntryTooLargeError,
  TmpStoreError,
  tmpStoreDefaults,
  tmpStoreValidateOptions,
} from '../src/index.ts'
import { canMountTmpfs, cleanUp, scratchDir, sleep } from './helpers.ts'

afterAll(cleanUp)

const newStore = (options: ConstructorParameters<typeof TmpStore>[0] = {}) =>
  new TmpStore({ dir: scratchDir('unit'), ...options })

describe('TmpStore without Middy', () => {
  it('stores every kind of data a fetch may return, streamed, and reads it back', async () => {
    const store = newStore()
    await store.put('buffer', Buffer.from('buffer bytes'))
    await store.put('uint8', new Uint8Array([1, 2, 3]))
    await store.put('string', 'héllo')
    await store.put('readable', Readable.from([Buffer.from('a'), Buffer.from('bc')]))
    await store.put(
      'iterable',
      (async function* () {
        yield new Uint8Array([9, 8])
        yield new Uint8Array([7])
      })(),
    )
    await store.put('empty', Buffer.alloc(0))
    expect((await store.get('buffer'))?.toString()).toBe('buffer bytes')
    expect([...((await store.get('uint8')) ?? [])]).toEqual([1, 2, 3])
    expect((await store.get('string'))?.toString()).toBe('héllo')
    expect((await store.get('readable'))?.toString()).toBe('abc')
    expect([...((await store.get('iterable')) ?? [])]).toEqual([9, 8, 7])
    expect((await store.get('empty'))?.length).toBe(0)
    expect(await store.get('missing')).toBeUndefined()
    expect(store.stats()).toMatchObject({
      entries: 6,
      bytes: 12 + 3 + 6 + 3 + 3,
      hits: 6,
      misses: 1,
      evictions: 0,
    })
    expect(await store.delete('buffer')).toBe(true)
    expect(await store.delete('buffer')).toBe(false)
    expect(await store.has('buffer')).toBe(false)
  })

  it('calls fetch once for concurrent callers in one thread, and keeps meta beside the data', async () => {
    const store = newStore()
    let fetches = 0
    const fetch = async () => {
      fetches++
      await sleep(30)
      return { data: 'v1', meta: { etag: '"1"' } }
    }
    const entries = await Promise.all(Array.from({ length: 5 }, () => store.getOrFetch('k', fetch)))
    expect(fetches).toBe(1)
    expect(entries.every((entry) => entry.size === 2)).toBe(true)
    let seenEtag: string | undefined
    const hit = await store.getOrFetch('k', fetch, {
      validate: (info) => {
        seenEtag = info.meta.etag
        return true
      },
    })
    expect(hit.hit).toBe(true)
    expect(seenEtag).toBe('"1"')
  })

  it('refreshes an entry its validator calls stale, and one whose ttl has passed', async () => {
    const store = newStore()
    await store.getOrFetch('etag', () => ({ data: 'old', meta: { etag: 'a' } }))
    const refreshed = await store.getOrFetch('etag', () => ({ data: 'newer', meta: { etag: 'b' } }), {
      validate: (info) => info.meta.etag === 'b',
    })
    expect(refreshed).toMatchObject({ hit: false, size: 5 })
    expect((await store.get('etag'))?.toString()).toBe('newer')

    await store.getOrFetch('short', () => 'first', { ttlMs: 40 })
    expect((await store.getOrFetch('short', () => 'unused')).hit).toBe(true)
    await sleep(60)
    expect(await store.get('short')).toBeUndefined()
    expect(await store.getOrFetch('short', () => 'second')).toMatchObject({ hit: false, size: 6 })
  })

  it('evicts the least recently used entries to stay within maxBytes, and refuses an entry larger than it', async () => {
    const store = newStore({ maxBytes: 300 })
    await store.put('a', Buffer.alloc(100))
    await store.put('b', Buffer.alloc(100))
    await store.put('c', Buffer.alloc(100))
    await store.get('a') // a is now more recent than b
    await store.put('d', Buffer.alloc(100))
    expect([await store.has('a'), await store.has('b'), await store.has('c'), await store.has('d')]).toEqual([
      true,
      false,
      true,
      true,
    ])
    expect(store.stats()).toMatchObject({ bytes: 300, evictions: 1 })
    await expect(store.put('huge', Buffer.alloc(301))).rejects.toThrow(TmpStoreEntryTooLargeError)
    await expect(store.put('huge', Buffer.alloc(301))).rejects.toMatchObject({
      code: 'THAW_TMP_STORE_ENTRY_TOO_LARGE',
      key: 'huge',
      message: expect.stringMatching(/^@thaw\/tmp-store: /),
    })
    await expect(store.put('huge', Buffer.alloc(301))).rejects.toThrow(TmpStoreError)
    // A stream is refused as soon as it passes the budget, and leaves no file behind.
    const endless = Readable.from(
      (async function* () {
        for (;;) yield Buffer.alloc(64)
      })(),
    )
    await expect(store.getOrFetch('endless', () => endless)).rejects.toThrow(/larger than the store's budget/)
    expect(readdirSync(store.dir).filter((name) => name.includes('partial'))).toEqual([])
    expect(store.stats().bytes).toBe(300)
  })

  it('drops a damaged entry (size or checksum mismatch) instead of serving it', async () => {
    const store = newStore({ checksum: true })
    const entry = await store.put('sized', 'twelve bytes')
    truncateSync(entry.path, 5)
    expect(await store.get('sized')).toBeUndefined()
    expect(readdirSync(store.dir)).toEqual(['.budget'])

    const other = newStore({ dir: scratchDir('checksum'), checksum: true })
    const flipped = await other.put('flipped', 'abcdef')
    writeFileSync(flipped.path, 'abcdeX') // same size, other bytes
    const reopened = new TmpStore({ dir: other.dir, checksum: true })
    expect(await reopened.get('flipped')).toBeUndefined()
    expect(await reopened.getOrFetch('flipped', () => 'abcdef')).toMatchObject({ hit: false })
  })

  // A full disk needs a small file system of the test's own: mounting one needs root. Where that is
  // not allowed, jest reports the case as skipped rather than passing it without a check.
  const itWithTmpfs = canMountTmpfs() ? it : it.skip
  itWithTmpfs(
    'on ENOSPC evicts and retries once (a 1 MiB tmpfs, with a budget larger than the disk)',
    async () => {
      const mountPoint = scratchDir('enospc')
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'thaw-tmp-store-enospc', mountPoint])
      try {
        const dir = join(mountPoint, 'store')
        mkdirSync(dir)
        const store = new TmpStore({ dir, maxBytes: 10 * 1024 * 1024 })
        for (let i = 0; i < 6; i++) await store.put(`k${i}`, Buffer.alloc(300 * 1024, i))
        expect(store.stats().evictions).toBeGreaterThan(0)
        expect((await store.get('k5'))?.equals(Buffer.alloc(300 * 1024, 5))).toBe(true)
        expect(readdirSync(dir).filter((name) => name.includes('partial'))).toEqual([])
      } finally {
        execFileSync('umount', [mountPoint])
      }
    },
  )
})

describe('options', () => {
  it('throws at construction, naming the option', () => {
    expect(() => tmpStore({ dir: 'relative/dir' })).toThrow(/'dir' must be an absolute path/)
    expect(() => tmpStore({ dir: '/proc/thaw-tmp-store' })).toThrow(/'dir' must be a writable directory/)
    const file = join(scratchDir('opt'), 'a-file')
    writeFileSync(file, '')
    expect(() => tmpStore({ dir: `${file}/store` })).toThrow(/'dir' must be a writable directory.*ENOTDIR/)
    // @thaw/util's wording (one options table): the option, what it must be, what was given.
    expect(() => tmpStore({ dir: scratchDir('opt'), maxBytes: 0 })).toThrow(
      /option 'maxBytes' must be an integer from 1 to \d+ \(bytes\), got number 0/,
    )
    expect(() => tmpStore({ dir: scratchDir('opt'), maxBytes: -5 })).toThrow(/'maxBytes'/)
    expect(() => tmpStore({ dir: scratchDir('opt'), maxBytes: 1.5 })).toThrow(
      /'maxBytes' must be an integer .*got number 1.5/,
    )
    expect(() => tmpStore({ dir: scratchDir('opt'), maxbytes: 10 } as never)).toThrow(
      /unknown option 'maxbytes'/,
    )
    expect(() => tmpStoreValidateOptions({ contextKey: '' })).toThrow(/'contextKey'/)
    expect(() => tmpStoreValidateOptions({ lockStaleMs: 5 })).toThrow(/'lockStaleMs'/)
  })

  it('refuses durations a Node timer cannot wait, naming the option', () => {
    // Node turns a delay above 2^31-1 ms into 1 ms: the lock heartbeat would run every millisecond.
    for (const lockStaleMs of [1e10, Number.POSITIVE_INFINITY, 2 ** 31])
      expect(() => tmpStoreValidateOptions({ lockStaleMs })).toThrow(
        /^@thaw\/tmp-store: option 'lockStaleMs' must be an integer from 100 to 2147483647 \(milliseconds\)/,
      )
    expect(tmpStoreValidateOptions({ lockStaleMs: 2 ** 31 - 1 }).lockStaleMs).toBe(2 ** 31 - 1)
    expect(() => tmpStoreValidateOptions({ lockWaitMs: 1e10 })).toThrow(/option 'lockWaitMs' must be/)
    let thrown: unknown
    try {
      tmpStoreValidateOptions({ lockStaleMs: Number.POSITIVE_INFINITY })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(TypeError)
    expect((thrown as TypeError).cause).toEqual({ package: '@thaw/tmp-store', option: 'lockStaleMs' })
  })

  it('checks options once: settings pass through openTmpStore and the store as they are', () => {
    const settings = tmpStoreValidateOptions({ dir: scratchDir('settings'), maxBytes: 4096 })
    expect(Object.isFrozen(settings)).toBe(true)
    expect(settings).toMatchObject({ maxBytes: 4096, checksum: false, fsync: false, contextKey: 'tmp' })
    const store = openTmpStore(settings)
    expect(store.settings).toMatchObject({ maxBytes: 4096, lockStaleMs: 10_000 })
    expect(store.maxBytes).toBe(4096)
    expect(tmpStoreDefaults).toMatchObject({ contextKey: 'tmp', checksum: false, lockStaleMs: 10_000 })
  })

  it('opens one store per directory, and refuses a second with another budget', () => {
    const dir = scratchDir('registry')
    const first = openTmpStore({ dir, maxBytes: 1000 })
    expect(openTmpStore({ dir })).toBe(first)
    expect(() => openTmpStore({ dir, maxBytes: 2000 })).toThrow(/'maxBytes' is 2000/)
  })

  it('defaults maxBytes to a share of the file system, read with statfs', () => {
    const store = newStore()
    expect(store.maxBytes).toBeGreaterThan(0)
    expect(Number.isInteger(store.maxBytes)).toBe(true)
  })
})

describe('the middleware', () => {
  it('puts the store on the context under contextKey, typed for the handler', async () => {
    const dir = scratchDir('middleware')
    const handler = middy()
      .use(tmpStore({ dir, contextKey: 'cache' }))
      .handler(async (_event, context) => {
        const entry = await context.cache.getOrFetch('k', () => 'value')
        // @ts-expect-error: the store is under contextKey, not under the default key
        const absent: unknown = context.tmp
        return { entry, absent: absent === undefined }
      })
    const result = await handler({}, { getRemainingTimeInMillis: () => 1_000 } as TmpStoreContext<'cache'>)
    expect(result).toEqual({
      entry: { key: 'k', path: expect.stringContaining(dir), size: 5, hit: false },
      absent: true,
    })
  })
})
