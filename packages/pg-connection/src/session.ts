// One invocation's view of the pool (context.db): it leases at most one client, at its first
// statement, keeps it for all its statements, lets getConnection()/transaction() hold it exclusively,
// stops a statement at the invocation's deadline, and hands the client to release.ts at the end.

import type { Request } from '@middy/core'
import {
  type TransactionScope as CoreTransactionScope,
  DeadlineWatch,
  finishOverdue,
  logEvent,
  markHandled,
  quietRejection,
  runTransaction,
  type TransactionVerbs,
} from '@thaw/db-core'
import type pg from 'pg'
import type { QueryResult } from 'pg'

import { PgConnectionError, pgConnectionErrorCodes } from './errors.ts'
import { AsyncLocalStorage } from './node-builtins.ts'
import type { PgConnectionSettings } from './options.ts'
import { isClientDead, isQueryCanceled, isSessionEnded, sendCancelRequest } from './pg-adapter.ts'
import type { PgPool } from './registry.ts'
import { abandonClient, releaseAfterInvocation } from './release.ts'
import { leavesSessionState, nameOf, type Statement } from './statement.ts'
import { deadlineError, marginStop, type Stop, unawaitedMarginMs, unawaitedStop } from './stop.ts'
import type { PgLeasedConnection } from './types.ts'

// Counted here, read by stats.ts.
const counters = { errors: 0, deadlineStops: 0, deadlineUnconfirmed: 0 }
export const sessionCounters = (): Readonly<typeof counters> => counters

const endedError = () =>
  new PgConnectionError(
    pgConnectionErrorCodes.invocationEnded,
    `the invocation has ended (after, onError or Middy's early timeout); context.db can no longer be used`,
  )

const noop = () => {}

// A statement sent and not answered yet: how its await is settled.
interface Pending {
  resolve(result: QueryResult): void
  reject(error: unknown): void
  // Past the deadline: a cancel was sent; its answer decides what the handler is told.
  atDeadline: boolean
  // The caller's promise, marked handled when a stop settles it (see quietRejection).
  answer: Promise<QueryResult> | undefined
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
  #stop: Stop | undefined
  #exclusive: Promise<void> | undefined
  // Called when the last pending statement settles (the deadline's wait for a cancel's answer).
  #allSettled: (() => void) | undefined
  // Called when the last pending statement settles (finish()'s wait for un-awaited statements).
  #drained: (() => void) | undefined
  #finishing: Promise<void> | undefined
  deadline = Number.POSITIVE_INFINITY

  constructor(pool: PgPool, settings: PgConnectionSettings, request: Request | undefined, classic: boolean) {
    this.#pool = pool
    this.#settings = settings
    this.#request = request
    this.#classic = classic
  }

