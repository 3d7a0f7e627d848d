// A file-system lock: the exclusive creation (O_CREAT|O_EXCL) of a small file naming its owner, so
// it works across the worker threads and the processes that share the directory, where an in-memory
// lock cannot. The owner refreshes the file's mtime (a heartbeat) while it holds the lock; a lock
// whose owner process is gone, or whose heartbeat is older than `staleMs`, is taken over.
//
// Why not proper-lockfile: it tells a dead owner only by an old mtime (at least 2 s, default 10 s of
// waiting after every crash, where a pid check answers at once), its default onCompromised throws
// from a timer (which would crash the function), and it has had no release since 2021.
//
// Under a hostile /tmp (see files.ts): a lock file is created with O_EXCL|O_NOFOLLOW (an existing name,
// a link or a FIFO included, is never opened for writing), its owner is read only from a regular
// file with one link, opened without following links or blocking, and anything else planted under a
// lock's name (a link, a FIFO, a directory, a hard link) is a damaged lock: stale at once, moved
// aside. The heartbeat refreshes the lock through its own descriptor (futimes), so it can only ever
// touch the file this lock created. Every wait has a deadline (`lockWaitMs`).
import { TmpStoreError, tmpStoreErrorCodes } from './errors.ts'
import { createExclusiveSync, errorCode, readSmallFileSync, removeNameSync } from './files.ts'
import {
  closeSync,
  fstatSync,
  futimesSync,
  linkSync,
  lstatSync,
  randomBytes,
  renameSync,
  sleep,
  threadId,
  writeSync,
} from './node-builtins.ts'
import { currentOwner, isProcessAlive, type Owner } from './owner.ts'

// Tokens of the locks this thread holds: a lock file naming this pid and thread but not one of these
// is a leftover (a reused pid), not ours.
const heldTokens = new Set<string>()

// The owner named in a lock file; 'damaged' when what is under the name is not a lock file at all.
const readOwner = (file: string): Owner | undefined | 'damaged' => {
  let text: string
  try {
    text = readSmallFileSync(file)
    // Stryker disable next-line BlockStatement: emptied, `text` is undefined, JSON.parse throws below and its catch returns undefined as this one does
  } catch {
    return undefined
  }
  if (text === 'damaged') return 'damaged'
  // Stryker disable next-line ConditionalExpression,StringLiteral: 'missing' (or '') reaches JSON.parse, which throws, and the catch returns undefined as well
  if (text === 'missing') return undefined
  try {
    const owner = JSON.parse(text) as Owner
    // Stryker disable next-line OptionalChaining: only a file holding null needs the ?., and null.pid throws inside this try, whose catch returns undefined
    return typeof owner?.pid === 'number' && typeof owner.token === 'string' ? owner : undefined
    // Stryker disable next-line BlockStatement: emptied, the function ends here and returns undefined all the same
  } catch {
    return undefined
  }
}

export interface LockState {
  owner: Owner | undefined | 'damaged'
  mtimeMs: number
}

export const readLockState = (file: string): LockState | undefined => {
  try {
    const stats = lstatSync(file)
    if (!stats.isFile()) return { owner: 'damaged', mtimeMs: stats.mtimeMs }
    return { owner: readOwner(file), mtimeMs: stats.mtimeMs }
    // Stryker disable next-line BlockStatement: emptied, the function ends here and returns undefined all the same
  } catch {
    return undefined
  }
}

