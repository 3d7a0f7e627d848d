// The pool registry: one pool per configuration per process (per worker thread: module state is per
// thread), shared by every middleware and handler in the bundle that asks for the same configuration,
// and ended at SIGTERM when asked to: @thaw/db-core's registry, holding mysql2's pools (mysql2 keeps
// its own pool of connections: db-core's ConnectionPool is pg-connection's).
import { poolRegistry } from '@thaw/db-core'
import type { PoolOptions } from 'mysql2'
import type { CredentialSource } from './credentials.ts'
import {
  type CoreConnection,
  type CorePool,
  createCorePool,
  isPoolClosed,
  isReleased,
  onConnectionEnd,
} from './mysql2-adapter.ts'
import type { DbConnectionSettings } from './options.ts'

export interface PoolEntry {
  key: string
  label: string
  pool: CorePool
  poolOptions: PoolOptions
  // Where new connections' credentials come from, when not from the config.
  source: CredentialSource | undefined
  // Connections opened and not yet handed out: they need no validation.
  fresh: WeakSet<CoreConnection>
  // Connections already counted as replaced.
  replaced: WeakSet<CoreConnection>
  // What the registry reads: whether mysql2's pool has ended, and how to end it.
  readonly closed: boolean
  end(): Promise<void>
}

// Counted here, read by stats.ts. `errors` are the connections' own error events.
const counters = { pools: 0, connectionsOpened: 0, replacements: 0, errors: 0 }
export const registryCounters = (): Readonly<typeof counters> => counters

// A connection that dies while idle in the pool (a FIN seen after a thaw, a failed state check or
// ping) is replaced by the next lease: count it once, however it was found.
export const countReplacement = (entry: PoolEntry, connection: CoreConnection): void => {
  if (entry.replaced.has(connection)) return
  entry.replaced.add(connection)
  counters.replacements++
}

const registry = poolRegistry<PoolEntry>()

const createEntry = (settings: DbConnectionSettings, source: CredentialSource | undefined): PoolEntry => {
  const pool = createCorePool(settings.poolOptions)
  const entry: PoolEntry = {
    key: settings.key,
    label: settings.label,
    pool,
    poolOptions: settings.poolOptions,
    source,
    fresh: new WeakSet(),
    replaced: new WeakSet(),
    get closed() {
      return isPoolClosed(pool)
    },
    end: () =>
      new Promise<void>((resolve) => {
        pool.end(() => resolve())
      }),
  }
  pool.on('connection', (connection) => {
    const core = connection as CoreConnection
    counters.connectionsOpened++
    entry.fresh.add(core)
    // PoolConnection listens for 'error' only once; a second error event on a connection would
    // otherwise be thrown as unhandled and end the process.
    core.on('error', () => {
      counters.errors++
    })
    // mysql2 drops a connection from the pool when its socket ends; if that happens while it sits
    // idle (released), the next lease opens a new one: a replacement.
    onConnectionEnd(core, () => {
      if (isReleased(core)) countReplacement(entry, core)
    })
  })
  counters.pools++
  return entry
}

export const acquirePool = (settings: DbConnectionSettings, source?: CredentialSource): PoolEntry =>
  registry.acquire(settings.key, () => createEntry(settings, source), settings.closeOnShutdown)

/**
 * Ends the pools `filter` picks (all by default) and forgets them: the next middleware built for one
 * of their configurations gets a new pool. For tests and scripts; a function never needs it.
 * @example afterAll(() => closePools())
 */
export const closePools = (filter?: (entry: PoolEntry) => boolean): Promise<void> => registry.closeAll(filter)
