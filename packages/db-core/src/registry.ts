// One pool per configuration per process (per worker thread: module state is per thread), shared by
// every middleware in the bundle that asks for the same configuration (@thaw/util's configurationKey),
// never closed after an invocation, and ended at SIGTERM when asked to.
export interface Registered {
  readonly closed: boolean
  end(): Promise<void>
}

export interface PoolRegistry<E extends Registered> {
  // The live pool for `key`, or a new one from `create` (counted in `created`).
  acquire(key: string, create: () => E, closeOnShutdown: boolean): E
  // Ends the pools `filter` picks (all by default) and forgets them.
  closeAll(filter?: (entry: E) => boolean): Promise<void>
  readonly created: number
}

// Lambda sends SIGTERM (when extensions are registered) and SIGKILLs 500 ms later.
const shutdownDeadlineMs = 300

export const poolRegistry = <E extends Registered>(): PoolRegistry<E> => {
  const entries = new Map<string, E>()
  const closing = new WeakSet<E>()
  let created = 0
  let listening = false
  const closeAll = async (filter: (entry: E) => boolean = () => true) => {
    const picked = [...entries].filter(([, entry]) => filter(entry))
    for (const [key] of picked) entries.delete(key)
    await Promise.all(picked.map(([, entry]) => entry.end().catch(() => {})))
  }
  // One SIGTERM listener per registry: end the pools that asked for it, then exit if nobody else
  // listens (a SIGTERM listener otherwise keeps the process alive until SIGKILL).
  const onSigterm = async () => {
    await Promise.race([
      closeAll((entry) => closing.has(entry)),
      new Promise((resolve) => setTimeout(resolve, shutdownDeadlineMs).unref()),
    ])
    if (process.listenerCount('SIGTERM') === 0) process.exit(0)
  }
  return {
    acquire(key, create, closeOnShutdown) {
      let entry = entries.get(key)
      if (!entry || entry.closed) {
        entry = create()
        created++
        entries.set(key, entry)
      }
      if (closeOnShutdown) {
        closing.add(entry)
        if (!listening) {
          listening = true
          process.once('SIGTERM', onSigterm)
        }
      }
      return entry
    },
    closeAll,
    get created() {
      return created
    },
  }
}
