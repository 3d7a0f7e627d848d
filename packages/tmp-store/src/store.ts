// The store: a directory of entries (`<sha256(key)>.data`, the bytes as written, and `.meta`, the
// key and what is needed to check the data), an LRU index of them kept in memory and rebuilt from
// the directory at construction, and the locks that make writes single-flight and budgeted across
// the threads and processes that share the directory.
import { createHash } from 'node:crypto'
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statfsSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { type FileHandle, lstat, open, readFile, utimes } from 'node:fs/promises'
import { dirname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { TmpStoreEntryTooLargeError } from './errors.ts'
import { acquireLock, type FileLock, tryAcquireLock } from './lock.ts'
import { budgetLockFile, dataFile, hashKey, ledgerFile, lockFile, metaFile, partialFile } from './names.ts'
import {
  defaultBudget,
  defaults,
  resolveDir,
  type TmpStoreOptions,
  tmpStoreValidateOptions,
} from './options.ts'
import { scanDirectory } from './scan.ts'
import { FileSink } from './sink.ts'
import { splitFetchResult, type TmpData, type TmpFetchResult, toSource } from './source.ts'

export interface TmpEntry {
  key: string
  /** The entry's file: exactly the bytes stored, for libraries that open files themselves. */
  path: string
  size: number
}

export interface TmpFetchedEntry extends TmpEntry {
  /** Whether the entry was already there (no fetch ran for this call). */
  hit: boolean
}

export interface TmpEntryInfo extends TmpEntry {
  createdAt: number
  expiresAt?: number
  /** What the fetch returned beside the data, or put's `meta` (an ETag, a version). */
  meta: Record<string, string>
}

export interface TmpPutOptions {
  /** The entry expires this long after it is written. */
  ttlMs?: number
  meta?: Record<string, string>
}

export interface TmpGetOrFetchOptions {
  ttlMs?: number
  /** Called for a cached entry; false means stale: it is fetched again (e.g. compare an ETag). */
  validate?: (entry: TmpEntryInfo) => boolean | Promise<boolean>
}

export interface TmpStoreStats {
  entries: number
  bytes: number
  maxBytes: number
  hits: number
  misses: number
  evictions: number
}

interface StoredMeta {
  v: 1
  key: string
  size: number
  sha256?: string
  createdAt: number
  expiresAt?: number
  meta?: Record<string, string>
}

// One version of one entry, identified by its file's inode, birth time and size: a rewrite (a new
// file renamed into place) is a new version whose metadata is read again.
interface Version {
  ino: number
  birthtimeMs: number
  size: number
}

interface IndexEntry {
  size: number
  /** Last use seen by this thread (every use), or the file's mtime (uses by anyone, persisted). */
  usedMs: number
  /** When the file's mtime was last set to record a use. */
  touchedMs: number
  verified?: { version: Version; meta: StoredMeta }
}

interface FileStats {
  ino: number
  birthtimeMs: number
  size: number
  isFile(): boolean
}

const readFlags = constants.O_RDONLY | constants.O_NOFOLLOW
const createFlags = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW
// Recency is kept in memory on every use, and written to the data file's mtime (which other
// threads, processes and the next init read) at most this often per entry.
const touchIntervalMs = 1_000

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code
const sameVersion = (a: Version, b: Version) =>
  a.ino === b.ino && a.birthtimeMs === b.birthtimeMs && a.size === b.size

// mkdir -p, by hand: Node's recursive mkdir never returns for a path under /proc (mkdir there fails
// with ENOENT although the parent exists, and it retries the parent forever).
const makeDirectory = (dir: string): void => {
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return
    const parent = dirname(dir)
    if (errorCode(error) !== 'ENOENT' || parent === dir || existsSync(parent)) throw error
    makeDirectory(parent)
    mkdirSync(dir, { mode: 0o700 })
  }
}

export interface ResolvedTmpStoreOptions {
  dir: string
  maxBytes: number
  checksum: boolean
  fsync: boolean
  lockStaleMs: number
}

