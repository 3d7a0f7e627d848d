// The read path (read.ts): an entry is served only when its data file is its own (looked up with
// lstat, opened without following a link), its metadata names the key, its size and checksum match and
// it has not expired; a damaged entry is removed, another key's left alone; a fault of the file system
// is reported, never taken for a miss. Metadata and data are planted by hand.
import {
  existsSync,
  linkSync,
  lstatSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { type TmpEntryInfo, TmpStore } from '../src/index.ts'
import {
  bindOver,
  boundDir,
  itWithMount,
  itWithPrlimit,
  runFixture,
  shortFile,
  unmountLeftoverBinds,
} from './file-systems.ts'
import { cleanUp, entryFile, hashOf, openFilesUnder, scratchDir, withDeadline } from './helpers.ts'

afterAll(cleanUp)
beforeAll(unmountLeftoverBinds)

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

describe('reads that fail', () => {
  ;(shortFile === undefined ? it.skip : itWithMount)(
    'a data file that reads shorter than its size is a miss: never a hang, an error or a partial entry',
    async () => {
      const dir = boundDir('short-read')
      writeFileSync(entryFile(dir, 'k', 'data'), '')
      writeFileSync(entryFile(dir, 'k', 'meta'), JSON.stringify({ v: 1, key: 'k', size: 4096, createdAt: 1 }))
      const unbind = bindOver(shortFile as string, entryFile(dir, 'k', 'data'))
      try {
        expect(await withDeadline(new TmpStore({ dir }).get('k'), 10_000, 'the get')).toBeUndefined()
      } finally {
        unbind()
      }
    },
  )

  itWithPrlimit(
    'a file-system fault on open (EMFILE) is reported as THAW_TMP_STORE_FILE_SYSTEM, never taken for a miss: nothing is fetched again',
    async () => {
      const dir = scratchDir('emfile')
      const report = await runFixture('open-fails', dir)
      expect(report.get).toMatchObject({
        code: 'THAW_TMP_STORE_FILE_SYSTEM',
        key: 'k',
        path: entryFile(dir, 'k', 'data'),
        cause: 'EMFILE',
      })
      expect(report.get.message).toMatch(
        /^@thaw\/tmp-store: could not read the entry for key "k" \(.*\.data\): EMFILE$/,
      )
      expect(report.getOrFetch).toMatchObject({
        code: 'THAW_TMP_STORE_FILE_SYSTEM',
        key: 'k',
        cause: 'EMFILE',
      })
      expect(report.has).toMatchObject({ code: 'THAW_TMP_STORE_FILE_SYSTEM', key: 'k', cause: 'EMFILE' })
      expect(report.fetches).toBe(0)
      // Once descriptors are free again, the entry is still there, served as it was stored.
      expect(report.after).toEqual({ value: 'stored value', fetches: 0, hit: true })
    },
  )
})

describe('looking an entry up', () => {
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
})
