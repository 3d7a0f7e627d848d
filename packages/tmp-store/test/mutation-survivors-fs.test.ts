// Issue 16, item 2 (see mutation-survivors.test.ts): what the store does when the file system
// refuses. Each failure is a real one, made on a file system of the test's own: a tmpfs left with
// exactly so many free pages (ENOSPC at a chosen step) or inodes, a file bind-mounted over one of the
// store's names (it can then be neither removed nor renamed over: EBUSY), an ext4 image whose backing
// file cannot grow (a failing fsync), a file size limit of 0 (EFBIG, in a child process of its own:
// fixtures/lock-write-fails.ts). Mounting needs root: where it is not permitted, jest reports these
// as skipped rather than passing them unchecked. Checked on Linux 6.18 with Node 24.21.
import { execFileSync, spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statfsSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { fixturesOf } from '@thaw/test-support'
import { TmpStore } from '../src/index.ts'
import {
  canMountTmpfs,
  cleanUp,
  dataBytesIn,
  deadPid,
  entryFile,
  hashOf,
  keysOnDisk,
  ledgerOf,
  openFilesUnder,
  rejectionOf,
  scratchDir,
  setLastUse,
  withDeadline,
} from './helpers.ts'

afterAll(cleanUp)

const fixture = fixturesOf(import.meta.url)

/** Names a writer or a lock holder leaves only while it works (or when it failed to clean up). */
const leftoversIn = (dir: string): string[] => readdirSync(dir).filter((name) => /partial|lock/.test(name))

const commandExists = (command: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const canMount = canMountTmpfs()
const itWithMount = canMount ? it : it.skip
const itWithLoopDevice =
  canMount && existsSync('/dev/loop-control') && commandExists('mkfs.ext4') ? it : it.skip
const itWithPrlimit = commandExists('prlimit') ? it : it.skip

/** A tmpfs of the test's own, with mount `options` (size, nr_inodes). */
const mountTmpfs = (label: string, options: string) => {
  const path = scratchDir(label)
  execFileSync('mount', ['-t', 'tmpfs', '-o', `${options},mode=0700`, `thaw-tmp-store-${label}`, path])
  return { path, unmount: () => execFileSync('umount', [path]) }
}

// A scratch directory for a bind mount, named with this process's id: a test process killed in a
// hang (a mutation run's timeout) never runs its finally, and the next run unmounts what it left.
const boundDir = (label: string): string => scratchDir(`bound-${process.pid}-${label}`)

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

if (canMount)
  beforeAll(() => {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mountPoint = line.split(' ')[4] ?? ''
      const pid = /\/thaw-tmp-store-bound-(\d+)-/.exec(mountPoint)?.[1]
      if (pid !== undefined && !isAlive(Number(pid))) execFileSync('umount', ['-l', mountPoint])
    }
  })

/** Binds `source` over the existing file `target`: the name is then busy, neither removed nor renamed over. */
const bindOver = (source: string, target: string): (() => void) => {
  execFileSync('mount', ['--bind', source, target])
  // Lazy: a descriptor a broken store left open on it does not keep the mount (or the test) alive.
  return () => execFileSync('umount', ['-l', target])
}

let fillers = 0
/** Fills the file system at `mountPoint`, with a file outside the store, until `pages` pages are free. */
const leaveFree = (mountPoint: string, pages: number): string => {
  const { bavail, bsize } = statfsSync(mountPoint)
  const filler = join(mountPoint, `filler-${++fillers}`)
  writeFileSync(filler, Buffer.alloc((bavail - pages) * bsize))
  expect(statfsSync(mountPoint).bavail).toBe(pages)
  return filler
}

describe('a full disk (ENOSPC)', () => {
  itWithMount(
    "evicts least recently used entries until the write that failed fits (another store's entries too), and retries it once",
    async () => {
      const { path: mountPoint, unmount } = mountTmpfs('enospc-evicts', 'size=1m')
      try {
        const dir = join(mountPoint, 'store')
        mkdirSync(dir, { mode: 0o700 })
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
    'a second ENOSPC fails the write with the key and the partial file, leaves nothing behind, and the key works once there is room',
    async () => {
      const { path: mountPoint, unmount } = mountTmpfs('enospc-twice', 'size=256k')
      try {
        const dir = join(mountPoint, 'store')
        mkdirSync(dir, { mode: 0o700 })
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
      const { path: mountPoint, unmount } = mountTmpfs('enospc-meta', 'size=256k')
      try {
        const dir = join(mountPoint, 'store')
        mkdirSync(dir, { mode: 0o700 })
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
    'a ledger that cannot be written is removed (never left counting too little), and the commit lands in the room that frees',
    async () => {
      const { path: mountPoint, unmount } = mountTmpfs('enospc-ledger', 'size=256k')
      try {
        const dir = join(mountPoint, 'store')
        mkdirSync(dir, { mode: 0o700 })
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
    'no inode for the partial file: the put fails naming it, and leaves nothing locked',
    async () => {
      const { path: mountPoint, unmount } = mountTmpfs('enospc-inodes', 'size=1m,nr_inodes=64')
      try {
        const dir = join(mountPoint, 'store')
        mkdirSync(dir, { mode: 0o700 })
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
})

describe('names the store cannot remove or replace (a bind mount: EBUSY)', () => {
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

  itWithMount('a stale lock that cannot be moved aside: the wait still ends at lockWaitMs', async () => {
    const dir = boundDir('busy-lock')
    const store = new TmpStore({ dir, lockWaitMs: 300 })
    const deadOwner = JSON.stringify({ pid: deadPid, threadId: 0, token: 'gone' })
    const lock = entryFile(dir, 'k', 'lock')
    writeFileSync(lock, deadOwner)
    const source = join(scratchDir('busy-lock-source'), 'lock')
    writeFileSync(source, deadOwner)
    const unbind = bindOver(source, lock)
    try {
      const started = Date.now()
      const error = await rejectionOf(withDeadline(store.put('k', 'value'), 10_000, 'the waiting put'))
      expect(error.code).toBe('THAW_TMP_STORE_LOCK_TIMEOUT')
      expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    } finally {
      unbind()
    }
  })
})

// A sysfs attribute reports 4096 bytes and reads as a few: a data file that reads shorter than its
// stat said, as one truncated between the check and the read does.
const shortFile = ['/sys/devices/system/cpu/online', '/sys/kernel/mm/transparent_hugepage/enabled'].find(
  (file) => {
    try {
      return statSync(file).size === 4096 && readFileSync(file).length < 4096
    } catch {
      return false
    }
  },
)

describe('reads and syncs that fail', () => {
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

  itWithPrlimit(
    'a lock file that cannot be written (EFBIG) fails the call naming it, and leaves no lock file and no descriptor',
    async () => {
      const dir = scratchDir('efbig-lock')
      const child = spawn(process.execPath, ['--conditions=@thaw/source', fixture('lock-write-fails'), dir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let stdout = ''
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
      })
      const exitCode = await withDeadline(
        new Promise<number | null>((resolve) => child.on('close', resolve)),
        30_000,
        'the child',
      )
      expect(exitCode).toBe(0)
      const { failure, left, openFiles, next } = JSON.parse(stdout)
      expect(failure).toMatchObject({
        code: 'THAW_TMP_STORE_FILE_SYSTEM',
        key: 'k',
        path: entryFile(dir, 'k', 'lock'),
        cause: 'EFBIG',
      })
      expect(failure.message).toMatch(
        /^@thaw\/tmp-store: could not take the key's lock for key "k" \(.*\.lock\): EFBIG$/,
      )
      expect({ left, openFiles }).toEqual({ left: [], openFiles: [] })
      expect(next).toBe(5)
    },
  )
})
