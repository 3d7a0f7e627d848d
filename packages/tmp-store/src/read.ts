// The read path: finding an entry and checking it before it is served. An entry is served only when
// its data file is a regular file with one name (opened without following a link or waiting on a
// FIFO, checked with fstat on the descriptor, or lstat where only the path is handed out), its
// metadata names exactly the key asked for, its size matches (and its checksum, when on, once per
// version per thread), and it has not expired. A damaged entry is removed by whoever can take its
// key's lock, and never served; another key's entry under the same name is left alone.
import {
  type EntryIndex,
  maxMetaBytes,
  removeEntry,
  type StoredMeta,
  type StoreSettings,
  sameVersion,
  touchEntry,
  versionOf,
} from './entries.ts'
import { closeFd, errorCode, futimesFd, isOwnFile, openRegular, openRegularFd, readFd } from './files.ts'
import { tryAcquireLock } from './lock.ts'
import { dataFile, lockFile, metaFile } from './names.ts'
import type { Stats } from './node-builtins.ts'
import { createHash, createReadStream, lstat, pipeline } from './node-builtins.ts'
import type { TmpEntryInfo } from './types.ts'

/** What the read path needs of a store. */
export interface ReadParts {
  readonly dir: string
  readonly settings: StoreSettings
  readonly index: EntryIndex
}

/** Not served: a damaged entry (removed when its lock is free), or another key's (left alone). */
type Refusal = 'damaged' | 'other-key'

// Undefined for metadata that is missing, planted or not the store's own; a fault of the file system
// (EACCES, EMFILE, EIO) is thrown: it says nothing about the entry, which must be neither removed as
// damaged nor fetched again as missing.
const readMeta = async (dir: string, hash: string): Promise<StoredMeta | undefined> => {
  const opened = await openRegular(metaFile(dir, hash))
  if (typeof opened === 'string') return undefined
  try {
    if (opened.stats.size > maxMetaBytes) return undefined
    const text = await opened.fd.readFile({ encoding: 'utf8' })
    let meta: StoredMeta | undefined
    try {
      meta = JSON.parse(text)
      // Stryker disable next-line BlockStatement: emptied, `meta` stays undefined and the next line returns undefined as this one does
    } catch {
      return undefined
    }
    if (meta?.v !== 1 || typeof meta.key !== 'string') return undefined
    // Stryker disable next-line ConditionalExpression: made true, a size that is not a number never equals the data file's size, so check() refuses the entry as damaged either way
    return typeof meta.size === 'number' ? meta : undefined
  } finally {
    await opened.fd.close()
  }
}

const sha256Of = async (fd: number): Promise<string> => {
  const hash = createHash('sha256')
  // Stryker disable next-line StringLiteral: given `fd`, createReadStream ignores the path (Node 24.21)
  await pipeline(createReadStream('', { fd, start: 0, autoClose: false }), hash)
  return hash.digest('hex')
}

/**
 * The entry's checked metadata for the data file whose stats are given (fstat of `handle`, or lstat of
 * the path), or why it is refused. The key is compared on every path, the fast one included.
 */
const check = async (
  parts: ReadParts,
  hash: string,
  key: string,
  stats: Stats,
  fd?: number,
): Promise<StoredMeta | Refusal> => {
  // check() runs only after checkedInMemory() looked at the same stats with no await between: it
  // answered 'damaged' for a file that is not the store's own, and found no verified version of these
  // stats, so neither of the next two checks can change anything.
  // Stryker disable next-line ConditionalExpression: see above (checkedInMemory already refused a file that is not the store's own)
  if (!isOwnFile(stats)) return 'damaged'
  let entry = parts.index.get(hash)
  const verified = entry?.verified
  if (verified && sameVersion(verified.version, stats))
    // Stryker disable next-line ConditionalExpression,EqualityOperator: see above (checkedInMemory found no verified version of these stats)
    return verified.meta.key === key ? verified.meta : 'other-key'
  const meta = await readMeta(parts.dir, hash)
  if (!meta || meta.size !== stats.size) return 'damaged'
  if (meta.key !== key) return 'other-key'
  if (parts.settings.checksum && meta.sha256 !== undefined) {
    const opened = fd === undefined ? await openRegularFd(dataFile(parts.dir, hash)) : undefined
    if (typeof opened === 'string') return 'damaged'
    try {
      if (opened && !sameVersion(opened.stats, stats)) return 'damaged'
      if ((await sha256Of(fd ?? (opened?.fd as number))) !== meta.sha256) return 'damaged'
    } finally {
      if (opened) await closeFd(opened.fd)
    }
  }
  entry = parts.index.get(hash)
  if (!entry) {
    // Written by another thread or process since our last look at the directory.
    entry = { size: stats.size, usedMs: Date.now(), touchedMs: 0 }
    parts.index.set(hash, entry)
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: the in-memory size of an entry another store rewrote; whatever reads the index's sizes (a commit that does not fit, makeRoom, stats()) rescans the directory first, and resizing to an unchanged size changes nothing
  } else if (entry.size !== stats.size) {
    parts.index.resize(entry, stats.size)
  }
  entry.verified = { version: versionOf(stats), meta }
  return meta
}

