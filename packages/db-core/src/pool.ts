// A pool of one configuration's connections, whatever the driver: idle connections handed out last
// in, first out, checked without a round trip (and with one after a long idle gap) before a statement
// can meet them; a dead one replaced; a new one opened with the credential source's credentials, once
// more with credentials fetched anew after a refused password, and after a jittered back-off while the
// server is full, never past the invocation's deadline; a wait for a connection bounded by that same
// deadline. No timers of its own: a frozen environment runs none, so nothing is evicted on a clock.
//
// Why not the driver's pool (mysql2's, pg.Pool): neither checks a connection it hands out, pg.Pool
// evicts idle clients on a timer (idleTimeoutMillis, 10 s by default) that stops while frozen and fires
// all at once after a thaw, and neither bounds a wait by the invocation's deadline.
import type { Request } from '@middy/core'
import { backOff, backoffDelay, invocationDeadline } from './connect-retry.ts'
import type { CredentialSource } from './credentials.ts'
import { logEvent } from './log.ts'
import type { ConnectRetrySettings } from './options.ts'
import type { ConnectionAdapter, Credentials, DbDriverErrors, DbLogger, ServerError } from './types.ts'

export interface PoolSettings {
  // Connections at most (per execution environment, per worker thread).
  size: number
  validateAfterIdleMs: number
  validateTimeoutMs: number
  connectTimeoutMs: number
  connectRetry: ConnectRetrySettings
  label: string
  logger: DbLogger | undefined
}

export interface PoolCounters {
  connectionsOpened: number
  reusedInvocations: number
  replacements: number
  validations: number
  rotationRetries: number
  backoffRetries: number
  errors: number
}

interface Idle<C> {
  connection: C
  since: number
}

interface Waiter<C> {
  resolve: (connection: C | undefined) => void
}

const pollOnce = () => new Promise<void>((resolve) => setImmediate(resolve))

export class ConnectionPool<C> {
  readonly counters: PoolCounters = {
    connectionsOpened: 0,
    reusedInvocations: 0,
    replacements: 0,
    validations: 0,
    rotationRetries: 0,
    backoffRetries: 0,
    errors: 0,
  }
  #idle: Idle<C>[] = []
  #open = new Set<C>()
  #opening = 0
  #waiters: Waiter<C>[] = []
  #closed = false

  readonly settings: PoolSettings
  readonly adapter: ConnectionAdapter<C>
  readonly errors: DbDriverErrors
  readonly source: CredentialSource | undefined

  constructor(
    settings: PoolSettings,
    adapter: ConnectionAdapter<C>,
    errors: DbDriverErrors,
    source: CredentialSource | undefined,
  ) {
    this.settings = settings
    this.adapter = adapter
    this.errors = errors
    this.source = source
  }

  get closed(): boolean {
    return this.#closed
  }

  // Open connections (idle or leased) and connects under way.
  get size(): number {
    return this.#open.size + this.#opening
  }

  // A healthy connection for an invocation, or the reason there is none.
  async acquire(request: Request | undefined): Promise<C> {
    const { settings, adapter } = this
    // Right after a thaw, the invocation arrives in the same event-loop turn as any FIN or RST the
    // kernel received while the process was frozen: let the loop poll once so the client sees them.
    await pollOnce()
    const deadline = invocationDeadline(settings.connectRetry, request)
    const attempts = 2 * settings.size + 2
    for (let attempt = 0; attempt < attempts; attempt++) {
      const ready = this.takeReady()
      if (ready !== undefined) return ready
      const idle = this.#idle.pop()
      if (!idle) {
        if (this.size < settings.size) return this.#openNew(request, deadline)
        const waited = await this.#wait(deadline, request)
        if (waited === undefined) {
          this.counters.errors++
          const error = this.errors.queueTimeout(
            `waited in the pool's queue for a connection to ${settings.label} (size ${settings.size}, all leased by other invocations) and gave up ${settings.connectRetry.deadlineMarginMs} ms before the invocation's deadline`,
          )
          logEvent(settings.logger, settings.label, 'queue-timeout', 'gave up waiting for a connection')
          throw error
        }
        // Handed over by release(): already checked by whoever used it last.
        this.counters.reusedInvocations++
        return waited
      }
      const { connection, since } = idle
      if (adapter.isDead(connection)) {
        this.#replace(connection, 'replaced a connection that died while idle')
        continue
      }
      if (Date.now() - since >= settings.validateAfterIdleMs) {
        this.counters.validations++
        if (!(await adapter.validate(connection, settings.validateTimeoutMs))) {
          this.counters.errors++
          this.#replace(connection, 'replaced an idle connection that failed its validation')
          continue
        }
      }
      this.counters.reusedInvocations++
      return connection
    }
    throw this.errors.noHealthyConnection(
      `no healthy connection to ${settings.label} after ${attempts} attempts`,
    )
  }