export class TmpStore {
  readonly dir: string
  readonly maxBytes: number
  readonly options: ResolvedTmpStoreOptions
  readonly #index = new Map<string, IndexEntry>() // insertion order: least recently used first
  readonly #inFlight = new Map<string, Promise<TmpFetchedEntry>>()
  #bytes = 0
  #hits = 0
  #misses = 0
  #evictions = 0

  /** Opens (creating it if needed) the directory and rebuilds the index from it. */
  constructor(options: Omit<TmpStoreOptions<string>, 'contextKey'> = {}) {
    tmpStoreValidateOptions(options)
    const requestedDir = resolveDir(options)
    try {
      makeDirectory(requestedDir)
      accessSync(requestedDir, constants.W_OK | constants.R_OK | constants.X_OK)
    } catch (error) {
      throw new TypeError(
        `@thaw/tmp-store: option 'dir' must be a writable directory, ${JSON.stringify(requestedDir)} is not (${errorCode(error) ?? (error as Error).message})`,
      )
    }
    // Symlinks in the path are resolved once, here: inside the directory none is ever followed.
    this.dir = realpathSync(requestedDir)
    const scanned = scanDirectory(this.dir, options.lockStaleMs ?? defaults.lockStaleMs)
    for (const [hash, { size, mtimeMs }] of scanned.entries)
      this.#index.set(hash, { size, usedMs: mtimeMs, touchedMs: mtimeMs })
    this.#bytes = scanned.bytes
    this.maxBytes = options.maxBytes ?? this.#defaultMaxBytes(scanned.bytes)
    this.options = {
      dir: this.dir,
      maxBytes: this.maxBytes,
      checksum: options.checksum ?? defaults.checksum,
      fsync: options.fsync ?? defaults.fsync,
      lockStaleMs: options.lockStaleMs ?? defaults.lockStaleMs,
    }
    // A budget lowered since the last run is honoured now, unless another thread is committing.
    if (this.#bytes > this.maxBytes) {
      const budgetLock = tryAcquireLock(budgetLockFile(this.dir), this.options.lockStaleMs)
      if (budgetLock)
        this.#withLock(budgetLock, () => {
          this.#evictUntilFree(0)
          this.#writeLedger(this.#bytes)
        })
    }
  }

  // Half the file system (Lambda's /tmp is the function's alone, but it also unpacks, downloads and
  // writes there), and never more than 90 % of what is free now plus what the store already holds.
  #defaultMaxBytes(storedBytes: number): number {
    const { blocks, bavail, bsize } = statfsSync(this.dir)
    const share = Math.min(
      blocks * bsize * defaultBudget.shareOfSize,
      (bavail * bsize + storedBytes) * defaultBudget.shareOfFree,
    )
    return Math.max(1, Math.floor(share))
  }

  #withLock<T>(lock: FileLock, run: () => T): T {
    try {
      return run()
    } finally {
      lock.release()
    }
  }

  /**
   * Entries and bytes of the whole directory (every thread's and process's), read from it now: one
   * readdir and one lstat per entry. Hits, misses and evictions are this thread's.
   */
  stats(): TmpStoreStats {
    this.#reconcile()
    return {
      entries: this.#index.size,
      bytes: this.#bytes,
      maxBytes: this.maxBytes,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
    }
  }

  // ---- reading ---------------------------------------------------------------------------------

  async #readMeta(hash: string): Promise<StoredMeta | undefined> {
    try {
      const meta = JSON.parse(await readFile(metaFile(this.dir, hash), { encoding: 'utf8', flag: readFlags }))
      return meta?.v === 1 && typeof meta.key === 'string' && typeof meta.size === 'number' ? meta : undefined
    } catch {
      return undefined
    }
  }

  async #sha256Of(handle: FileHandle): Promise<string> {
    const hash = createHash('sha256')
    await pipeline(handle.createReadStream({ start: 0, autoClose: false }), hash)
    return hash.digest('hex')
  }

  /**
   * The entry's checked metadata for the data file whose stats are given (opened or lstat'ed by the
   * caller), 'missing', or 'damaged' (a link, a size or checksum that does not match, a half-written
   * metadata file, another key's file).
   */
  async #check(
    hash: string,
    key: string,
    stats: FileStats,
    handle?: FileHandle,
  ): Promise<StoredMeta | 'damaged'> {
    if (!stats.isFile()) return 'damaged'
    const version: Version = { ino: stats.ino, birthtimeMs: stats.birthtimeMs, size: stats.size }
    let entry = this.#index.get(hash)
    if (entry?.verified && sameVersion(entry.verified.version, version)) return entry.verified.meta
    const meta = await this.#readMeta(hash)
    if (!meta || meta.key !== key || meta.size !== stats.size) return 'damaged'
    if (this.options.checksum && meta.sha256 !== undefined) {
      const ownHandle = handle ?? (await open(dataFile(this.dir, hash), readFlags))
      try {
        if ((await this.#sha256Of(ownHandle)) !== meta.sha256) return 'damaged'
      } finally {
        if (!handle) await ownHandle.close()
      }
    }
    if (!entry) {
      // Written by another thread or process since our last look at the directory.
      entry = { size: stats.size, usedMs: Date.now(), touchedMs: 0 }
      this.#index.set(hash, entry)
      this.#bytes += stats.size
    } else if (entry.size !== stats.size) {
      this.#bytes += stats.size - entry.size
      entry.size = stats.size
    }
    entry.verified = { version, meta }
    return meta
  }

  #isExpired(meta: StoredMeta): boolean {
    return meta.expiresAt !== undefined && meta.expiresAt <= Date.now()
  }

  #info(hash: string, meta: StoredMeta): TmpEntryInfo {
    return {
      key: meta.key,
      path: dataFile(this.dir, hash),
      size: meta.size,
      createdAt: meta.createdAt,
      ...(meta.expiresAt === undefined ? {} : { expiresAt: meta.expiresAt }),
      meta: meta.meta ?? {},
    }
  }

  #touch(hash: string): void {
    const entry = this.#index.get(hash)
    if (!entry) return
    this.#index.delete(hash)
    this.#index.set(hash, entry)
    const now = Date.now()
    entry.usedMs = now
    if (now - entry.touchedMs < touchIntervalMs) return
    entry.touchedMs = now
    const time = new Date(now)
    utimes(dataFile(this.dir, hash), time, time).catch(() => {
      // Evicted meanwhile: nothing to keep recent.
    })
  }

  // A damaged entry is removed only by whoever holds its key's lock (a writer may be between its
  // two renames); without the lock it is simply not served.
  #dropDamaged(hash: string): void {
    const lock = tryAcquireLock(lockFile(this.dir, hash), this.options.lockStaleMs)
    if (lock) this.#withLock(lock, () => this.#remove(hash))
  }

  /** The entry's metadata if a valid, unexpired entry exists (not reading its bytes). */
  async #find(hash: string, key: string): Promise<StoredMeta | undefined> {
    let stats: FileStats
    try {
      // lstat: a symlink planted as the entry's file is seen as one (damaged), never followed.
      stats = await lstat(dataFile(this.dir, hash))
    } catch {
      return undefined
    }
    const meta = await this.#check(hash, key, stats)
    if (meta === 'damaged') {
      this.#dropDamaged(hash)
      return undefined
    }
    return this.#isExpired(meta) ? undefined : meta
  }

  /** The entry's bytes, or undefined. */
  async get(key: string): Promise<Buffer | undefined> {
    const hash = hashKey(key)
    // A version this thread has checked already is read in one go (open, fstat, read, close, as
    // fs.readFile does) and its length compared. With checksums on, each new version is checked below.
    const verified = this.#index.get(hash)?.verified
    if (verified && !this.options.checksum && !this.#isExpired(verified.meta)) {
      const bytes = await readFile(dataFile(this.dir, hash), { flag: readFlags }).catch(() => undefined)
      if (bytes?.length === verified.meta.size) {
        this.#hits++
        this.#touch(hash)
        return bytes
      }
    }
    let handle: FileHandle
    try {
      handle = await open(dataFile(this.dir, hash), readFlags)
    } catch (error) {
      // ELOOP: a symlink planted where the entry's file should be.
      if (errorCode(error) === 'ELOOP') this.#dropDamaged(hash)
      this.#misses++
      return undefined
    }
    try {
      const meta = await this.#check(hash, key, await handle.stat(), handle)
      if (meta === 'damaged') this.#dropDamaged(hash)
      if (meta === 'damaged' || this.#isExpired(meta)) {
        this.#misses++
        return undefined
      }
      const bytes = await handle.readFile()
      if (bytes.length !== meta.size) {
        this.#misses++
        return undefined
      }
      this.#hits++
      this.#touch(hash)
      return bytes
    } finally {
      await handle.close()
    }
  }

  async has(key: string): Promise<boolean> {
    return (await this.#find(hashKey(key), key)) !== undefined
  }

  /** The entry's file path, or undefined; counts as a use for the LRU order. */
  async path(key: string): Promise<string | undefined> {
    const hash = hashKey(key)
    if (!(await this.#find(hash, key))) return undefined
    this.#touch(hash)
    return dataFile(this.dir, hash)
  }

  // ---- writing ---------------------------------------------------------------------------------

  async put(key: string, data: TmpData, options: TmpPutOptions = {}): Promise<TmpEntry> {
    const hash = hashKey(key)
    const lock = await acquireLock(lockFile(this.dir, hash), this.options.lockStaleMs)
    try {
      return await this.#write(hash, key, data, options)
    } finally {
      lock.release()
    }
  }

  /**
   * The cached entry, or what `fetch` returns, stored. One fetch per key at a time across every
   * thread and process sharing the directory; callers in this thread share the one in flight.
   */
  async getOrFetch(
    key: string,
    fetch: () => TmpFetchResult | Promise<TmpFetchResult>,
    options: TmpGetOrFetchOptions = {},
  ): Promise<TmpFetchedEntry> {
    const hash = hashKey(key)
    const cached = await this.#findUsable(hash, key, options)
    if (cached) {
      this.#hits++
      this.#touch(hash)
      return { key, path: dataFile(this.dir, hash), size: cached.size, hit: true }
    }
    let inFlight = this.#inFlight.get(hash)
    if (!inFlight) {
      inFlight = this.#fetchUnderLock(hash, key, fetch, options).finally(() => this.#inFlight.delete(hash))
      this.#inFlight.set(hash, inFlight)
    }
    return inFlight
  }

  async #findUsable(
    hash: string,
    key: string,
    options: TmpGetOrFetchOptions,
  ): Promise<StoredMeta | undefined> {
    const meta = await this.#find(hash, key)
    if (!meta || !options.validate) return meta
    return (await options.validate(this.#info(hash, meta))) ? meta : undefined
  }

  async #fetchUnderLock(
    hash: string,
    key: string,
    fetch: () => TmpFetchResult | Promise<TmpFetchResult>,
    options: TmpGetOrFetchOptions,
  ): Promise<TmpFetchedEntry> {
    const lock = await acquireLock(lockFile(this.dir, hash), this.options.lockStaleMs)
    try {
      // Another thread or process may have stored it while we waited for the lock.
      const stored = await this.#findUsable(hash, key, options)
      if (stored) {
        this.#hits++
        this.#touch(hash)
        return { key, path: dataFile(this.dir, hash), size: stored.size, hit: true }
      }
      this.#misses++
      const { data, meta } = splitFetchResult(await fetch())
      const entry = await this.#write(hash, key, data, {
        ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
        ...(meta === undefined ? {} : { meta }),
      })
      return { ...entry, hit: false }
    } finally {
      lock.release()
    }
  }

  // Streams the data to a partial file in the directory (same file system, so the rename is atomic),
  // then commits it against the budget. The caller holds the key's lock.
  async #write(hash: string, key: string, data: TmpData, options: TmpPutOptions): Promise<TmpEntry> {
    const { source, knownBytes } = toSource(data)
    const tooLarge = (bytes: number) => new TmpStoreEntryTooLargeError(key, bytes, this.maxBytes)
    if (knownBytes !== undefined && knownBytes > this.maxBytes) throw tooLarge(knownBytes)
    const partial = partialFile(this.dir, hash)
    const fd = openSync(partial, createFlags, 0o600)
    let open = true
    try {
      const sink = new FileSink({
        fd,
        maxBytes: this.maxBytes,
        checksum: this.options.checksum,
        onTooLarge: tooLarge,
        makeRoom: (bytes) => this.#makeRoom(Math.max(bytes, knownBytes ?? 0)),
      })
      await pipeline(source, sink)
      if (this.options.fsync) fsyncSync(fd)
      closeSync(fd)
      open = false
      const createdAt = Date.now()
      const checksum = sink.sha256()
      const meta: StoredMeta = {
        v: 1,
        key,
        size: sink.bytes,
        createdAt,
        ...(checksum === undefined ? {} : { sha256: checksum }),
        ...(options.ttlMs === undefined ? {} : { expiresAt: createdAt + options.ttlMs }),
        ...(options.meta === undefined ? {} : { meta: options.meta }),
      }
      await this.#commit(hash, partial, meta)
      return { key, path: dataFile(this.dir, hash), size: meta.size }
    } catch (error) {
      if (open) closeSync(fd)
      try {
        unlinkSync(partial)
      } catch {
        // Already renamed into place or removed.
      }
      throw error
    }
  }

  // Under the directory-wide budget lock. The ledger (`.budget`, the committed bytes of every thread
  // and process, kept under this lock) says whether the entry fits; if it does not, or the ledger is
  // missing, the directory itself is scanned (other threads and processes add and remove entries),
  // least recently used entries are evicted until this one fits, and the ledger is set to the truth.
  // The ledger is written before the rename, so a crash in between leaves it counting too much (a
  // rescan sooner), never too little. Then the data and then the metadata are renamed into place: a
  // reader that looks between the two sees a size that does not match and treats the entry as
  // missing, never as served.
  async #commit(hash: string, partial: string, meta: StoredMeta): Promise<void> {
    const budgetLock = await acquireLock(budgetLockFile(this.dir), this.options.lockStaleMs)
    this.#withLock(budgetLock, () => {
      let committed = this.#readLedger()
      let replaced = this.#sizeOnDisk(hash)
      if (committed === undefined || committed - replaced + meta.size > this.maxBytes) {
        this.#reconcile()
        this.#evictUntilFree(meta.size, hash)
        committed = this.#bytes
        replaced = this.#index.get(hash)?.size ?? 0
      }
      this.#writeLedger(committed - replaced + meta.size)
      const metaPartial = partialFile(this.dir, hash, 'meta')
      const metaFd = openSync(metaPartial, createFlags, 0o600)
      try {
        writeSync(metaFd, JSON.stringify(meta))
      } finally {
        closeSync(metaFd)
      }
      renameSync(partial, dataFile(this.dir, hash))
      renameSync(metaPartial, metaFile(this.dir, hash))
      const previous = this.#index.get(hash)
      if (previous) {
        this.#bytes -= previous.size
        this.#index.delete(hash)
      }
      this.#index.set(hash, { size: meta.size, usedMs: meta.createdAt, touchedMs: meta.createdAt })
      this.#bytes += meta.size
    })
  }

  #sizeOnDisk(hash: string): number {
    return lstatSync(dataFile(this.dir, hash), { throwIfNoEntry: false })?.size ?? 0
  }

  #readLedger(): number | undefined {
    try {
      const bytes = Number(readFileSync(ledgerFile(this.dir), { encoding: 'utf8', flag: readFlags }))
      return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : undefined
    } catch {
      return undefined
    }
  }

  #writeLedger(bytes: number): void {
    try {
      writeFileSync(ledgerFile(this.dir), String(bytes), { mode: 0o600 })
    } catch {
      // A full disk: without a ledger the next commit scans the directory.
      rmSync(ledgerFile(this.dir), { force: true })
    }
  }

  // The index again from the directory, keeping this thread's own more recent uses.
  #reconcile(): void {
    const scanned = scanDirectory(this.dir, this.options.lockStaleMs)
    // Order by last use; uses within the same millisecond keep this thread's order of them.
    const rank = new Map([...this.#index.keys()].map((hash, position) => [hash, position]))
    const merged = scanned.entries.map(([hash, { size, mtimeMs }]) => {
      const known = this.#index.get(hash)
      const entry: IndexEntry = {
        size,
        usedMs: Math.max(mtimeMs, known?.usedMs ?? 0),
        touchedMs: Math.max(mtimeMs, known?.touchedMs ?? 0),
      }
      if (known?.verified && known.verified.version.size === size) entry.verified = known.verified
      return [hash, entry] as const
    })
    merged.sort((a, b) => a[1].usedMs - b[1].usedMs || (rank.get(a[0]) ?? -1) - (rank.get(b[0]) ?? -1))
    this.#index.clear()
    for (const [hash, entry] of merged) this.#index.set(hash, entry)
    this.#bytes = scanned.bytes
  }

  // Evicts least recently used entries until `incoming` more bytes fit in the budget. The entry
  // being replaced (`replacing`) goes last: its bytes leave when the new version is renamed over it.
  #evictUntilFree(incoming: number, replacing?: string): void {
    const replacedBytes = replacing === undefined ? 0 : (this.#index.get(replacing)?.size ?? 0)
    for (const hash of [...this.#index.keys()]) {
      if (this.#bytes - replacedBytes + incoming <= this.maxBytes) return
      if (hash === replacing) continue
      this.#remove(hash)
      this.#evictions++
    }
  }

  async #makeRoom(bytes: number): Promise<void> {
    const budgetLock = await acquireLock(budgetLockFile(this.dir), this.options.lockStaleMs)
    this.#withLock(budgetLock, () => {
      this.#reconcile()
      // Free what the write needs, and at least a tenth of the budget so the next write fits too.
      const target = Math.max(0, this.#bytes - Math.max(bytes, Math.ceil(this.maxBytes / 10)))
      for (const hash of [...this.#index.keys()]) {
        if (this.#bytes <= target) return
        this.#remove(hash)
        this.#evictions++
      }
      this.#writeLedger(this.#bytes)
    })
  }

  // Data first (its bytes are what is short), then the metadata.
  #remove(hash: string): boolean {
    let removed = false
    for (const file of [dataFile(this.dir, hash), metaFile(this.dir, hash)]) {
      try {
        unlinkSync(file)
        removed = true
      } catch {
        // Not there (removed by another thread, or never complete).
      }
    }
    const entry = this.#index.get(hash)
    if (entry) {
      this.#bytes -= entry.size
      this.#index.delete(hash)
    }
    return removed
  }

  /** Removes the entry (waiting for a write of the same key in flight); whether there was one. */
  async delete(key: string): Promise<boolean> {
    const hash = hashKey(key)
    const lock = await acquireLock(lockFile(this.dir, hash), this.options.lockStaleMs)
    return this.#withLock(lock, () => this.#remove(hash))
  }
}

// Lambda keeps module state between warm invocations of one execution environment (of one worker
// thread, in Managed Instances): one store per directory, whatever number of handlers ask for it.
const openStores = new Map<string, TmpStore>()

/** The store of this directory in this thread, opened at the first call. */
export const openTmpStore = (options: Omit<TmpStoreOptions<string>, 'contextKey'> = {}): TmpStore => {
  tmpStoreValidateOptions(options)
  const requestedDir = resolveDir(options)
  let dir: string
  try {
    dir = realpathSync(requestedDir)
  } catch {
    dir = requestedDir
  }
  const open = openStores.get(dir)
  if (open) {
    for (const name of ['maxBytes', 'checksum', 'fsync', 'lockStaleMs'] as const) {
      const wanted: unknown = options[name]
      if (wanted !== undefined && wanted !== open.options[name])
        throw new TypeError(
          `@thaw/tmp-store: option '${name}' is ${wanted}, but the store of ${dir} is already open in this environment with ${open.options[name]}`,
        )
    }
    return open
  }
  const store = new TmpStore(options)
  openStores.set(store.dir, store)
  return store
}