/** Whether a lock file no longer protects anything: its owner is gone, or has stopped beating. */
export const isLockStale = ({ owner, mtimeMs }: LockState, staleMs: number): boolean => {
  // Not a lock file the store made (a planted link, FIFO, directory or hard link): it protects nothing.
  if (owner === 'damaged') return true
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
  // The lock file's own descriptor, held while the lock is: the heartbeat and the release check go
  // through it, so they concern the file this lock created, whatever is planted under its name later.
  readonly #fd: number
  readonly #ino: number

  constructor(file: string, token: string, staleMs: number, fd: number) {
    this.file = file
    this.token = token
    this.#fd = fd
    this.#ino = fstatSync(fd).ino
    heldTokens.add(token)
    this.#heartbeat = setInterval(
      () => {
        try {
          const now = new Date()
          futimesSync(fd, now, now)
        } catch {
          // Cannot happen while the descriptor is open; if it did, the lock goes stale and is taken
          // over: the write it protects still lands atomically, at worst twice.
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
    try {
      closeSync(this.#fd)
    } catch {
      // Closed already.
    }
    try {
      const stats = lstatSync(this.file)
      if (stats.ino !== this.#ino || !stats.isFile()) return
      removeNameSync(this.file)
    } catch {
      // Already gone, or the directory refuses: a lock left behind is stale (its owner is not
      // beating) and taken over.
    }
  }
}

const tryCreate = (file: string, staleMs: number): FileLock | undefined => {
  const token = randomBytes(12).toString('hex')
  let fd: number
  try {
    fd = createExclusiveSync(file)
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return undefined
    throw error
  }
  try {
    writeSync(fd, JSON.stringify({ ...currentOwner(token), at: Date.now() }))
  } catch (error) {
    // A full disk (the moment the store must evict) still lets an empty file be made: the lock
    // holds, nameless, and its heartbeat (an mtime, which needs no space) keeps it fresh.
    if (errorCode(error) !== 'ENOSPC') {
      closeSync(fd)
      removeNameSync(file)
      throw error
    }
  }
  return new FileLock(file, token, staleMs, fd)
}

// Takes a stale lock out of the way by renaming it (only one of several contenders can rename the
// same file); if what was renamed turns out to be a fresh lock that replaced the stale one in the
// meantime, it is put back where it was (link fails if yet another lock is there by then). While it
// is linked back it has two names for a moment, and a contender that looks then sees a damaged lock
// and may take it: the writes it protects still land atomically, at worst a fetch runs twice.
const removeStaleLock = (file: string, observed: LockState): void => {
  const aside = `${file}.stale-${randomBytes(6).toString('hex')}`
  try {
    renameSync(file, aside)
    // Stryker disable next-line BlockStatement: emptied, nothing was renamed aside, so the rest finds nothing under the aside name and does nothing
  } catch {
    return
  }
  const moved = readOwner(aside)
  const tokenOf = (owner: Owner | undefined | 'damaged') => (typeof owner === 'object' ? owner.token : owner)
  if (tokenOf(moved) !== tokenOf(observed.owner)) {
    try {
      linkSync(aside, file)
    } catch {
      // Another lock took the place: the displaced owner's write still lands atomically.
    }
  }
  try {
    removeNameSync(aside)
  } catch {
    // Someone else cleaned it up, or it is a planted directory with contents: scan.ts tries again.
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

/**
 * Waits (polling, backing off to 50 ms) until the lock is ours, for at most `waitMs`: then it throws
 * THAW_TMP_STORE_LOCK_TIMEOUT. The deadline is read from the clock, not from a timer, so a frozen or
 * busy process never waits past it by more than one poll.
 */
export const acquireLock = async (
  file: string,
  { staleMs, waitMs, key }: { staleMs: number; waitMs: number; key?: string | undefined },
): Promise<FileLock> => {
  const deadline = Date.now() + waitMs
  let delayMs = 2
  for (;;) {
    const lock = tryAcquireLock(file, staleMs)
    if (lock) return lock
    const left = deadline - Date.now()
    if (left <= 0)
      throw new TmpStoreError(
        tmpStoreErrorCodes.lockTimeout,
        `the lock ${file} was not free within lockWaitMs (${waitMs} ms)`,
        { key, path: file },
      )
    await sleep(Math.min(delayMs, left))
    delayMs = Math.min(50, delayMs * 2)
  }
}
