// One invocation's view of the pool (context.db): it leases at most one connection, at its first
// statement, keeps it for all its statements, lets getConnection()/transaction() hold it
// exclusively, and hands it to release.ts when the invocation ends.
import type { Request } from '@middy/core'
import {
  type TransactionScope as CoreTransactionScope,
  DeadlineWatch,
  finishOverdue,
  quietRejection,
  runTransaction,
  type TransactionVerbs,
} from '@thaw/db-core'
import type { Invocation } from './connect.ts'
import { DbConnectionError, dbConnectionErrorCodes } from './errors.ts'
import { acquireConnection } from './lease.ts'
import { neededStopMs, stopMarginMs } from './link.ts'
import { logEvent } from './log.ts'
import { type CoreConnection, discardConnection, isConnectionDead } from './mysql2-adapter.ts'
import { AsyncLocalStorage } from './node-builtins.ts'
import type { DbConnectionSettings } from './options.ts'
import { behindProxy } from './proxy.ts'
import type { PoolEntry } from './registry.ts'
import { abandonConnection, releaseAfterInvocation } from './release.ts'
import { trackingOf } from './session-tracking.ts'
import {
  leavesState,
  type Method,
  plainRead,
  refuseCallback,
  rejectWithCallerStack,
  type Statement,
  sendStatement,
  statementKind,
} from './statement.ts'
import type { DbLeasedConnection } from './types.ts'

// Counted here, read by stats.ts: statements that failed fatally (their connection is discarded);
// sessions whose running statement was stopped at the invocation's deadline, and those whose statement
// could not be confirmed stopped.
const counters = { errors: 0, deadlineStops: 0, outcomesUnknown: 0 }
export const sessionCounters = (): Readonly<typeof counters> => counters

const SERVER_STATUS_IN_TRANS = 1
// The OK packet carries the server's report of a session change (session-tracking.ts).
const SERVER_SESSION_STATE_CHANGED = 0x4000

const endedError = () =>
  new DbConnectionError(
    dbConnectionErrorCodes.invocationEnded,
    `the invocation has ended (after, onError or Middy's early timeout); context.db can no longer be used`,
  )

const notSentError = (marginMs: number) =>
  new DbConnectionError(
    dbConnectionErrorCodes.statementDeadline,
    `the statement was not sent: the invocation's deadline is less than ${marginMs} ms away (statementMarginMs, or what stopping a statement takes on this link)`,
  )

// proxy.ts: a server-side prepared statement pins the session behind a proxy.
const proxiedExecute = () =>
  new DbConnectionError(
    dbConnectionErrorCodes.proxyUnsupported,
    `execute() was not sent: it prepares the statement on the server, which pins the session behind a proxy (proxy: 'transaction'); use query(), which sends the values escaped in the statement`,
  )

// `when` says when the statement was still running: `${n} ms before the invocation's deadline`, or, with
// no deadline known, `when the invocation ended`.
// Said only when the server was seen without the statement's session (release.ts, abandonConnection).
const stoppedError = (when: string) =>
  new DbConnectionError(
    dbConnectionErrorCodes.statementDeadline,
    `the statement was stopped at the invocation's deadline: it was still running ${when}, so its session was ended on the server (KILL), and the server no longer shows it: the statement did not complete, and its transaction and locks went with the session`,
  )

// Anything short of that: the statement may have completed, may still run, may have committed.
const outcomeUnknownError = (when: string, reason: string) =>
  new DbConnectionError(
    dbConnectionErrorCodes.statementOutcomeUnknown,
    `the statement was still running ${when} and could not be stopped: ${reason}. It may have completed or may still be running, and may have committed: retrying it is not safe`,
  )

const noop = () => {}

// A multi-statement text's answer (mysql2 3.24.6): `fields` holds one entry per result, undefined for an
// OK packet and the columns for a result set. One result set alone has its columns there instead
// (ColumnDefinition objects), and its rows are never OK packets, whatever their columns are named.
const isSeveralResults = (fields: unknown): boolean =>
  Array.isArray(fields) && fields.every((each) => each === undefined || Array.isArray(each))

type Settle = (value: Promise<never> | [unknown, unknown]) => void
type Answer = Promise<[unknown, unknown]>

