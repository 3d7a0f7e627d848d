// Reads the directory back into an index: the complete entries (a data file and its metadata) with
// their sizes and last-use times, and removes what a dead writer left behind. It reads no file's
// contents (metadata is read lazily, on an entry's first use), so 10,000 entries take one readdir
// and 10,000 lstat calls.
import { errorCode, isOwnFile } from './files.ts'
import { isLockStale, readLockState } from './lock.ts'
import { lockFile, parseName } from './names.ts'
import { join, lstatSync, readdirSync, rmdirSync, unlinkSync } from './node-builtins.ts'
import { isProcessAlive } from './owner.ts'

export interface ScannedEntry {
  size: number
  mtimeMs: number
}

export interface ScanResult {
  /** Complete entries, least recently used first. */
  entries: Array<[hash: string, entry: ScannedEntry]>
  bytes: number
  removed: number
}

// A leftover goes if it can (a file, a link, a FIFO, an empty directory); a planted directory with
// contents stays where it is (never removed recursively, see files.ts), and is not an entry.
const removeQuietly = (file: string): boolean => {
  try {
    unlinkSync(file)
    return true
  } catch (error) {
    if (errorCode(error) !== 'EISDIR' && errorCode(error) !== 'EPERM') return false
  }
  try {
    rmdirSync(file)
    return true
  } catch {
    return false
  }
}

export const scanDirectory = (dir: string, lockStaleMs: number): ScanResult => {
  const names = readdirSync(dir)
  const present = new Set(names)
  const entries: Array<[string, ScannedEntry]> = []
  const lockIsLive = new Map<string, boolean>()
  // A writer holds its key's lock from its partial file to its metadata's rename, so a partial or a
  // half-committed entry (data without metadata, or the reverse) whose lock is not held by a live
  // owner is a crashed writer's leftover.
  const isBeingWritten = (hash: string): boolean => {
    let live = lockIsLive.get(hash)
    if (live === undefined) {
      const state = present.has(`${hash}.lock`) ? readLockState(lockFile(dir, hash)) : undefined
      live = state !== undefined && !isLockStale(state, lockStaleMs)
      lockIsLive.set(hash, live)
    }
    return live
  }
  let bytes = 0
  let removed = 0
  for (const name of names) {
    const parsed = parseName(name)
    if (!parsed) continue
    const file = join(dir, name)
    if (parsed.kind === 'damaged') {
      removeQuietly(file)
      continue
    }
    if (parsed.kind === 'ledger-partial') {
      if (!isProcessAlive(parsed.pid)) removed += Number(removeQuietly(file))
      continue
    }
    if (parsed.kind === 'partial') {
      if (!isProcessAlive(parsed.pid) || !isBeingWritten(parsed.hash)) removed += Number(removeQuietly(file))
      continue
    }
    if (parsed.kind === 'stale-lock') {
      removed += Number(removeQuietly(file))
      continue
    }
    if (parsed.kind === 'lock') {
      if (!isBeingWritten(parsed.hash)) removeQuietly(file)
      continue
    }
    const hasData = present.has(`${parsed.hash}.data`)
    const hasMeta = present.has(`${parsed.hash}.meta`)
    if (!(hasData && hasMeta)) {
      if (!isBeingWritten(parsed.hash)) removed += Number(removeQuietly(file))
      continue
    }
    if (parsed.kind !== 'data') continue
    let stats: ReturnType<typeof lstatSync>
    try {
      stats = lstatSync(file)
    } catch {
      continue // removed by another thread since readdir
    }
    // Never follow a link planted in the directory: only regular files with one name are entries
    // (a hard link may share its bytes with a file outside the directory).
    if (!isOwnFile(stats)) {
      removed += Number(removeQuietly(file))
      continue
    }
    entries.push([parsed.hash, { size: stats.size, mtimeMs: stats.mtimeMs }])
    bytes += stats.size
  }
  entries.sort((a, b) => a[1].mtimeMs - b[1].mtimeMs)
  return { entries, bytes, removed }
}
