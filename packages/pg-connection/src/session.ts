// One invocation's view of the pool (context.db): it leases at most one client, at its first
// statement, keeps it for all its statements, lets getConnection()/transaction() hold it exclusively,
// stops a statement at the invocation's deadline, and hands the client to release.ts at the end.

import type { Request } from '@middy/core'
import {
  type TransactionScope as CoreTransactionScope,
  type DeadlineOutcome,
  deadlineMessage,
  finishOverdue,
  runTransaction,
  type TransactionVerbs,
} from '@thaw/db-core'
import type pg from 'pg'
import type { QueryResult } from 'pg'
import { DeadlineWatch } from './deadline-watch.ts'
import { PgConnectionError, pgConnectionErrorCodes } from './errors.ts'
import { AsyncLocalStorage } from './node-builtins.ts'
import type { PgConnectionSettings } from './options.ts'
import { isClientDead, isQueryCanceled, isSessionEnded, sendCancelRequest } from './pg-adapter.ts'
import type { PgPool } from './registry.ts'
import { abandonClient, releaseAfterInvocation } from './release.ts'
import { leavesSessionState, nameOf, type Statement } from './statement.ts'
import type { PgLeasedConnection } from './types.ts'

// Counted here, read by stats.ts.
const counters = { errors: 0, deadlineStops: 0, deadlineUnconfirmed: 0 }
export const sessionCounters = (): Readonly<typeof counters> => counters

const endedError = () =>
  new PgConnectionError(
    pgConnectionErrorCodes.invocationEnded,
    `the invocation has ended (after, onError or Middy's early timeout); context.db can no longer be used`,
  )

// What is known of a statement still running when its invocation ended: a cancel was sent and its
// connection closed, nothing more.
const endedInFlightError = () =>
  new PgConnectionError(
    pgConnectionErrorCodes.invocationEnded,
    `the invocation ended (Middy's early timeout, or after/onError) while this statement was still running; a cancel request was sent and its connection closed, but whether the statement stopped is not known: do not retry it unless it is safe to run twice`,
  )

const deadlineError = (outcome: DeadlineOutcome, settings: PgConnectionSettings, cause?: unknown) =>
  new PgConnectionError(
    outcome === 'may-still-run'
      ? pgConnectionErrorCodes.statementOutcomeUnknown
      : pgConnectionErrorCodes.statementDeadline,
    deadlineMessage(outcome, settings.statementMarginMs, confirmWithinMs(settings)),
    cause === undefined ? undefined : { cause },
  )

// How long a cancel's confirmation is awaited at the deadline: within the margin, so the handler still
// answers before the function's timeout.
const confirmWithinMs = (settings: PgConnectionSettings) =>
  Math.max(1, Math.min(settings.validateTimeoutMs, Math.floor(settings.statementMarginMs / 2)))

const noop = () => {}

// A statement sent and not answered yet: how its await is settled.
interface Pending {
  resolve(result: QueryResult): void
  reject(error: unknown): void
  // Past the deadline: a cancel was sent; its answer decides what the handler is told.
  atDeadline: boolean
}

interface LeaseWaiter {
  leased(client: pg.Client): void
  failed(error: unknown): void
}

type TransactionScope = CoreTransactionScope<PgSession, PgLeasedConnection>
const transactionScope = new AsyncLocalStorage<TransactionScope>()
const transactionVerbs: TransactionVerbs<PgLeasedConnection> = {
  begin: (connection) => connection.query('BEGIN'),
  commit: (connection) => connection.query('COMMIT'),
  rollback: (connection) => connection.query('ROLLBACK'),
}

// Sessions holding a client, so that one whose after/onError never ran (another middleware's early
// response skipped them) is finished by the next invocation's before (classic: invocations never
// overlap) or at its deadline (Managed Instances); their statement deadlines share one timer.
const leasedSessions = new DeadlineWatch<PgSession>()

// The warm path (no session left over) is answered here, without a call: every invocation runs it.
export const finishOverdueSessions = (classic: boolean): Promise<unknown> | undefined =>
  leasedSessions.sessions.size === 0 ? undefined : finishOverdue(leasedSessions.sessions, classic)

export class PgSession {
  #pool: PgPool
  #settings: PgConnectionSettings
  #request: Request | undefined
  #classic: boolean
  #client: pg.Client | undefined
  // Whoever waits for the lease under way: concurrent first statements share one lease.
  #leasing: LeaseWaiter[] | undefined
  #pending = new Set<Pending>()
  #stateLeaked = false
  #ended = false
  #pastDeadline = false
  // deadline - statementMarginMs: when a running statement is stopped and a new one refused.
  #stopAt = Number.POSITIVE_INFINITY
  #stopping: Promise<void> | undefined
  #exclusive: Promise<void> | undefined
  // Called when the last pending statement settles (the deadline's wait for a cancel's answer).
  #allSettled: (() => void) | undefined
  deadline = Number.POSITIVE_INFINITY