// The least time a stop keeps before the deadline for the handler to answer (and Middy's early
// timeout), out of the margin: a fifth of it, at most this.
const handlerShareMs = 100

// The transaction() callback an async step runs in, if any: context.db statements there run on the
// transaction's connection, a nested transaction() becomes a savepoint, and getConnection() fails at
// once, where each would otherwise wait for the very transaction that awaits it. Entered only by
// transaction(); the statement hot path never reads it.
interface OkPacket {
  serverStatus?: number
  insertId?: number | string
  stateChanges?: { schema?: string | null }
}

type TransactionScope = CoreTransactionScope<DbSession, DbLeasedConnection>
const transactionScope = new AsyncLocalStorage<TransactionScope>()
const transactionVerbs: TransactionVerbs<DbLeasedConnection> = {
  begin: (connection) => connection.beginTransaction(),
  commit: (connection) => connection.commit(),
  rollback: (connection) => connection.rollback(),
}

// Sessions holding a connection, so that one whose after/onError never ran (another middleware's
// early response skipped them) is finished at the latest by the next invocation's before (classic
// mode: invocations never overlap in a process) or at its deadline (Managed Instances); their
// statement deadlines share one timer (db-core's deadline-watch.ts).
const leasedSessions = new DeadlineWatch<DbSession>()

// The warm path (no session left over) is answered here, without a call: every invocation runs it.
export const finishOverdueSessions = (classic: boolean): Promise<unknown> | undefined =>
  leasedSessions.sessions.size === 0 ? undefined : finishOverdue(leasedSessions.sessions, classic)

export class DbSession {
  #invocation: Invocation
  #connection: CoreConnection | undefined
  #leasing: Promise<CoreConnection> | undefined
  // The statements sent and not answered yet: the function that settles each one's promise, and it.
  #pending = new Map<Settle, Answer>()
  // Resolves finish()'s wait for the statements still running when the invocation ended.
  #drained: (() => void) | undefined
  // The margin before the deadline at which a running statement is stopped (link.ts).
  #marginMs = 0
  #stateLeaked = false
  #inTransaction = false
  #schemaChanged = false
  // An OK packet carried a generated id: LAST_INSERT_ID() would show it to the next invocation.
  #insertIdSet = false
  // The connection's server reports session changes (session-tracking.ts); if not, anything but a
  // plain read counts as a change.
  #tracked = false
  // Multi-statement results: several OK packets, each with its own status.
  #multi = false
  #ended = false
  // Past deadline - statementMarginMs: nothing more is sent.
  #pastDeadline = false
  // deadline - margin: when a statement still running is stopped (Infinity: no stop armed).
  #stopAt = Number.POSITIVE_INFINITY
  // The stop of a statement still running at the deadline (KILL and its confirmation), awaited by
  // finish().
  #stopping: Promise<void> | undefined
  // Set while getConnection()/transaction() holds the connection exclusively.
  #exclusive: Promise<void> | undefined
  #classic: boolean
  // finish()'s wait for the statements the handler did not await (a second finish() joins it).
  #draining: Promise<void> | undefined
  // When the invocation ends at the latest (epoch ms), known once a connection is leased.
  deadline = Number.POSITIVE_INFINITY

  constructor(entry: PoolEntry, settings: DbConnectionSettings, request?: Request, classic = true) {
    this.#invocation = { entry, settings, request }
    this.#classic = classic
  }

  query(sql: Statement, values?: unknown) {
    return this.#shared('query', sql, values)
  }

  execute(sql: Statement, values?: unknown) {
    return this.#shared('execute', sql, values)
  }

  escape(value: unknown) {
    return this.#invocation.entry.pool.escape(value)
  }

  format(sql: string, values?: unknown) {
    return this.#invocation.entry.pool.format(sql, values as unknown[])
  }