  query(statement: Statement, values?: unknown[]): Promise<QueryResult> {
    if (this.#ended) return this.#refuseLate()
    const client = this.#client
    if (!this.#exclusive) {
      if (client) return this.#run(client, statement, values)
      // The first statement: one promise for the lease and the statement (no async function's).
      const answer = new Promise<QueryResult>((resolve, reject) => {
        this.#leaseThen({
          leased: (client) => {
            const refused = this.#refusal(statement, values)
            if (refused === undefined) this.#send(client, statement, values, resolve, reject).answer = answer
            else {
              // thaw's own refusal (past the deadline, a callback): see quietRejection.
              markHandled(answer)
              reject(refused)
            }
          },
          failed: reject,
        })
      })
      return answer
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

  // A statement sent through a context.db kept past its invocation (or chained on an un-awaited one
  // after the handler answered): refused, and said in the log, since no handler may be waiting for it.
  #refuseLate(): Promise<never> {
    logEvent(
      this.#settings.logger,
      this.#settings.label,
      'late-statement',
      'a statement was sent through context.db after its invocation ended: refused, not sent',
    )
    return quietRejection(endedError())
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
    const refused = this.#refusal(statement, values)
    if (refused !== undefined) return quietRejection(refused)
    let entry: Pending | undefined
    const answer = new Promise<QueryResult>((resolve, reject) => {
      entry = this.#send(client, statement, values, resolve, reject)
    })
    ;(entry as Pending).answer = answer
    return answer
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

  // Sends the statement (its #refusal checked) and settles the caller's promise with its answer.
  #send(
    client: pg.Client,
    statement: Statement,
    values: unknown[] | undefined,
    resolve: (result: QueryResult) => void,
    reject: (error: unknown) => void,
  ): Pending {
    if (!this.#stateLeaked && leavesSessionState(statement)) this.#stateLeaked = true
    const pending = this.#pending
    const entry: Pending = { resolve, reject, atDeadline: false, answer: undefined }
    pending.add(entry)
    // The callback form: pg makes no promise of its own for the statement.
    const settle = (error: Error | null, result: QueryResult) => {
      if (!pending.delete(entry)) return
      if (pending.size === 0) this.#settledAll()
      if (!error) {
        resolve(result)
        return
      }
      if (entry.atDeadline && isQueryCanceled(error)) {
        // The server's own answer: the statement was cancelled.
        counters.deadlineStops++
        reject(deadlineError('stopped', this.#settings, this.#stop, error))
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
    return entry
  }

  #settledAll() {
    this.#allSettled?.()
    this.#drained?.()
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
    if (!this.#pastDeadline && now >= this.#stopAt) {
      // A watched session that has ended is waiting for statements its handler did not await.
      if (this.#ended) this.#stopNow(unawaitedStop(this.#settings, this.#beforeDeadlineMs()))
      else this.stopAtDeadline()
    }
    if (!this.#classic && now >= this.deadline) this.finish()
  }

  // deadline - statementMarginMs: nothing more is sent; a statement still running gets a cancel
  // request, and its await is settled by what the server says: cancelled (57014) is 'stopped'; no
  // answer within the confirmation time is 'may-still-run' (the client is closed).
  stopAtDeadline(): void {
    this.#stopNow(marginStop(this.#settings))
  }

  #stopNow(stop: Stop): void {
    if (this.#stopping) return
    this.#pastDeadline = true
    const client = this.#client
    if (!client || this.#pending.size === 0) return
    for (const entry of this.#pending) {
      entry.atDeadline = true
      // An un-awaited statement's stop must not end the runtime as an unhandled rejection.
      markHandled(entry.answer)
    }
    this.#stop = stop
    const settings = this.#settings
    this.#stopping = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (this.#pending.size > 0) {
          counters.deadlineUnconfirmed++
          const pending = [...this.#pending]
          this.#pending.clear()
          for (const entry of pending) entry.reject(deadlineError('may-still-run', settings, stop))
          abandonClient(this.#pool, settings, client)
          if (this.#client === client) this.#client = undefined
          this.#drained?.()
        }
        resolve()
      }, stop.confirmMs)
      sendCancelRequest(client, settings.clientConfig, stop.confirmMs).then(noop, noop)
      // Settled early when the statement answers.
      this.#allSettled = () => {
        this.#allSettled = undefined
        clearTimeout(timer)
        resolve()
      }
    })
  }

  // How long before the deadline it is now (undefined when no deadline is known).
  #beforeDeadlineMs(): number | undefined {
    return Number.isFinite(this.deadline) ? Math.max(0, Math.round(this.deadline - Date.now())) : undefined
  }

  // after/onError: statements the handler started and did not await finish first (up to a stop before
  // the deadline), then nothing stays leased, no transaction stays open, no session state stays behind.
  // `timedOut`: Middy's early timeout ended the invocation (its TimeoutError in onError): the handler is
  // abandoned, and so are its statements, stopped now rather than waited for.
  finish(timedOut = false): Promise<void> | undefined {
    if (timedOut) this.#stopAtEarlyTimeout()
    if (this.#finishing) return this.#finishing
    // A lease on its way (a first statement the handler did not await): it, and the statements waiting
    // for it, go first; the lease is bounded by the invocation's deadline (the pool's acquire).
    if (this.#leasing && !this.#client && !this.#ended) {
      this.#finishing = new Promise<void>((leased) =>
        this.#leasing?.push({ leased: () => leased(), failed: () => leased() }),
      ).then(() => {
        this.#finishing = undefined
        return this.finish(timedOut)
      })
      return this.#finishing
    }
    this.#ended = true
    if (this.#client && this.#pending.size > 0) {
      this.#finishing = this.#drainThenRelease()
      return this.#finishing
    }
    leasedSessions.delete(this)
    return this.#finish()
  }

  #stopAtEarlyTimeout() {
    const beforeMs = this.#beforeDeadlineMs()
    // The confirmation is awaited within what is left before the function's timeout.
    const leftMs = beforeMs === undefined ? this.#settings.validateTimeoutMs : beforeMs - 1
    const confirmMs = Math.max(1, Math.min(this.#settings.validateTimeoutMs, leftMs))
    this.#stopNow({ cause: 'early-timeout', beforeMs, confirmMs })
  }

  // Un-awaited statements (an audit INSERT the handler started and returned without awaiting) complete
  // as on a plain pool: the invocation's end waits for them, up to a stop at the deadline less the
  // margin (the watch's timer: dueAt() is #stopAt), or at once where no deadline is known.
  async #drainThenRelease(): Promise<void> {
    if (!this.#stopping) {
      // The margin's stop is armed already (#track); with statementMarginMs 0, one is armed here.
      const stopAt = Number.isFinite(this.#stopAt)
        ? this.#stopAt
        : this.deadline - unawaitedMarginMs(this.#settings)
      if (!Number.isFinite(stopAt) || stopAt <= Date.now())
        this.#stopNow(unawaitedStop(this.#settings, this.#beforeDeadlineMs()))
      else {
        this.#stopAt = stopAt
        leasedSessions.add(this)
      }
    }
    if (this.#pending.size > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve
      })
    }
    this.#drained = undefined
    leasedSessions.delete(this)
    await this.#finish()
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
    // Nothing is pending here: finish() waited for every statement sent (or for the stop that settled
    // them), and none is sent after the invocation ended.
    this.#client = undefined
    return releaseAfterInvocation(this.#pool, this.#settings, client, this.#stateLeaked)
  }
}
