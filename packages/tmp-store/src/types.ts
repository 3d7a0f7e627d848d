// The public types that are not options: what a fetch may return, what the store hands back, the
// store as a handler sees it, and the context behind the middleware.
//
// `Context` comes from @types/aws-lambda, which is a dependency of this package (not only a
// devDependency): these declarations name it, so a user's tsc must resolve it from what they install.
// @middy/core 7.9 names it too but lists @types/aws-lambda only as a devDependency; Powertools for
// AWS Lambda (TypeScript) 2.x lists it as a dependency, and we do the same (checked 8.10.164).
import type { Context } from 'aws-lambda'
import type { Readable } from './node-builtins.ts'

export type TmpData = Buffer | Uint8Array | string | Readable | AsyncIterable<Uint8Array | string>

/** A fetch may also return the data with a few strings to keep beside it (an ETag, a version). */
export interface TmpDataWithMeta {
  data: TmpData
  meta?: Record<string, string>
}

export type TmpFetchResult = TmpData | TmpDataWithMeta

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
  /** The entry expires this long after it is written (milliseconds, a non-negative integer). */
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

/** `tmpStoreStats()`: this thread's counts across every store it opened (module state is per thread). */
export interface TmpStoreProcessStats {
  /** Stores opened (one per directory through the middleware or openTmpStore; each `new TmpStore` too). */
  stores: number
  hits: number
  misses: number
  /** Entries evicted to keep a budget. */
  evictions: number
}

/** A store as a handler sees it (`context.tmp`); `TmpStore` is its implementation. */
export interface TmpStoreResource {
  /** The directory, with every symlink in its path resolved (once, when the store opened). */
  readonly dir: string
  /** The byte budget of all entries. */
  readonly maxBytes: number
  /** The entry's bytes: exactly what `put` or a fetch stored under this key, or undefined. */
  get(key: string): Promise<Buffer | undefined>
  has(key: string): Promise<boolean>
  /** The entry's file path, or undefined; counts as a use for the LRU order. */
  path(key: string): Promise<string | undefined>
  put(key: string, data: TmpData, options?: TmpPutOptions): Promise<TmpEntry>
  /**
   * The cached entry, or what `fetch` returns, stored. One fetch per key at a time across every
   * thread and process sharing the directory; callers in this thread share the one in flight.
   */
  getOrFetch(
    key: string,
    fetch: () => TmpFetchResult | Promise<TmpFetchResult>,
    options?: TmpGetOrFetchOptions,
  ): Promise<TmpFetchedEntry>
  /** Removes the entry (waiting for a write of the same key in flight); whether there was one. */
  delete(key: string): Promise<boolean>
  /** Entries and bytes of the whole directory, read from it now; hits, misses, evictions are this store's. */
  stats(): TmpStoreStats
}

/** The context a handler behind `tmpStore({ contextKey })` sees. */
export type TmpStoreContext<ContextKey extends string = 'tmp'> = Context & {
  [Key in ContextKey]: TmpStoreResource
}
