// tmpStoreStats(): a copy of this thread's counters, read from the modules that own them (the
// stores' hits and misses in store.ts, evictions in budget.ts). A store's own counts, and the bytes
// and entries of its directory, are its stats() method.
import { evictionCount } from './budget.ts'
import { storeCounts } from './store.ts'
import type { TmpStoreProcessStats } from './types.ts'

/**
 * This thread's counts across every store it opened (module state is per worker thread).
 * @example const { hits, misses, evictions } = tmpStoreStats()
 */
export const tmpStoreStats = (): TmpStoreProcessStats => ({ ...storeCounts(), evictions: evictionCount() })
