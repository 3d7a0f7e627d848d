// The byte budget across every thread and process sharing the directory: commits happen under the
// directory-wide budget lock (`.budget.lock`); the ledger (`.budget`) holds the committed bytes of the
// whole directory; when an entry does not fit, the directory is scanned as it is now and the least
// recently used entries are evicted. This module owns the eviction counter.
import {
  type EntryIndex,
  type IndexEntry,
  removeEntry,
  type StoredMeta,
  type StoreSettings,
} from './entries.ts'
import { fileSystemError } from './errors.ts'
import {
  createExclusiveSync,
  readSmallFileSync,
  removeNameSync,
  renameOverSync,
  replaceSmallFileSync,
} from './files.ts'
import { acquireLock, type FileLock, tryAcquireLock } from './lock.ts'
import { budgetLockFile, dataFile, ledgerFile, metaFile, partialFile } from './names.ts'
import { closeSync, lstatSync, writeSync } from './node-builtins.ts'
import { scanDirectory } from './scan.ts'

// Entries evicted by every store of this thread: tmpStoreStats() (stats.ts) reads it.
let threadEvictions = 0

/** Entries evicted to keep a budget by the stores of this thread. */
export const evictionCount = (): number => threadEvictions

const withLock = <T>(lock: FileLock, run: () => T): T => {
  try {
    return run()
  } finally {
    lock.release()
  }
}

export class Budget {
  readonly #dir: string
  readonly #settings: StoreSettings
  readonly #index: EntryIndex
  #evictions = 0

  constructor(dir: string, settings: StoreSettings, index: EntryIndex) {
    this.#dir = dir
    this.#settings = settings
    this.#index = index
  }

  /** Entries this store evicted to keep the budget. */
  get evictions(): number {
    return this.#evictions
  }

