// The store: a directory of entries (`<sha256(key)>.data`, the bytes as written, and `.meta`, the key
// and what is needed to check the data), an LRU index of them kept in memory and rebuilt from the
// directory at construction, and the locks that make writes single-flight and budgeted across the
// threads and processes that share the directory. This class puts the parts together: reading
// (read.ts), writing (write.ts), the budget (budget.ts), the index (entries.ts), the locks (lock.ts).
import { optionError } from '@thaw/util'
import { Budget } from './budget.ts'
import { openDirectory } from './directory.ts'
import { EntryIndex, removeEntry, type StoredMeta, type StoreSettings } from './entries.ts'
import { fileSystemError, packageName } from './errors.ts'
import { acquireLock } from './lock.ts'
import { dataFile, hashKey, lockFile } from './names.ts'
import { statfsSync } from './node-builtins.ts'
import { defaultBudget, settingsOf, type TmpStoreOptions, type TmpStoreSettings } from './options.ts'
import { entryInfo, findEntry, type ReadParts, readEntry, useEntry } from './read.ts'
import { scanDirectory } from './scan.ts'
import { splitFetchResult } from './source.ts'
import type {
  TmpData,
  TmpEntry,
  TmpFetchedEntry,
  TmpFetchResult,
  TmpGetOrFetchOptions,
  TmpPutOptions,
  TmpStoreResource,
  TmpStoreStats,
} from './types.ts'
import { checkEntryMeta, writeEntry } from './write.ts'

// Half the file system (Lambda's /tmp is the function's alone, but it also unpacks, downloads and
// writes there), and never more than 90 % of what is free now plus what the store already holds.
const defaultMaxBytes = (dir: string, storedBytes: number): number => {
  const { blocks, bavail, bsize } = statfsSync(dir)
  const share = Math.min(
    blocks * bsize * defaultBudget.shareOfSize,
    (bavail * bsize + storedBytes) * defaultBudget.shareOfFree,
  )
  return Math.max(1, Math.floor(share))
}

// A per-call TTL is compared with the clock, never given to a timer: any non-negative integer works.
const checkTtl = (ttlMs: unknown): void => {
  if (ttlMs !== undefined && !(Number.isSafeInteger(ttlMs) && (ttlMs as number) >= 0))
    throw optionError(
      packageName,
      'ttlMs',
      `option 'ttlMs' must be an integer from 0 to ${Number.MAX_SAFE_INTEGER} (milliseconds), got ${typeof ttlMs === 'number' ? `number ${ttlMs}` : typeof ttlMs}`,
    )
}

// This thread's counts across every store it opened: tmpStoreStats() (stats.ts) reads them.
const threadCounts = { stores: 0, hits: 0, misses: 0 }

/** A copy of this thread's counts of stores opened, hits and misses. */
export const storeCounts = (): { stores: number; hits: number; misses: number } => ({ ...threadCounts })

export class TmpStore implements TmpStoreResource {
  /** The settings the store works with: the options checked once, the budget resolved, the directory's real path. */
  readonly settings: StoreSettings
  readonly #index = new EntryIndex()
  readonly #budget: Budget
  readonly #parts: ReadParts
  readonly #inFlight = new Map<string, Promise<TmpFetchedEntry>>()
  #hits = 0
  #misses = 0

