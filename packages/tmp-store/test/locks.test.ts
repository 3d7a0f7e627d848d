// The file locks (lock.ts). A dead owner's lock is taken over at once, a live owner's never (its
// heartbeat keeps it fresh however long it holds it), a lock whose owner cannot be read is held until
// its heartbeat is older than lockStaleMs, anything planted as a lock that is not a lock file is stale
// at once, and a release never removes a lock someone took over; a lock that cannot be moved aside or
// written fails as the file system says, within lockWaitMs. Locks are planted by hand; every wait has
// a deadline.
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { TmpStore } from '../src/index.ts'
import {
  bindOver,
  boundDir,
  itWithMount,
  itWithPrlimit,
  runFixture,
  unmountLeftoverBinds,
} from './file-systems.ts'
import {
  cleanUp,
  deadPid,
  entryFile,
  hashOf,
  rejectionOf,
  scratchDir,
  sleep,
  waitFor,
  withDeadline,
} from './helpers.ts'

afterAll(cleanUp)
beforeAll(unmountLeftoverBinds)

describe('locks', () => {
  // Shorter than lockStaleMs (10 s by default): a call that gets the lock within it did not wait for
  // the heartbeat to grow old, it took the lock over at once. A lock it may not take ends the call
  // with THAW_TMP_STORE_LOCK_TIMEOUT instead.
  const lockWaitMs = 2_000

  it("takes a dead owner's lock over at once and leaves nothing of it behind", async () => {
    const dir = scratchDir('dead-owner')
    const store = new TmpStore({ dir, lockWaitMs })
    await store.put('other', 'value') // a ledger: the next commit fits, and scans nothing that would tidy up
    writeFileSync(entryFile(dir, 'k', 'lock'), JSON.stringify({ pid: deadPid, threadId: 0, token: 'gone' }))
    await withDeadline(store.put('k', 'value'), 10_000, 'the put')
    expect(
      readdirSync(dir)
        .filter((name) => name.startsWith(hashOf('k')))
        .sort(),
    ).toEqual([`${hashOf('k')}.data`, `${hashOf('k')}.meta`])
  })

  it('a lock whose owner cannot be read is held (a lock being created) until its heartbeat is older than lockStaleMs', async () => {
    const dir = scratchDir('unreadable-owner')
    const store = new TmpStore({ dir, lockWaitMs: 200 })
    for (const owner of [
      { pid: deadPid },
      { pid: String(deadPid), token: 'not a pid' },
      { token: 'no pid' },
    ]) {
      const lock = entryFile(dir, 'k', 'lock')
      writeFileSync(lock, JSON.stringify(owner))
      const error = await rejectionOf(withDeadline(store.put('k', 'value'), 10_000, 'the waiting put'))
      expect({ owner, code: error.code }).toEqual({ owner, code: 'THAW_TMP_STORE_LOCK_TIMEOUT' })
      const old = new Date(Date.now() - 60_000)
      utimesSync(lock, old, old)
      await withDeadline(store.put('k', 'value'), 10_000, 'the put after the heartbeat stopped')
      expect(existsSync(lock)).toBe(false)
    }
  })

  it('anything planted as a lock that is not a lock file (a hard link, an oversized file, a directory) is stale at once', async () => {
    const dir = scratchDir('damaged-lock')
    const outside = join(scratchDir('damaged-lock-outside'), 'file')
    const owner = JSON.stringify({ pid: process.ppid, threadId: 0, token: 'alive' })
    writeFileSync(outside, owner)
    const store = new TmpStore({ dir, lockWaitMs })
    const lock = entryFile(dir, 'k', 'lock')
    const plants: Record<string, () => void> = {
      // A live owner's lock, were it not a second name of a file elsewhere.
      'hard link': () => linkSync(outside, lock),
      'over 4 KiB': () => writeFileSync(lock, owner + ' '.repeat(5000)),
      directory: () => mkdirSync(lock),
    }
    for (const [label, plant] of Object.entries(plants)) {
      plant()
      await withDeadline(store.put('k', label), 10_000, label)
      expect({ label, lock: existsSync(lock) }).toEqual({ label, lock: false })
    }
    expect(readFileSync(outside, 'utf8')).toBe(owner)
    expect(lstatSync(outside).nlink).toBe(1)
  })

  it('a lock its own thread left behind (the token no longer held) is taken over at once', async () => {
    const dir = scratchDir('own-leftover')
    const store = new TmpStore({ dir, lockWaitMs })
    const lock = entryFile(dir, 'k', 'lock')
    let held = ''
    await store.getOrFetch('k', () => {
      held = readFileSync(lock, 'utf8') // what this thread's lock file says while it is held
      return 'value'
    })
    expect(existsSync(lock)).toBe(false)
    writeFileSync(lock, held) // as if its release had been lost
    await withDeadline(store.put('k', 'again'), 10_000, 'the put')
  })

  it("a live owner's heartbeat keeps its lock from being taken over however long it holds it", async () => {
    const dir = scratchDir('heartbeat')
    // A heartbeat every 250 ms: only an event loop stalled for 750 ms could let the waiter see it stale.
    const lockStaleMs = 1_000
    const holder = new TmpStore({ dir, lockStaleMs })
    const waiter = new TmpStore({ dir, lockStaleMs, lockWaitMs: 10_000 })
    let fetches = 0
    const holding = holder.getOrFetch('k', async () => {
      fetches++
      await sleep(lockStaleMs * 2.5)
      return 'slow'
    })
    await waitFor(() => (existsSync(entryFile(dir, 'k', 'lock')) ? true : undefined), { what: 'the lock' })
    const waiting = waiter.getOrFetch('k', () => {
      fetches++
      return 'taken over'
    })
    expect(await holding).toMatchObject({ hit: false })
    expect(await withDeadline(waiting, 10_000, 'the waiter')).toMatchObject({ hit: true })
    expect(fetches).toBe(1)
  })

  it('never removes a lock that another owner took over while it was held', async () => {
    const dir = scratchDir('taken-over')
    const store = new TmpStore({ dir })
    const lock = entryFile(dir, 'k', 'lock')
    let finish: ((value: string) => void) | undefined
    const fetching = store.getOrFetch('k', () => new Promise<string>((resolve) => (finish = resolve)))
    const done = await waitFor(() => finish, { what: 'the fetch to start' })
    // Another owner's own lock file under the name (as after a takeover): renamed in, as a lock is made.
    const other = JSON.stringify({ pid: process.ppid, threadId: 0, token: 'taken-over' })
    writeFileSync(`${lock}-planting`, other)
    renameSync(`${lock}-planting`, lock)
    done('value')
    expect(await fetching).toMatchObject({ hit: false })
    expect(readFileSync(lock, 'utf8')).toBe(other)
  })

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

  itWithPrlimit(
    'a lock file that cannot be written (EFBIG) fails the call naming it, and leaves no lock file and no descriptor',
    async () => {
      const dir = scratchDir('efbig-lock')
      const { failure, left, openFiles, next } = await runFixture('lock-write-fails', dir)
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