  async getConnection(): Promise<DbLeasedConnection> {
    if (transactionScope.getStore()?.session === this) {
      throw new DbConnectionError(
        dbConnectionErrorCodes.nestedLease,
        'getConnection() inside a transaction() callback would wait for that transaction: use the connection the callback received, or context.db, which run in the transaction',
      )
    }
    while (this.#exclusive) await this.#exclusive
    if (this.#ended) throw endedError()
    let unlock = () => {}
    this.#exclusive = new Promise<void>((resolve) => {
      unlock = resolve
    })
    let connection: CoreConnection
    try {
      connection = this.#connection ?? (await this.#lease())
    } catch (error) {
      this.#exclusive = undefined
      unlock()
      throw error
    }
    return this.#leased(connection, () => {
      this.#exclusive = undefined
      unlock()
    })
  }

  transaction<T>(fn: (connection: DbLeasedConnection) => Promise<T>): Promise<T> {
    return runTransaction(transactionScope, this, () => this.getConnection(), transactionVerbs, fn)
  }

  // The hot path: a leased, healthy connection runs the statement with no extra step.
  #shared(method: Method, sql: Statement, values: unknown): Answer {
    if (this.#connection && !this.#exclusive) return this.#run(this.#connection, method, sql, values)
    if (this.#ended) return this.#refuseLate()
    return this.#sharedSlow(method, sql, values)
  }

  async #sharedSlow(method: Method, sql: Statement, values: unknown): Answer {
    // Inside this session's transaction() callback: the statement belongs to the transaction.
    if (this.#exclusive) {
      const scope = transactionScope.getStore()
      if (scope?.session === this) {
        const run = scope.connection[method] as (
          sql: Statement,
          values?: unknown,
        ) => Promise<[unknown, unknown]>
        return run(sql, values)
      }
    }
    while (this.#exclusive) await this.#exclusive
    if (this.#ended) throw endedError()
    const connection = this.#connection ?? (await this.#lease())
    return this.#run(connection, method, sql, values)
  }

  #run(connection: CoreConnection, method: Method, sql: Statement, values: unknown): Answer {
    if (this.#ended) return this.#refuseLate()
    if (this.#pastDeadline) return quietRejection<[unknown, unknown]>(notSentError(this.#marginMs))
    if (method === 'execute' && behindProxy(this.#invocation.settings))
      return quietRejection<[unknown, unknown]>(proxiedExecute())
    refuseCallback(values)
    if (!this.#stateLeaked) {
      const kind = statementKind(sql)
      if (kind === leavesState || (kind !== plainRead && !this.#tracked)) this.#stateLeaked = true
    }
    const pending = this.#pending
    let settle: Settle = noop
    const answer: Answer = new Promise<[unknown, unknown]>((resolve) => {
      settle = resolve
    })
    pending.set(settle, answer)
    sendStatement(connection, method, sql, values, (error, rows, fields) => {
      // Already settled: stopped at the deadline.
      if (!pending.delete(settle)) return
      if (error) {
        // Never re-run: the error reaches the handler as mysql2 made it (code, errno, sqlState,
        // fatal); a dead connection is discarded so the next invocation gets a new one.
        if ((error as { fatal?: boolean }).fatal || isConnectionDead(connection)) {
          counters.errors++
          this.#drop(connection)
        }
        rejectWithCallerStack(settle, error)
      } else {
        const header = rows as OkPacket | undefined
        if (header && typeof header.serverStatus === 'number') this.#readOk(header)
        else if (this.#multi && Array.isArray(rows) && isSeveralResults(fields)) {
          // Only the OK packets among the results: a result set's rows are the user's data, whose
          // `serverStatus`, if a query names such a column, says nothing about the session.
          for (let index = 0; index < rows.length; index++) {
            if ((fields as unknown[])[index] === undefined) this.#readOk(rows[index] as OkPacket)
          }
        }
        settle([rows, fields])
      }
      if (pending.size === 0) this.#drained?.()
    })
    return answer
  }

  // A statement sent through a context.db kept past its invocation: refused, and said in the log, since
  // no handler may be waiting for it (an un-awaited statement started after the answer).
  #refuseLate(): Answer {
    const { entry, settings } = this.#invocation
    logEvent(
      settings.logger,
      entry.label,
      'late-statement',
      'a statement was sent through context.db after its invocation ended: refused, not sent',
    )
    return quietRejection<[unknown, unknown]>(endedError())
  }

  // What an OK packet says about the session: a transaction open or not, and, from the server's
  // session tracking, whether the statement changed the session whatever its text looked like
  // (comments, versioned comments, a procedure, a prepared statement). A non-zero insert id: the
  // statement generated one, and LAST_INSERT_ID() now returns it (no tracker reports that; an
  // explicit id also shows here, which only costs what release.ts does for it).
  #readOk(header: OkPacket) {
    const status = header.serverStatus as number
    this.#inTransaction = (status & SERVER_STATUS_IN_TRANS) !== 0
    const insertId = header.insertId
    if (insertId !== undefined && insertId !== 0 && insertId !== '0') this.#insertIdSet = true
    if ((status & SERVER_SESSION_STATE_CHANGED) !== 0) {
      this.#stateLeaked = true
      if (header.stateChanges?.schema) this.#schemaChanged = true
    }
  }

  // Settles every statement still waiting for an answer with `error` (their connection was closed:
  // mysql2 3.24.6 never calls back a command of a connection it was told to destroy).
  #settlePending(error: () => Error) {
    const pending = [...this.#pending]
    this.#pending.clear()
    for (const [settle, answer] of pending) {
      answer.catch(noop)
      rejectWithCallerStack(settle, error())
    }
    this.#drained?.()
  }

  #drop(connection: CoreConnection) {
    discardConnection(connection)
    if (this.#connection === connection) this.#connection = undefined
  }

  #leased(connection: CoreConnection, unlock: () => void): DbLeasedConnection {
    let released = false
    const run = (method: Method) => (sql: Statement, values?: unknown) => {
      if (released) {
        return Promise.reject(
          new DbConnectionError(dbConnectionErrorCodes.released, 'this connection was released'),
        )
      }
      return this.#run(connection, method, sql, values)
    }
    return {
      query: run('query'),
      execute: run('execute'),
      beginTransaction: () => run('query')('START TRANSACTION').then(noop),
      commit: () => run('query')('COMMIT').then(noop),
      rollback: () => run('query')('ROLLBACK').then(noop),
      release: () => {
        if (released) return
        released = true
        unlock()
      },
      get threadId() {
        return connection.threadId
      },
    } as unknown as DbLeasedConnection
  }

  // Concurrent first statements of one invocation share one lease; a failed lease is not kept.
  #lease(): Promise<CoreConnection> {
    if (!this.#leasing) {
      this.#leasing = acquireConnection(this.#invocation).then(
        (connection) => {
          this.#leasing = undefined
          if (this.#ended) {
            // The invocation ended while the lease was on its way: hand the connection straight back.
            connection.release()
            throw endedError()
          }
          this.#connection = connection
          this.#tracked = trackingOf(connection) === true
          this.#multi = (connection.config as { multipleStatements?: boolean }).multipleStatements === true
          this.#track()
          return connection
        },
        (error) => {
          this.#leasing = undefined
          throw error
        },
      )
    }
    return this.#leasing
  }

  // Known to the sweep of finishOverdueSessions; with Managed Instances, also finished at the
  // invocation's deadline. Also arms the statement deadline, no round trip (the KILL is sent only when
  // a statement is still running at deadline - margin): both on the watch's one timer.
  #track() {
    const remaining = this.#invocation.request?.context?.getRemainingTimeInMillis?.()
    if (typeof remaining === 'number') {
      this.deadline = Date.now() + remaining
      const margin = stopMarginMs(this.#invocation.entry, this.#invocation.settings)
      this.#marginMs = margin
      if (margin > 0) this.#stopAt = this.deadline - margin
    }
    leasedSessions.add(this)
  }

  // For the watch: the next moment this session must act (Infinity for never).
  dueAt(): number {
    // stopAtDeadline() puts #stopAt back to Infinity, so a stop under way is never due again.
    return this.#classic || this.#ended ? this.#stopAt : Math.min(this.#stopAt, this.deadline)
  }

  due(now: number): void {
    if (now >= this.#stopAt) this.stopAtDeadline()
    if (!this.#classic && !this.#ended && now >= this.deadline) this.finish()
  }

  // deadline - margin (internal: called by the session's timer). From now on nothing is sent; a
  // statement still running is stopped on the server (the session is KILLed from another connection,
  // and the server is asked whether it is gone) and its await fails with what is known: stopped
  // (THAW_DB_CONNECTION_STATEMENT_DEADLINE) or not
  // (THAW_DB_CONNECTION_STATEMENT_OUTCOME_UNKNOWN), before Middy's early timeout or
  // Lambda's own. finish() waits for the stop.
  stopAtDeadline(): void {
    this.#stopAt = Number.POSITIVE_INFINITY
    if (this.#stopping) return
    this.#pastDeadline = true
    const connection = this.#connection
    if (!connection || this.#pending.size === 0) return
    const { settings } = this.#invocation
    const until = Number.isFinite(this.deadline)
      ? this.deadline - Math.min(handlerShareMs, this.#marginMs / 5)
      : Date.now() + settings.validateTimeoutMs
    this.#stop(connection, until)
  }

  #stop(connection: CoreConnection, until: number) {
    this.#connection = undefined
    const { entry, settings } = this.#invocation
    const when = Number.isFinite(this.deadline)
      ? `${Math.max(0, Math.round(this.deadline - Date.now()))} ms before the invocation's deadline`
      : 'when the invocation ended'
    this.#stopping = abandonConnection(entry, settings, connection, until).then((outcome) => {
      if (outcome.stopped) counters.deadlineStops++
      else counters.outcomesUnknown++
      this.#settlePending(() =>
        outcome.stopped ? stoppedError(when) : outcomeUnknownError(when, outcome.reason),
      )
    })
  }

  // after/onError: statements the handler started and did not await finish first (up to the stop at
  // the deadline), then nothing stays leased, no transaction stays open, no lock stays held.
  // `timedOut`: Middy's early timeout ended the invocation (its TimeoutError in onError): the handler
  // is abandoned, and so are its statements, stopped now rather than waited for.
  finish(timedOut = false): Promise<void> | undefined {
    // A lease on its way (a first statement the handler did not await): it, and the statements waiting
    // for it, go first; the lease is bounded by the invocation's deadline (connect.ts).
    if (this.#leasing && !this.#connection && !this.#ended) {
      const again = () => this.finish(timedOut)
      return this.#leasing.then(again, again)
    }
    if (this.#draining) {
      if (timedOut) this.stopAtDeadline()
      return this.#draining
    }
    this.#ended = true
    const connection = this.#connection
    if (!connection) {
      this.#leave()
      if (this.#stopping) return this.#stopping
      return this.#leasing ? this.#leasing.then(noop, noop) : undefined
    }
    if (this.#pending.size > 0) {
      if (timedOut) this.stopAtDeadline()
      // Watched until drained: the stop at the deadline bounds the wait.
      this.#draining = this.#drainThenRelease()
      return this.#draining
    }
    this.#leave()
    return this.#release(connection)
  }

  // Out of the watch, no stop armed.
  #leave() {
    this.#stopAt = Number.POSITIVE_INFINITY
    leasedSessions.delete(this)
  }

  // Un-awaited statements (an audit INSERT the handler started and returned without awaiting) complete
  // as on a plain pool: the invocation's end waits for them, and the stop at the deadline bounds the
  // wait. Without a stop timer (no deadline known, or statementMarginMs 0), one is armed for the
  // deadline less what a stop needs on this link, or the stop starts now when no deadline is known.
  async #drainThenRelease(): Promise<void> {
    if (!Number.isFinite(this.#stopAt) && !this.#stopping) {
      const { entry } = this.#invocation
      const stopNeedsMs = Math.max(neededStopMs(entry), handlerShareMs)
      const stopAt = this.deadline - stopNeedsMs
      if (Number.isFinite(stopAt) && stopAt > Date.now()) {
        this.#marginMs ||= stopNeedsMs
        this.#stopAt = stopAt
        leasedSessions.add(this)
      } else this.stopAtDeadline()
    }
    if (this.#pending.size > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve
      })
    }
    this.#drained = undefined
    this.#leave()
    if (this.#stopping) return this.#stopping
    const connection = this.#connection
    if (!connection) return
    return this.#release(connection)
  }

  #release(connection: CoreConnection): Promise<void> | undefined {
    this.#connection = undefined
    const { entry, settings } = this.#invocation
    return releaseAfterInvocation(entry, settings, connection, {
      stateLeaked: this.#stateLeaked,
      inTransaction: this.#inTransaction,
      schemaChanged: this.#schemaChanged,
      insertIdSet: this.#insertIdSet,
    })
  }
}
