// The pool registry: one pool per configuration per process (per worker thread: module state is per
// thread), shared by every middleware and handler in the bundle that asks for the same configuration,
// and ended at SIGTERM when asked to.
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
  closeOnShutdown: boolean
  // Connections opened and not yet handed out: they need no validation.
  fresh: WeakSet<CoreConnection>
  // Connections already counted as replaced.
  replaced: WeakSet<CoreConnection>
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

const entries = new Map<string, PoolEntry>()

export const acquirePool = (settings: DbConnectionSettings, source?: CredentialSource): PoolEntry => {
  const existing = entries.get(settings.key)
  if (existing && !isPoolClosed(existing.pool)) {
    existing.closeOnShutdown ||= settings.closeOnShutdown
    if (existing.closeOnShutdown) listenForShutdown()
    return existing
  }
  const pool = createCorePool(settings.poolOptions)
  const entry: PoolEntry = {
    key: settings.key,
    label: settings.label,
    pool,
    poolOptions: settings.poolOptions,
    source,
    closeOnShutdown: settings.closeOnShutdown,
    fresh: new WeakSet(),
    replaced: new WeakSet(),
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
  entries.set(settings.key, entry)
  if (entry.closeOnShutdown) listenForShutdown()
  return entry
}

export const closePools = async (filter: (entry: PoolEntry) => boolean = () => true): Promise<void> => {
  const closing = [...entries.values()].filter(filter)
  for (const entry of closing) entries.delete(entry.key)
  await Promise.all(
    closing.map(
      (entry) =>
        new Promise<void>((resolve) => {
          entry.pool.end(() => resolve())
        }),
    ),
  )
}

// One SIGTERM listener for the process, whatever the number of pools. Lambda sends SIGTERM (when
// extensions are registered) and SIGKILLs 500 ms later: end the pools that asked for it, then exit
// if nobody else listens (a SIGTERM listener otherwise keeps the process alive until SIGKILL).
let listening = false
const shutdownDeadlineMs = 300
const onSigterm = async () => {
  await Promise.race([
    closePools((entry) => entry.closeOnShutdown),
    new Promise((resolve) => setTimeout(resolve, shutdownDeadlineMs).unref()),
  ])
  // once() has already removed this listener: any left belong to someone else.
  if (process.listenerCount('SIGTERM') === 0) process.exit(0)
}
const listenForShutdown = () => {
  if (listening) return
  listening = true
  process.once('SIGTERM', onSigterm)
}