  // acquire()'s fast path, for a caller that has let the event loop poll since the invocation began
  // (acquire() does that itself): the most recently used idle connection when it is alive and was
  // used within validateAfterIdleMs; undefined otherwise, and acquire() does the rest (replaces,
  // validates, opens, waits). Synchronous: no promise for the common warm lease.
  takeReady(): C | undefined {
    const idle = this.#idle.at(-1)
    if (
      idle === undefined ||
      this.adapter.isDead(idle.connection) ||
      Date.now() - idle.since >= this.settings.validateAfterIdleMs
    )
      return undefined
    this.#idle.pop()
    this.counters.reusedInvocations++
    return idle.connection
  }

  // Back from its invocation, clean: to a waiting invocation, else idle.
  release(connection: C): void {
    if (!this.#open.has(connection)) return
    if (this.#closed || this.adapter.isDead(connection)) {
      this.discard(connection)
      return
    }
    const waiter = this.#waiters.shift()
    if (waiter) waiter.resolve(connection)
    else this.#idle.push({ connection, since: Date.now() })
  }

  // Never to be used again (dead, doubtful, or a statement still running on it).
  discard(connection: C): void {
    if (!this.#open.delete(connection)) return
    this.#idle = this.#idle.filter((idle) => idle.connection !== connection)
    this.adapter.destroy(connection)
    this.#wakeOne()
  }

  async end(): Promise<void> {
    this.#closed = true
    const idle = this.#idle.splice(0)
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(undefined)
    await Promise.all(
      idle.map(({ connection }) => {
        this.#open.delete(connection)
        return this.adapter.close(connection).catch(() => {})
      }),
    )
  }

  #replace(connection: C, message: string) {
    this.counters.replacements++
    logEvent(
      this.settings.logger,
      this.settings.label,
      'replaced',
      message,
      undefined,
      this.adapter.sessionId(connection),
    )
    this.discard(connection)
  }

  // A slot freed by a discard: the first waiter opens a connection of its own.
  #wakeOne() {
    const waiter = this.#waiters.shift()
    waiter?.resolve(undefined as unknown as C)
  }

  #wait(deadline: number, request: Request | undefined): Promise<C | undefined> {
    return new Promise<C | undefined>((resolve) => {
      const waiter: Waiter<C> = {
        resolve: (connection) => {
          clearTimeout(timer)
          resolve(connection)
        },
      }
      const timer = setTimeout(
        () => {
          const index = this.#waiters.indexOf(waiter)
          if (index !== -1) this.#waiters.splice(index, 1)
          resolve(undefined)
        },
        Math.max(0, deadline - Date.now()),
      )
      this.#waiters.push(waiter)
    }).then((connection) => {
      // Woken by a discard (a free slot, no connection): open one, within the same deadline.
      if (
        connection === undefined &&
        Date.now() < deadline &&
        !this.#closed &&
        this.size < this.settings.size
      ) {
        return this.#openNew(request, deadline)
      }
      return connection
    })
  }

  // Opens a connection: a refused password is retried once with credentials fetched anew (rotation);
  // a full server after a jittered back-off until the deadline. Nothing else is retried.
  async #openNew(request: Request | undefined, deadline: number): Promise<C> {
    const { settings, adapter, source } = this
    const started = Date.now()
    let rotated = false
    let refusedFull: ServerError | undefined
    this.#opening++
    try {
      for (let retries = 0; ; ) {
        let used: Promise<Credentials> | undefined
        if (source) {
          used = source.get(request)
        }
        const credentials = used ? await used : undefined
        const timeoutMs = Math.max(1, Math.min(settings.connectTimeoutMs, Math.floor(deadline - Date.now())))
        try {
          const connection = await adapter.open(credentials, timeoutMs)
          this.counters.connectionsOpened++
          this.#open.add(connection)
          logEvent(
            settings.logger,
            settings.label,
            'connected',
            'opened a connection',
            undefined,
            adapter.sessionId(connection),
          )
          return connection
        } catch (error) {
          const refusal = adapter.refusal(error)
          if (refusal === 'password' && source && used && !rotated) {
            const newer = source.refresh(used, request)
            if (newer) {
              rotated = true
              this.counters.rotationRetries++
              logEvent(
                settings.logger,
                settings.label,
                'rotation',
                'password refused: retrying once with credentials fetched anew',
                error,
              )
              await newer
              continue
            }
          }
          if (refusal !== 'full') {
            this.counters.errors++
            logEvent(settings.logger, settings.label, 'connect-failed', 'opening a connection failed', error)
            if (refusedFull && Date.now() >= deadline - 1) {
              throw this.errors.limit(refusedFull, retries, Date.now() - started)
            }
            throw error
          }
          refusedFull = error as ServerError
          const delay = backoffDelay(settings.connectRetry, retries, deadline)
          if (delay === undefined) {
            this.counters.errors++
            throw this.errors.limit(refusedFull, retries, Date.now() - started)
          }
          retries++
          this.counters.backoffRetries++
          await backOff(settings.logger, settings.label, delay, error)
        }
      }
    } finally {
      this.#opening--
    }
  }
}