// The hit path: a version this thread has checked is decided in memory, without an await; the key
// is compared here too. Undefined: not checked yet, see check().
const checkedInMemory = (
  parts: ReadParts,
  hash: string,
  key: string,
  stats: Stats,
): StoredMeta | Refusal | undefined => {
  if (!isOwnFile(stats)) return 'damaged'
  const verified = parts.index.get(hash)?.verified
  if (!verified || !sameVersion(verified.version, stats)) return undefined
  // Stryker disable next-line ConditionalExpression: a version is recorded as verified only after its key compared equal (check()), and a hash names one key (hashKey refuses the ill-formed keys that would share one)
  return verified.meta.key === key ? verified.meta : 'other-key'
}

const isExpired = (meta: StoredMeta): boolean => meta.expiresAt !== undefined && meta.expiresAt <= Date.now()

// A damaged entry is removed only by whoever holds its key's lock (a writer may be between its two
// renames); without the lock, or where the directory refuses, it is simply not served.
export const dropDamaged = (parts: ReadParts, hash: string): void => {
  let lock: ReturnType<typeof tryAcquireLock>
  try {
    lock = tryAcquireLock(lockFile(parts.dir, hash), parts.settings.lockStaleMs)
    // Stryker disable next-line BlockStatement: emptied, `lock` stays undefined and the next line returns
  } catch {
    return
  }
  if (!lock) return
  try {
    removeEntry(parts.dir, parts.index, hash)
  } catch {
    // The directory refuses (read-only): the entry stays unserved.
  } finally {
    lock.release()
  }
}

/** The entry's metadata if a valid, unexpired entry of this key exists (its bytes are not read). */
export const findEntry = async (
  parts: ReadParts,
  hash: string,
  key: string,
): Promise<StoredMeta | undefined> => {
  let stats: Stats
  try {
    // lstat: a link planted as the entry's file is seen as one (damaged), never followed.
    stats = await lstat(dataFile(parts.dir, hash))
  } catch (error) {
    // Nothing there is a miss; any other failure (EACCES, EIO) is the caller's to hear of.
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  }
  const meta = checkedInMemory(parts, hash, key, stats) ?? (await check(parts, hash, key, stats))
  if (meta === 'damaged') dropDamaged(parts, hash)
  if (typeof meta === 'string' || isExpired(meta)) return undefined
  return meta
}

// Reads exactly `size` bytes from the start (fewer if the file is shorter).
const readBytes = async (fd: number, size: number): Promise<Buffer> => {
  const buffer = Buffer.allocUnsafe(size)
  // Stryker disable next-line ConditionalExpression: made 0, the loop below makes the first read
  let length = size === 0 ? 0 : await readFd(fd, buffer, 0, size, 0)
  while (length < size) {
    const bytesRead = await readFd(fd, buffer, length, size - length, length)
    if (bytesRead === 0) break
    length += bytesRead
  }
  return length === size ? buffer : buffer.subarray(0, length)
}

/**
 * The entry's bytes, or undefined. One open (O_NOFOLLOW|O_NONBLOCK), one fstat, the read and the
 * close, as fs.readFile does; for a version this thread has checked, the rest is in memory.
 */
export const readEntry = async (parts: ReadParts, hash: string, key: string): Promise<Buffer | undefined> => {
  const opened = await openRegularFd(dataFile(parts.dir, hash))
  if (opened === 'missing') return undefined
  if (opened === 'damaged') {
    dropDamaged(parts, hash)
    return undefined
  }
  const { fd, stats } = opened
  try {
    const meta = checkedInMemory(parts, hash, key, stats) ?? (await check(parts, hash, key, stats, fd))
    if (meta === 'damaged') dropDamaged(parts, hash)
    if (typeof meta === 'string' || isExpired(meta)) return undefined
    const bytes = await readBytes(fd, meta.size)
    if (bytes.length !== meta.size) return undefined
    // futimes through the descriptor just read: the use is recorded on this very file.
    if (parts.index.use(hash)) await futimesFd(fd, new Date()).catch(() => undefined)
    return bytes
  } finally {
    await closeFd(fd)
  }
}

/** A use of an entry found by path (getOrFetch, path). */
export const useEntry = (parts: ReadParts, hash: string): void => touchEntry(parts.dir, parts.index, hash)

export const entryInfo = (dir: string, hash: string, meta: StoredMeta): TmpEntryInfo => ({
  key: meta.key,
  path: dataFile(dir, hash),
  size: meta.size,
  createdAt: meta.createdAt,
  ...(meta.expiresAt === undefined ? {} : { expiresAt: meta.expiresAt }),
  meta: meta.meta ?? {},
})
