// The write path (write.ts and the commit in budget.ts): an entry is streamed to a partial file and
// renamed into place, or leaves nothing behind, whatever fails: the fetch's stream, a full disk, an
// inode, the metadata, an fsync, a data file that cannot be replaced.
import { execFileSync } from 'node:child_process'
import { lstatSync, mkdirSync, readdirSync, truncateSync, unlinkSync, watch, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { TmpStore } from '../src/index.ts'
import {
  bindOver,
  boundDir,
  itWithLoopDevice,
  itWithMount,
  leaveFree,
  leftoversIn,
  mountStoreDir,
  mountTmpfs,
  unmountLeftoverBinds,
} from './file-systems.ts'
import {
  cleanUp,
  deadPid,
  entryFile,
  hashOf,
  keysOnDisk,
  openFilesUnder,
  rejectionOf,
  scratchDir,
  waitFor,
} from './helpers.ts'

afterAll(cleanUp)
beforeAll(unmountLeftoverBinds)

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

describe('writes the file system refuses', () => {
  itWithMount(
    'a second ENOSPC fails the write with the key and the partial file, leaves nothing behind, and the key works once there is room',
    async () => {
      const { path: mountPoint, dir, unmount } = mountStoreDir('enospc-twice', 'size=256k')
      try {
        const store = new TmpStore({ dir, maxBytes: 10_000_000 })
        // Nothing of the store's to evict: the disk is full of another program's file.
        const filler = leaveFree(mountPoint, 2)
        const error = await rejectionOf(store.put('k', Buffer.alloc(20_480)))
        expect(error).toMatchObject({ code: 'THAW_TMP_STORE_FILE_SYSTEM', key: 'k' })
        expect(error.path).toMatch(new RegExp(`^${dir}/${hashOf('k')}\\..*\\.data-partial$`))
        expect(error.message).toMatch(
          /^@thaw\/tmp-store: could not write the entry for key "k" \(.*\.data-partial\): ENOSPC$/,
        )
        expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOSPC')
        expect(leftoversIn(dir)).toEqual([])
        expect(openFilesUnder(dir)).toEqual([])
        unlinkSync(filler)
        expect(await store.put('k', Buffer.alloc(20_480))).toMatchObject({ size: 20_480 })
      } finally {
        unmount()
      }
    },
  )

  itWithMount(
    'metadata that cannot be written fails the commit naming its partial file, and no partial file stays',
    async () => {
      const { path: mountPoint, dir, unmount } = mountStoreDir('enospc-meta', 'size=256k')
      try {
        const store = new TmpStore({ dir, maxBytes: 10_000_000 })
        // Three pages: the key's lock (one) and the data (two); none for the ledger or the metadata.
        leaveFree(mountPoint, 3)
        const error = await rejectionOf(store.put('k', Buffer.alloc(8192)))
        expect(error).toMatchObject({ code: 'THAW_TMP_STORE_FILE_SYSTEM', key: 'k' })
        expect(error.path).toMatch(/\.meta-partial$/)
        expect(error.message).toMatch(
          /^@thaw\/tmp-store: could not write the metadata of the entry for key "k" \(.*\.meta-partial\): ENOSPC$/,
        )
        expect(leftoversIn(dir)).toEqual([])
        expect(keysOnDisk(dir, ['k'])).toEqual([])
      } finally {
        unmount()
      }
    },
  )

  itWithMount(
    'no inode for the partial file: the put fails naming it, and leaves nothing locked',
    async () => {
      const { path: mountPoint, dir, unmount } = mountStoreDir('enospc-inodes', 'size=1m,nr_inodes=64')
      try {
        const store = new TmpStore({ dir })
        // Every inode taken, then one given back: the key's lock takes it, the partial file finds none.
        let files = 0
        for (;;) {
          try {
            writeFileSync(join(mountPoint, `inode-${files}`), '')
            files++
          } catch {
            break
          }
        }
        unlinkSync(join(mountPoint, `inode-${files - 1}`))
        const error = await rejectionOf(store.put('k', 'value'))
        expect(error).toMatchObject({ code: 'THAW_TMP_STORE_FILE_SYSTEM', key: 'k' })
        expect(error.path).toMatch(/\.data-partial$/)
        expect(error.message).toMatch(
          /^@thaw\/tmp-store: could not create a partial file for key "k" \(.*\.data-partial\): ENOSPC$/,
        )
        expect(leftoversIn(dir)).toEqual([])
        for (let i = 0; i < files - 1; i++) unlinkSync(join(mountPoint, `inode-${i}`))
        expect(await store.put('k', 'value')).toMatchObject({ size: 5 })
      } finally {
        unmount()
      }
    },
  )

  itWithMount(
    'a data file that cannot be replaced fails the commit naming it; no partial file stays, and the old bytes are still served',
    async () => {
      const dir = boundDir('busy-rename')
      const store = new TmpStore({ dir })
      await store.put('k', 'old bytes')
      const source = join(scratchDir('busy-rename-source'), 'k')
      writeFileSync(source, 'old bytes')
      const unbind = bindOver(source, entryFile(dir, 'k', 'data'))
      try {
        const error = await rejectionOf(store.put('k', 'new bytes!'))
        expect(error).toMatchObject({
          code: 'THAW_TMP_STORE_FILE_SYSTEM',
          key: 'k',
          path: entryFile(dir, 'k', 'data'),
        })
        expect(error.message).toMatch(
          /^@thaw\/tmp-store: could not commit the entry for key "k" \(.*\.data\): EBUSY$/,
        )
        expect(leftoversIn(dir)).toEqual([])
        expect(openFilesUnder(dir)).toEqual([])
        expect((await store.get('k'))?.toString()).toBe('old bytes')
      } finally {
        unbind()
      }
      await store.put('k', 'new bytes!')
      expect((await store.get('k'))?.toString()).toBe('new bytes!')
    },
  )

  itWithLoopDevice(
    'fsync: a failed fsync fails the put naming the partial file, and stores nothing',
    async () => {
      // An ext4 image on a tmpfs that is then filled: writing back to the image fails, as a failing
      // disk's writes do, and fsync reports it (ENOSPC through the loop device on Linux 6.18).
      const { path: backing, unmount } = mountTmpfs('fsync-backing', 'size=8m')
      const disk = scratchDir('fsync-disk')
      const image = join(backing, 'image')
      writeFileSync(image, '')
      truncateSync(image, 64 * 1024 * 1024)
      execFileSync('mkfs.ext4', ['-q', '-O', '^has_journal', '-E', 'lazy_itable_init=1,nodiscard', image])
      execFileSync('mount', ['-o', 'loop', image, disk])
      try {
        const dir = join(disk, 'store')
        mkdirSync(dir, { mode: 0o700 })
        const store = new TmpStore({ dir, fsync: true })
        leaveFree(backing, 0)
        const error = await rejectionOf(store.put('k', Buffer.alloc(1024 * 1024, 1)))
        expect(error).toMatchObject({ code: 'THAW_TMP_STORE_FILE_SYSTEM', key: 'k' })
        expect(error.path).toMatch(/\.data-partial$/)
        expect(error.message).toMatch(
          /^@thaw\/tmp-store: could not fsync the entry for key "k" \(.*\.data-partial\): (EIO|ENOSPC)$/,
        )
        expect(keysOnDisk(dir, ['k'])).toEqual([])
        expect(leftoversIn(dir)).toEqual([])
      } finally {
        execFileSync('umount', [disk])
        unmount()
      }
    },
  )
})

describe('committing an entry', () => {
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
})