  constructor(pool: PgPool, settings: PgConnectionSettings, request: Request | undefined, classic: boolean) {
    this.#pool = pool
    this.#settings = settings
    this.#request = request
    this.#classic = classic
  }

  query(statement: Statement, values?: unknown[]): Promise<QueryResult> {
    const client = this.#client
    if (!this.#exclusive) {
      if (client) return this.#run(client, statement, values)
      // The first statement: one promise for the lease and the statement (no async function's).
      if (!this.#ended) {
        return new Promise<QueryResult>((resolve, reject) => {
          this.#leaseThen({
            leased: (client) => this.#send(client, statement, values, resolve, reject),
            failed: reject,
          })
        })
      }
    }
    return this.#sharedSlow(statement, values)
  }

  async getConnection(): Promise<PgLeasedConnection> {
    if (transactionScope.getStore()?.session === this) {
      throw new PgConnectionError(
        pgConnectionErrorCodes.nestedLease,
        'getConnection() inside a transaction() callback would wait for that transaction: use the connection the callback received, or context.db, which run in the transaction',
      )
    }
    while (this.#exclusive) await this.#exclusive
    if (this.#ended) throw endedError()
    let unlock = noop
    this.#exclusive = new Promise<void>((resolve) => {
      unlock = resolve
    })
    let client: pg.Client
    try {
      client = this.#client ?? (await this.#lease())
    } catch (error) {
      this.#exclusive = undefined
      unlock()
      throw error
    }
    return this.#leased(client, () => {
      this.#exclusive = undefined
      unlock()
    })
  }

  transaction<T>(fn: (connection: PgLeasedConnection) => Promise<T>): Promise<T> {
    return runTransaction(transactionScope, this, () => this.getConnection(), transactionVerbs, fn)
  }

  async #sharedSlow(statement: Statement, values: unknown[] | undefined): Promise<QueryResult> {
    if (this.#exclusive) {
      const scope = transactionScope.getStore()
      if (scope?.session === this) return scope.connection.query(statement as string, values)
    }
    while (this.#exclusive) await this.#exclusive
    if (this.#ended) throw endedError()
    const client = this.#client ?? (await this.#lease())
    return this.#run(client, statement, values)
  }

  #run(client: pg.Client, statement: Statement, values: unknown[] | undefined): Promise<QueryResult> {
    return new Promise<QueryResult>((resolve, reject) =>
      this.#send(client, statement, values, resolve, reject),
    )
  }

  // Why a statement is not sent, if it is not.
  #refusal(statement: Statement, values: unknown[] | undefined): PgConnectionError | undefined {
    if (this.#ended) return endedError()
    if (this.#pastDeadline) return deadlineError('not-sent', this.#settings)
    if (typeof values === 'function') {
      return new PgConnectionError(
        pgConnectionErrorCodes.callbackRefused,
        'a callback is not taken: await the promise query() returns',
      )
    }
    if (this.#settings.proxy === 'transaction' && nameOf(statement) !== undefined) {
      return new PgConnectionError(
        pgConnectionErrorCodes.proxyUnsupported,
        `a named prepared statement cannot be routed by a transaction pooler (proxy: 'transaction'): the next transaction may run on a server connection that never prepared it; leave out 'name'`,
      )
    }
    return undefined
  }

  // Sends the statement and settles the caller's promise with its answer.
  #send(
    client: pg.Client,
    statement: Statement,
    values: unknown[] | undefined,
    resolve: (result: QueryResult) => void,
    reject: (error: unknown) => void,
  ): void {
    const refused = this.#refusal(statement, values)
    if (refused) {
      reject(refused)
      return
    }
    if (!this.#stateLeaked && leavesSessionState(statement)) this.#stateLeaked = true
    const pending = this.#pending
    const entry: Pending = { resolve, reject, atDeadline: false }
    pending.add(entry)
    // The callback form: pg makes no promise of its own for the statement.
    const settle = (error: Error | null, result: QueryResult) => {
      if (!pending.delete(entry)) return
      if (pending.size === 0) this.#allSettled?.()
      if (!error) {
        resolve(result)
        return
      }
      if (entry.atDeadline && isQueryCanceled(error)) {
        // The server's own answer: the statement was cancelled.
        counters.deadlineStops++
        reject(deadlineError('stopped', this.#settings, error))
        return
      }
      // Never re-run: the error reaches the handler as pg made it (code is the SQLSTATE); a session
      // the server ended (57P01-57P03) or a dead socket: the client is discarded.
      if (isSessionEnded(error) || isClientDead(client)) {
        counters.errors++
        this.#drop(client)
      }
      reject(error)
    }
    try {
      client.query(statement as string, values as unknown[], settle)
    } catch (error) {
      settle(error as Error, undefined as unknown as QueryResult)
    }
  }

  #drop(client: pg.Client) {
    this.#pool.discard(client)
    if (this.#client === client) this.#client = undefined
  }

  #leased(client: pg.Client, unlock: () => void): PgLeasedConnection {
    let released = false
    return {
      query: ((statement: Statement, values?: unknown[]) => {
        if (released) {
          return Promise.reject(
            new PgConnectionError(pgConnectionErrorCodes.released, 'this connection was released'),
          )
        }
        return this.#run(client, statement, values)
      }) as PgLeasedConnection['query'],
      release: () => {
        if (released) return
        released = true
        unlock()
      },
      get processID() {
        return (client as unknown as { processID: number | null }).processID ?? null
      },
    }
  }

  #lease(): Promise<pg.Client> {
    return new Promise<pg.Client>((leased, failed) => this.#leaseThen({ leased, failed }))
  }

  // Concurrent first statements of one invocation share one lease; a failed lease is not kept. Right
  // after a thaw, the invocation arrives in the same event-loop turn as any FIN or RST the kernel
  // received while the process was frozen: the loop polls once (setImmediate) before an idle client
  // is looked at, so that pg has seen them; the pool's synchronous fast path then takes a client that
  // is alive and recently used, and acquire() does everything else. Callbacks, not a promise: the
  // warm first statement waits on its own promise alone.
  #leaseThen(waiter: LeaseWaiter): void {
    if (this.#leasing) {
      this.#leasing.push(waiter)
      return
    }
    this.#leasing = [waiter]
    setImmediate(() => {
      const ready = this.#pool.takeReady()
      if (ready !== undefined) this.#adopt(ready)
      else
        this.#pool.acquire(this.#request).then(
          (client) => this.#adopt(client),
          (error) => {
            const waiters = this.#leasing ?? []
            this.#leasing = undefined
            for (const each of waiters) each.failed(error)
          },
        )
    })
  }

  #adopt(client: pg.Client) {
    const waiters = this.#leasing ?? []
    this.#leasing = undefined
    if (this.#ended) {
      // The invocation ended while the lease was on its way: straight back.
      this.#pool.release(client)
      for (const each of waiters) each.failed(endedError())
      return
    }
    this.#client = client
    this.#track()
    for (const each of waiters) each.leased(client)
  }

  // From the lease on: the stop at deadline - statementMarginMs (none with a margin of 0 or no deadline
  // known) and, with Managed Instances, the finish at the deadline, on the watch's one timer.
  #track() {
    const remaining = this.#request?.context?.getRemainingTimeInMillis?.()
    if (typeof remaining === 'number') {
      this.deadline = Date.now() + remaining
      const margin = this.#settings.statementMarginMs
      if (margin > 0) this.#stopAt = this.deadline - margin
    }
    leasedSessions.add(this)
  }

  // For the watch: the next moment this session must act.
  dueAt(): number {
    const stopAt = this.#pastDeadline ? Number.POSITIVE_INFINITY : this.#stopAt
    return this.#classic ? stopAt : Math.min(stopAt, this.deadline)
  }

  due(now: number): void {
    if (!this.#pastDeadline && now >= this.#stopAt) this.stopAtDeadline()
    if (!this.#classic && now >= this.deadline) this.finish()
  }

  // deadline - statementMarginMs: nothing more is sent; a statement still running gets a cancel
  // request, and its await is settled by what the server says: cancelled (57014) is 'stopped'; no
  // answer within the confirmation time is 'may-still-run' (the client is closed).
  stopAtDeadline(): void {
    if (this.#ended) return
    this.#pastDeadline = true
    const client = this.#client
    if (!client || this.#pending.size === 0) return
    for (const entry of this.#pending) entry.atDeadline = true
    const settings = this.#settings
    const waitMs = confirmWithinMs(settings)
    this.#stopping = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (this.#pending.size > 0) {
          counters.deadlineUnconfirmed++
          const pending = [...this.#pending]
          this.#pending.clear()
          for (const entry of pending) entry.reject(deadlineError('may-still-run', settings))
          this.#drop(client)
        }
        resolve()
      }, waitMs)
      sendCancelRequest(client, settings.clientConfig, waitMs).then(noop, noop)
      // Settled early when the statement answers.
      this.#allSettled = () => {
        this.#allSettled = undefined
        clearTimeout(timer)
        resolve()
      }
    })
  }

  // after/onError: nothing stays leased, no transaction stays open, no session state stays behind.
  finish(): Promise<void> | undefined {
    this.#ended = true
    leasedSessions.delete(this)
    return this.#finish()
  }

  #finish(): Promise<void> | undefined {
    const stopping = this.#stopping
    if (stopping) {
      this.#stopping = undefined
      return stopping.then(() => this.#finish())
    }
    const client = this.#client
    if (!client) {
      if (!this.#leasing) return undefined
      // A lease under way comes back to the pool when it arrives (#adopt): wait for it.
      return new Promise<void>((settled) =>
        this.#leasing?.push({ leased: () => settled(), failed: () => settled() }),
      )
    }
    this.#client = undefined
    if (this.#pending.size > 0) {
      const pending = [...this.#pending]
      this.#pending.clear()
      for (const entry of pending) entry.reject(endedInFlightError())
      return abandonClient(this.#pool, this.#settings, client)
    }
    return releaseAfterInvocation(this.#pool, this.#settings, client, this.#stateLeaked)
  }
}
