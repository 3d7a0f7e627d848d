// A file-system lock: the exclusive creation (O_CREAT|O_EXCL) of a small file naming its owner, so
// it works across the worker threads and the processes that share the directory, where an in-memory
// lock cannot. The owner refreshes the file's mtime (a heartbeat) while it holds the lock; a lock
// whose owner process is gone, or whose heartbeat is older than `staleMs`, is taken over.
//
// Why not proper-lockfile: it tells a dead owner only by an old mtime (at least 2 s, default 10 s of
// waiting after every crash, where a pid check answers at once), its default onCompromised throws
// from a timer (which would crash the function), and it has had no release since 2021.
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  constants,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { threadId } from 'node:worker_threads'
import { currentOwner, isProcessAlive, type Owner } from './owner.ts'

// Tokens of the locks this thread holds: a lock file naming this pid and thread but not one of these
// is a leftover (a reused pid), not ours.
const heldTokens = new Set<string>()

const createFlags = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW

const readOwner = (file: string): Owner | undefined => {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Owner
    return typeof owner.pid === 'number' && typeof owner.token === 'string' ? owner : undefined
  } catch {
    return undefined
  }
}

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code

export interface LockState {
  owner: Owner | undefined
  mtimeMs: number
}

export const readLockState = (file: string): LockState | undefined => {
  try {
    const { mtimeMs } = lstatSync(file)
    return { owner: readOwner(file), mtimeMs }
  } catch {
    return undefined
  }
}

/** Whether a lock file no longer protects anything: its owner is gone, or has stopped beating. */
export const isLockStale = ({ owner, mtimeMs }: LockState, staleMs: number): boolean => {
  if (Date.now() - mtimeMs > staleMs) return true
  // An unreadable owner is a lock being created this very moment (or a crash in that microsecond,
  // which the heartbeat age catches): held.
  if (!owner) return false
  if (owner.pid !== process.pid) return !isProcessAlive(owner.pid)
  return owner.threadId === threadId && !heldTokens.has(owner.token)
}

export class FileLock {
  readonly file: string
  readonly token: string
  readonly #heartbeat: NodeJS.Timeout

  readonly #named: boolean

  constructor(file: string, token: string, staleMs: number, named: boolean) {
    this.file = file
    this.token = token
    this.#named = named
    heldTokens.add(token)
    this.#heartbeat = setInterval(
      () => {
        try {
          const now = new Date()
          utimesSync(file, now, now)
        } catch {
          // Taken over or removed: the write it protects still lands atomically, at worst twice.
        }
      },
      Math.max(50, Math.floor(staleMs / 4)),
    )
    this.#heartbeat.unref()
  }

  /** Releases the lock if it is still ours (never removes a lock someone took over). */
  release(): void {
    clearInterval(this.#heartbeat)
    heldTokens.delete(this.token)
    if (this.#named && readOwner(this.file)?.token !== this.token) return
    try {
      unlinkSync(this.file)
    } catch {
      // Already gone.
    }
  }
}

const tryCreate = (file: string, staleMs: number): FileLock | undefined => {
  const token = randomBytes(12).toString('hex')
  let fd: number
  try {
    fd = openSync(file, createFlags, 0o600)
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return undefined
    throw error
  }
  let named = true
  try {
    writeSync(fd, JSON.stringify({ ...currentOwner(token), at: Date.now() }))
  } catch (error) {
    // A full disk (the moment the store must evict) still lets an empty file be made: the lock
    // holds, nameless, and its heartbeat (an mtime, which needs no space) keeps it fresh.
    if (errorCode(error) !== 'ENOSPC') {
      closeSync(fd)
      unlinkSync(file)
      throw error
    }
    named = false
  }
  closeSync(fd)
  return new FileLock(file, token, staleMs, named)
}

// Takes a stale lock out of the way by renaming it (only one of several contenders can rename the
// same file); if what was renamed turns out to be a fresh lock that replaced the stale one in the
// meantime, it is put back where it was (link fails if yet another lock is there by then).
const removeStaleLock = (file: string, observed: LockState): void => {
  const aside = `${file}.stale-${randomBytes(6).toString('hex')}`
  try {
    renameSync(file, aside)
  } catch {
    return
  }
  const moved = readOwner(aside)
  if (moved?.token !== observed.owner?.token) {
    try {
      linkSync(aside, file)
    } catch {
      // Another lock took the place: the displaced owner's write still lands atomically.
    }
  }
  try {
    unlinkSync(aside)
  } catch {
    // Someone else cleaned it up.
  }
}

/** One attempt: the lock, or undefined when a live owner holds it. */
export const tryAcquireLock = (file: string, staleMs: number): FileLock | undefined => {
  for (let attempt = 0; attempt < 2; attempt++) {
    const lock = tryCreate(file, staleMs)
    if (lock) return lock
    const state = readLockState(file)
    if (state === undefined) continue // released between our create and our look
    if (!isLockStale(state, staleMs)) return undefined
    removeStaleLock(file, state)
  }
  return undefined
}

/** Waits (polling, backing off to 50 ms) until the lock is ours. */
export const acquireLock = async (file: string, staleMs: number): Promise<FileLock> => {
  let delayMs = 2
  for (;;) {
    const lock = tryAcquireLock(file, staleMs)
    if (lock) return lock
    await sleep(delayMs)
    delayMs = Math.min(50, delayMs * 2)
  }
}
