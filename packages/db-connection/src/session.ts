// One invocation's view of the pool (context.db): it leases at most one connection, at its first
// statement, keeps it for all its statements, lets getConnection()/transaction() hold it
// exclusively, and hands it to release.ts when the invocation ends.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Request } from '@middy/core'
import type { Invocation } from './connect.ts'
import { DbConnectionError, dbConnectionErrorCodes } from './errors.ts'
import { acquireConnection } from './lease.ts'
import { type CoreConnection, discardConnection, isConnectionDead } from './mysql2-adapter.ts'
import type { DbConnectionSettings } from './options.ts'
import type { PoolEntry } from './registry.ts'
import { releaseAfterInvocation } from './release.ts'
import {
  leavesSessionState,
  type Method,
  refuseCallback,
  rejectWithCallerStack,
  type Statement,
  sendStatement,
} from './statement.ts'
import type { DbLeasedConnection } from './types.ts'

// Counted here, read by stats.ts: statements that failed fatally (their connection is discarded).
const counters = { errors: 0 }
export const sessionCounters = (): Readonly<typeof counters> => counters

const SERVER_STATUS_IN_TRANS = 1

const endedError = () =>
  new DbConnectionError(
    dbConnectionErrorCodes.invocationEnded,
    `the invocation has ended (after, onError or Middy's early timeout); context.db can no longer be used`,
  )

const noop = () => {}

// The transaction() callback an async step runs in, if any: context.db statements there run on the
// transaction's connection, a nested transaction() becomes a savepoint, and getConnection() fails at
// once, where each would otherwise wait for the very transaction that awaits it. Entered only by
// transaction(); the statement hot path never reads it.
interface TransactionScope {
  session: DbSession
  connection: DbLeasedConnection
  depth: number
}
const transactionScope = new AsyncLocalStorage<TransactionScope>()

// Sessions holding a connection, so that one whose after/onError never ran (another middleware's
// early response skipped them) is finished at the latest by the next invocation's before (classic
// mode: invocations never overlap in a process) or at its deadline (Managed Instances).
const leasedSessions = new Set<DbSession>()

// Finishes the sessions whose invocation is certainly over: all of them in classic mode (a new
// invocation has begun), those past their deadline with Managed Instances. Returns the cleanup to
// await, or undefined when there was none (the warm path: the set is empty).
export const finishOverdueSessions = (classic: boolean): Promise<unknown> | undefined => {
  if (leasedSessions.size === 0) return undefined
  const now = Date.now()
  const cleanups: Promise<void>[] = []
  for (const session of leasedSessions) {
    if (classic || session.deadline <= now) {
      const cleanup = session.finish()
      if (cleanup) cleanups.push(cleanup)
    }
  }
  return cleanups.length > 0 ? Promise.all(cleanups) : undefined
}

export class DbSession {
  #invocation: Invocation
  #connection: CoreConnection | undefined
  #leasing: Promise<CoreConnection> | undefined
  #inFlight = 0
  #stateLeaked = false
  #inTransaction = false
  #ended = false
  // Set while getConnection()/transaction() holds the connection exclusively.
  #exclusive: Promise<void> | undefined
  #classic: boolean
  #deadlineTimer: NodeJS.Timeout | undefined
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

  async transaction<T>(fn: (connection: DbLeasedConnection) => Promise<T>): Promise<T> {
    const scope = transactionScope.getStore()
    if (scope?.session === this) return this.#savepoint(scope, fn)
    const connection = await this.getConnection()
    try {
      await connection.beginTransaction()
      let result: T
      try {
        result = await transactionScope.run({ session: this, connection, depth: 0 }, () => fn(connection))
      } catch (error) {
        // The rollback's own failure (a dead connection) must not hide the handler's error; the
        // server rolls back a transaction whose connection died, and after/onError reset or discard.
        await connection.rollback().catch(noop)
        throw error
      }
      await connection.commit()
      return result
    } finally {
      connection.release()
    }
  }

  // A transaction() inside a transaction() callback: a savepoint on the same connection, released
  // when fn resolves, rolled back to when it throws (the outer transaction goes on either way).
  async #savepoint<T>(
    scope: TransactionScope,
    fn: (connection: DbLeasedConnection) => Promise<T>,
  ): Promise<T> {
    const depth = scope.depth + 1
    const name = `thaw_savepoint_${depth}`
    const { connection } = scope
    await connection.query(`SAVEPOINT ${name}`)
    let result: T
    try {
      result = await transactionScope.run({ session: this, connection, depth }, () => fn(connection))
    } catch (error) {
      await connection.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(noop)
      throw error
    }
    await connection.query(`RELEASE SAVEPOINT ${name}`)
    return result
  }

  // The hot path: a leased, healthy connection runs the statement with no extra step.
  #shared(method: Method, sql: Statement, values: unknown) {
    if (this.#connection && !this.#exclusive) return this.#run(this.#connection, method, sql, values)
    return this.#sharedSlow(method, sql, values)
  }

  async #sharedSlow(method: Method, sql: Statement, values: unknown) {
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

  #run(connection: CoreConnection, method: Method, sql: Statement, values: unknown) {
    if (this.#ended) return Promise.reject(endedError())
    refuseCallback(values)
    if (!this.#stateLeaked && leavesSessionState(sql)) this.#stateLeaked = true
    this.#inFlight++
    return new Promise<[unknown, unknown]>((resolve) => {
      sendStatement(connection, method, sql, values, (error, rows, fields) => {
        this.#inFlight--
        if (error) {
          // Never re-run: the error reaches the handler as mysql2 made it (code, errno, sqlState,
          // fatal); a dead connection is discarded so the next invocation gets a new one.
          if ((error as { fatal?: boolean }).fatal || isConnectionDead(connection)) {
            counters.errors++
            this.#drop(connection)
          }
          rejectWithCallerStack(resolve, error)
          return
        }
        const header = rows as { serverStatus?: number } | undefined
        if (header && typeof header.serverStatus === 'number') {
          this.#inTransaction = (header.serverStatus & SERVER_STATUS_IN_TRANS) !== 0
        }
        resolve([rows, fields])
      })
    })
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

  // Known to the sweep of finishOverdueSessions; with Managed Instances, also finished by a timer at the
  // invocation's deadline (unref'd: it never keeps the process alive).
  #track() {
    const remaining = this.#invocation.request?.context?.getRemainingTimeInMillis?.()
    if (typeof remaining === 'number') this.deadline = Date.now() + remaining
    leasedSessions.add(this)
    if (!this.#classic && typeof remaining === 'number') {
      this.#deadlineTimer = setTimeout(() => this.finish(), Math.max(0, remaining)).unref()
    }
  }

  // after/onError: nothing stays leased, no transaction stays open, no lock stays held.
  finish(): Promise<void> | undefined {
    this.#ended = true
    if (this.#deadlineTimer !== undefined) {
      clearTimeout(this.#deadlineTimer)
      this.#deadlineTimer = undefined
    }
    leasedSessions.delete(this)
    const connection = this.#connection
    if (!connection) return this.#leasing ? this.#leasing.then(noop, noop) : undefined
    this.#connection = undefined
    const { entry, settings } = this.#invocation
    return releaseAfterInvocation(entry, settings, connection, {
      inFlight: this.#inFlight,
      stateLeaked: this.#stateLeaked,
      inTransaction: this.#inTransaction,
    })
  }
}