  /** Opens (creating it if needed) the directory and rebuilds the index from it. */
  constructor(options: Omit<TmpStoreOptions<string>, 'contextKey'> | TmpStoreSettings = {}) {
    const { contextKey: _contextKey, ...given } = settingsOf(options)
    const dir = openDirectory(given.dir)
    let scanned: ReturnType<typeof scanDirectory>
    try {
      scanned = scanDirectory(dir, given.lockStaleMs)
    } catch (error) {
      throw fileSystemError(error, 'read the directory', { path: dir })
    }
    this.#index.replaceAll(
      scanned.entries.map(([hash, { size, mtimeMs }]) => [
        hash,
        { size, usedMs: mtimeMs, touchedMs: mtimeMs },
      ]),
      scanned.bytes,
    )
    this.settings = Object.freeze({
      ...given,
      dir,
      maxBytes: given.maxBytes ?? defaultMaxBytes(dir, scanned.bytes),
    })
    this.#parts = { dir, settings: this.settings, index: this.#index }
    this.#budget = new Budget(dir, this.settings, this.#index)
    this.#budget.honourAtOpen()
    threadCounts.stores++
  }

  #hit(): void {
    this.#hits++
    threadCounts.hits++
  }

  #miss(): void {
    this.#misses++
    threadCounts.misses++
  }

  get dir(): string {
    return this.settings.dir
  }

  get maxBytes(): number {
    return this.settings.maxBytes
  }

  /**
   * Entries and bytes of the whole directory (every thread's and process's), read from it now: one
   * readdir and one lstat per entry. Hits, misses and evictions are this store's.
   */
  stats(): TmpStoreStats {
    try {
      this.#budget.reconcile()
    } catch (error) {
      throw fileSystemError(error, 'read the directory', { path: this.dir })
    }
    return {
      entries: this.#index.size,
      bytes: this.#index.bytes,
      maxBytes: this.maxBytes,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#budget.evictions,
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    const hash = hashKey(key)
    let bytes: Buffer | undefined
    try {
      bytes = await readEntry(this.#parts, hash, key)
    } catch (error) {
      throw fileSystemError(error, 'read the entry', { key, path: dataFile(this.dir, hash) })
    }
    if (bytes) this.#hit()
    else this.#miss()
    return bytes
  }

  async has(key: string): Promise<boolean> {
    return (await this.#find(hashKey(key), key)) !== undefined
  }

  async path(key: string): Promise<string | undefined> {
    const hash = hashKey(key)
    if (!(await this.#find(hash, key))) return undefined
    useEntry(this.#parts, hash)
    return dataFile(this.dir, hash)
  }

  async put(key: string, data: TmpData, options: TmpPutOptions = {}): Promise<TmpEntry> {
    const hash = hashKey(key)
    checkTtl(options.ttlMs)
    checkEntryMeta(key, data, options.meta, "put's option 'meta'")
    const lock = await this.#lockKey(hash, key)
    try {
      return await writeEntry({ ...this.#parts, budget: this.#budget }, hash, key, data, options)
    } finally {
      lock.release()
    }
  }

  async getOrFetch(
    key: string,
    fetch: () => TmpFetchResult | Promise<TmpFetchResult>,
    options: TmpGetOrFetchOptions = {},
  ): Promise<TmpFetchedEntry> {
    const hash = hashKey(key)
    checkTtl(options.ttlMs)
    const cached = await this.#findUsable(hash, key, options)
    if (cached) {
      this.#hit()
      useEntry(this.#parts, hash)
      return { key, path: dataFile(this.dir, hash), size: cached.size, hit: true }
    }
    let inFlight = this.#inFlight.get(hash)
    if (!inFlight) {
      inFlight = this.#fetchUnderLock(hash, key, fetch, options).finally(() => this.#inFlight.delete(hash))
      this.#inFlight.set(hash, inFlight)
    }
    return inFlight
  }

  async delete(key: string): Promise<boolean> {
    const hash = hashKey(key)
    const lock = await this.#lockKey(hash, key)
    try {
      return removeEntry(this.dir, this.#index, hash)
    } catch (error) {
      throw fileSystemError(error, 'delete the entry', { key, path: dataFile(this.dir, hash) })
    } finally {
      lock.release()
    }
  }

  async #lockKey(hash: string, key: string) {
    const path = lockFile(this.dir, hash)
    try {
      return await acquireLock(path, {
        staleMs: this.settings.lockStaleMs,
        waitMs: this.settings.lockWaitMs,
        key,
      })
    } catch (error) {
      throw fileSystemError(error, "take the key's lock", { key, path })
    }
  }

  async #find(hash: string, key: string): Promise<StoredMeta | undefined> {
    try {
      return await findEntry(this.#parts, hash, key)
    } catch (error) {
      throw fileSystemError(error, 'look up the entry', { key, path: dataFile(this.dir, hash) })
    }
  }

  // The user's validate() throws what it throws: only the store's own file-system work is wrapped.
  async #findUsable(
    hash: string,
    key: string,
    options: TmpGetOrFetchOptions,
  ): Promise<StoredMeta | undefined> {
    let meta: StoredMeta | undefined
    try {
      meta = await findEntry(this.#parts, hash, key)
    } catch (error) {
      throw fileSystemError(error, 'look up the entry', { key, path: dataFile(this.dir, hash) })
    }
    if (!meta || !options.validate) return meta
    return (await options.validate(entryInfo(this.dir, hash, meta))) ? meta : undefined
  }

  async #fetchUnderLock(
    hash: string,
    key: string,
    fetch: () => TmpFetchResult | Promise<TmpFetchResult>,
    options: TmpGetOrFetchOptions,
  ): Promise<TmpFetchedEntry> {
    const lock = await this.#lockKey(hash, key)
    try {
      // Another thread or process may have stored it while we waited for the lock.
      const stored = await this.#findUsable(hash, key, options)
      if (stored) {
        this.#hit()
        useEntry(this.#parts, hash)
        return { key, path: dataFile(this.dir, hash), size: stored.size, hit: true }
      }
      this.#miss()
      const { data, meta } = splitFetchResult(await fetch())
      checkEntryMeta(key, data, meta, 'the meta that fetch resolved with')
      const entry = await writeEntry({ ...this.#parts, budget: this.#budget }, hash, key, data, {
        ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
        ...(meta === undefined ? {} : { meta }),
      })
      return { ...entry, hit: false }
    } finally {
      lock.release()
    }
  }
}