  // A budget lowered since the last run is honoured at once, unless another thread is committing.
  honourAtOpen(): void {
    if (this.#index.bytes <= this.#settings.maxBytes) return
    const lock = tryAcquireLock(budgetLockFile(this.#dir), this.#settings.lockStaleMs)
    if (lock)
      withLock(lock, () => {
        this.#evictUntilFree(0)
        this.#writeLedger(this.#index.bytes)
      })
  }

  // The index again from the directory, keeping this thread's own more recent uses.
  reconcile(): void {
    const scanned = scanDirectory(this.#dir, this.#settings.lockStaleMs)
    // Order by last use; uses within the same millisecond keep this thread's order of them.
    const rank = new Map(this.#index.hashes().map((hash, position) => [hash, position]))
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
    this.#index.replaceAll(merged, scanned.bytes)
  }

  // Under the budget lock. The ledger says whether the entry fits; if it does not, or the ledger is
  // missing or damaged, the directory itself is scanned (other threads and processes add and remove
  // entries), least recently used entries are evicted until this one fits, and the ledger is set to
  // the truth. The ledger is written before the rename, so a crash in between leaves it counting too
  // much (a rescan sooner), never too little. Then the data and then the metadata are renamed into
  // place: a reader that looks between the two sees a size that does not match and treats the entry
  // as missing, never as served. The caller holds the key's lock.
  async commit(hash: string, partial: string, meta: StoredMeta): Promise<void> {
    const lock = await acquireLock(budgetLockFile(this.#dir), {
      staleMs: this.#settings.lockStaleMs,
      waitMs: this.#settings.lockWaitMs,
      key: meta.key,
    })
    withLock(lock, () => {
      let replaced = this.#sizeOnDisk(hash)
      let committed = this.#checkedLedger(replaced)
      if (committed === undefined || committed - replaced + meta.size > this.#settings.maxBytes) {
        this.reconcile()
        this.#evictUntilFree(meta.size, hash)
        committed = this.#index.bytes
        replaced = this.#index.get(hash)?.size ?? 0
      }
      this.#writeLedger(committed - replaced + meta.size)
      const metaPartial = partialFile(this.#dir, hash, 'meta')
      let step = 'write the metadata of'
      let path = metaPartial
      try {
        const metaFd = createExclusiveSync(metaPartial)
        try {
          writeSync(metaFd, JSON.stringify(meta))
        } finally {
          closeSync(metaFd)
        }
        step = 'commit'
        path = dataFile(this.#dir, hash)
        renameOverSync(partial, path)
        path = metaFile(this.#dir, hash)
        renameOverSync(metaPartial, path)
      } catch (error) {
        try {
          removeNameSync(metaPartial)
        } catch {
          // The directory refuses: the next init removes a dead writer's partial file.
        }
        throw fileSystemError(error, `${step} the entry`, { key: meta.key, path })
      }
      this.#index.set(hash, { size: meta.size, usedMs: meta.createdAt, touchedMs: meta.createdAt })
    })
  }

  /** On ENOSPC: evicts what the write needs, and at least a tenth of the budget so the next write fits too. */
  async makeRoom(bytes: number, key: string): Promise<void> {
    const lock = await acquireLock(budgetLockFile(this.#dir), {
      staleMs: this.#settings.lockStaleMs,
      waitMs: this.#settings.lockWaitMs,
      key,
    })
    withLock(lock, () => {
      this.reconcile()
      const target = Math.max(0, this.#index.bytes - Math.max(bytes, Math.ceil(this.#settings.maxBytes / 10)))
      for (const hash of this.#index.hashes()) {
        if (this.#index.bytes <= target) break
        this.#evict(hash)
      }
      this.#writeLedger(this.#index.bytes)
    })
  }

  #evict(hash: string): void {
    try {
      removeEntry(this.#dir, this.#index, hash)
    } catch (error) {
      throw fileSystemError(error, 'evict an entry', { path: dataFile(this.#dir, hash) })
    }
    this.#evictions++
    threadEvictions++
  }

  // Evicts least recently used entries until `incoming` more bytes fit in the budget. The entry
  // being replaced (`replacing`) goes last: its bytes leave when the new version is renamed over it.
  #evictUntilFree(incoming: number, replacing?: string): void {
    const replacedBytes = replacing === undefined ? 0 : (this.#index.get(replacing)?.size ?? 0)
    for (const hash of this.#index.hashes()) {
      if (this.#index.bytes - replacedBytes + incoming <= this.#settings.maxBytes) return
      if (hash !== replacing) this.#evict(hash)
    }
  }

  // lstat: a link or a directory planted as the data file is measured as itself, never followed.
  #sizeOnDisk(hash: string): number {
    const stats = lstatSync(dataFile(this.#dir, hash), { throwIfNoEntry: false })
    return stats?.isFile() ? stats.size : 0
  }

  // The ledger, checked against the entries this store can see: those of its index (what it wrote,
  // read, and found at its last scan) and the file being replaced. A ledger that counts fewer bytes
  // than those cannot be the count of this directory's commits (a program, a hand or a restored
  // backup wrote it: a `.budget` of 0 written between puts let 2.4 MB be committed under 1 MiB), so
  // it is rebuilt from a scan, never trusted. One that counts more is what other threads' and
  // processes' entries make it: trusted, since counting too much only brings a scan sooner. (An
  // eviction by another store can leave the ledger below this index too: one scan, then they agree.)
  #checkedLedger(replaced: number): number | undefined {
    const committed = this.#readLedger()
    if (committed === undefined || committed < Math.max(this.#index.bytes, replaced)) return undefined
    return committed
  }

  #readLedger(): number | undefined {
    let text: string
    try {
      text = readSmallFileSync(ledgerFile(this.#dir), 32)
    } catch {
      return undefined
    }
    // Only digits, as #writeLedger writes them, are a count. Anything else is no ledger and the next
    // commit scans: 'missing' and 'damaged' (readSmallFileSync), and what Number() would read as too
    // little: an empty file (what a power loss can leave of a renamed file whose data never reached
    // the disk; Number('') is 0), ' 0', '0x0', '1e2'. A count beyond 2^53 is more than a directory
    // holds: it can only count too much (a scan sooner), never too little.
    return /^\d+$/.test(text) ? Number(text) : undefined
  }

  // Replaced by a rename, never written in place: a link planted as `.budget` is replaced, its target
  // untouched. If it cannot be written (a full disk), it is removed: without a ledger the next commit
  // scans the directory. If it can be neither, the commit fails: a ledger left behind could count too
  // little.
  #writeLedger(bytes: number): void {
    const ledger = ledgerFile(this.#dir)
    try {
      replaceSmallFileSync(ledger, String(bytes))
    } catch {
      try {
        removeNameSync(ledger)
      } catch (error) {
        throw fileSystemError(error, 'update the ledger', { path: ledger })
      }
    }
  }
}
