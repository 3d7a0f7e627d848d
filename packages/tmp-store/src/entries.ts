// What one store knows about the entries of its directory: the LRU index kept in memory (rebuilt
// from the directory at construction, merged with it again at every scan), the metadata format of an
// entry, and the removal of an entry's files. The read, write and budget modules share one of these.
import { removeNameSync } from './files.ts'
import { dataFile, metaFile } from './names.ts'
import { lutimes } from './node-builtins.ts'
import type { TmpStoreSettings } from './options.ts'

/** The settings a store works with: the options' settings, with the budget resolved. */
export type StoreSettings = Omit<TmpStoreSettings, 'maxBytes' | 'contextKey'> & { readonly maxBytes: number }

/** What `<hash>.meta` holds. */
export interface StoredMeta {
  v: 1
  key: string
  size: number
  sha256?: string
  createdAt: number
  expiresAt?: number
  meta?: Record<string, string>
}

// The largest metadata file a reader accepts (read.ts): metadata is a few hundred bytes, so a file
// far larger is not one of the store's own. The write path refuses a key and meta that would not fit.
export const maxMetaBytes = 1024 * 1024

// One version of one entry, identified by its file's inode, birth time and size: a rewrite (a new
// file renamed into place) is a new version whose metadata is read again.
export interface Version {
  ino: number
  birthtimeMs: number
  size: number
}

export const versionOf = (stats: Version): Version => ({
  ino: stats.ino,
  birthtimeMs: stats.birthtimeMs,
  size: stats.size,
})

export const sameVersion = (a: Version, b: Version): boolean =>
  a.ino === b.ino && a.birthtimeMs === b.birthtimeMs && a.size === b.size

export interface IndexEntry {
  size: number
  /** Last use seen by this thread (every use), or the file's mtime (uses by anyone, persisted). */
  usedMs: number
  /** When the file's mtime was last set to record a use. */
  touchedMs: number
  /** The version this thread has checked (metadata read, key compared, checksum verified if on). */
  verified?: { version: Version; meta: StoredMeta }
}

// Recency is kept in memory on every use, and written to the data file's mtime (which other
// threads, processes and the next init read) at most this often per entry.
const touchIntervalMs = 1_000

/** The entries of the directory as this store knows them, least recently used first, and their bytes. */
export class EntryIndex {
  readonly #entries = new Map<string, IndexEntry>() // insertion order: least recently used first
  #bytes = 0

  get size(): number {
    return this.#entries.size
  }

  get bytes(): number {
    return this.#bytes
  }

  get(hash: string): IndexEntry | undefined {
    return this.#entries.get(hash)
  }

  /** Hashes, least recently used first (a copy: eviction removes while it walks). */
  hashes(): string[] {
    return [...this.#entries.keys()]
  }

  /** Adds or replaces an entry as the most recently used. */
  set(hash: string, entry: IndexEntry): void {
    const previous = this.#entries.get(hash)
    if (previous) {
      this.#bytes -= previous.size
      this.#entries.delete(hash)
    }
    this.#entries.set(hash, entry)
    this.#bytes += entry.size
  }

  resize(entry: IndexEntry, size: number): void {
    this.#bytes += size - entry.size
    entry.size = size
  }

  forget(hash: string): void {
    const entry = this.#entries.get(hash)
    if (!entry) return
    this.#bytes -= entry.size
    this.#entries.delete(hash)
  }

  /** Everything again, in this order (a scan's result merged with what this thread knew). */
  replaceAll(entries: ReadonlyArray<readonly [string, IndexEntry]>, bytes: number): void {
    this.#entries.clear()
    for (const [hash, entry] of entries) this.#entries.set(hash, entry)
    this.#bytes = bytes
  }

  /** Records a use: most recently used in memory; returns whether the file's mtime is due a refresh. */
  use(hash: string): boolean {
    const entry = this.#entries.get(hash)
    if (!entry) return false
    this.#entries.delete(hash)
    this.#entries.set(hash, entry)
    const now = Date.now()
    entry.usedMs = now
    if (now - entry.touchedMs < touchIntervalMs) return false
    entry.touchedMs = now
    return true
  }
}

/** Records a use of an entry; its mtime is set (lutimes: never through a link) at most once a second. */
export const touchEntry = (dir: string, index: EntryIndex, hash: string): void => {
  if (!index.use(hash)) return
  const time = new Date()
  lutimes(dataFile(dir, hash), time, time).catch(() => {
    // Evicted meanwhile, or the directory refuses: recency is still kept in memory.
  })
}

/**
 * Removes an entry's files (data first: its bytes are what is short, then the metadata) and forgets
 * it; whether there was a file. Whatever is under the names goes (see removeNameSync). Throws what
 * the file system refuses (EACCES, EROFS).
 */
export const removeEntry = (dir: string, index: EntryIndex, hash: string): boolean => {
  let removed = false
  try {
    for (const file of [dataFile(dir, hash), metaFile(dir, hash)]) removed = removeNameSync(file) || removed
  } finally {
    index.forget(hash)
  }
  return removed
}
