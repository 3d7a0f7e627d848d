import type { Request } from '@middy/core'
import {
  type CoreConnection,
  discardConnection,
  isConnectionDead,
  leaseFromPool,
  leaseFromPoolWithin,
  pingWithin,
  prepareNewConnection,
  resetWithin,
  takeIdleConnection,
} from './connect.ts'
import { type DbConnectionSettings, packageName } from './options.ts'
import { count, countReplacement, type PoolEntry } from './registry.ts'
import {
  leavesSessionState,
  type Method,
  refuseCallback,
  rejectWithCallerStack,
  type Statement,
  sendStatement,
  statementOn,
} from './statement.ts'
import type { DbLeasedConnection } from './types.ts'

const ER_ACCESS_DENIED_ERROR = 1045
// ER_CON_COUNT_ERROR (max_connections), ER_TOO_MANY_USER_CONNECTIONS (max_user_connections),
// ER_USER_LIMIT_REACHED (a user's MAX_USER_CONNECTIONS): the server is full, not wrong.
const tooManyConnections = new Set([1040, 1203, 1226])

interface ServerError {
  code?: string
  errno?: number
  sqlState?: string
  message?: string
}

// Keeps the server's code, errno and sqlState, so callers can branch on them as on mysql2's own error.
const connectionLimitError = (error: ServerError, retries: number, waitedMs: number) =>
  Object.assign(
    new Error(
      `${packageName}: the server refused a new connection for too many connections (${error.code}: ${error.message}); ` +
        `${retries} retries over ${waitedMs} ms did not get one before the invocation's deadline`,
      { cause: error },
    ),
    { code: error.code, errno: error.errno, sqlState: error.sqlState, fatal: true },
  )

// The code of the error an invocation gets when it waited in the pool's queue until its deadline.
export const queueTimeoutCode = 'THAW_QUEUE_TIMEOUT'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const SERVER_STATUS_IN_TRANS = 1

const pollOnce = () => new Promise<void>((resolve) => setImmediate(resolve))

const endedError = () =>
  new Error(
    `${packageName}: the invocation has ended (after, onError or Middy's early timeout); context.db can no longer be used`,
  )

// One invocation's view of the pool: it leases at most one connection, at its first statement, keeps
// it for all its statements, and gives it back, clean, in after/onError.
export class DbSession {
  #entry: PoolEntry
  #settings: DbConnectionSettings
  #request: Request | undefined
  #connection: CoreConnection | undefined
  #leasing: Promise<CoreConnection> | undefined
  #inFlight = 0
  #stateLeaked = false
  #inTransaction = false
  #ended = false
  // Set while getConnection()/transaction() holds the connection exclusively.
  #exclusive: Promise<void> | undefined

  constructor(entry: PoolEntry, settings: DbConnectionSettings, request?: Request) {
    this.#entry = entry
    this.#settings = settings
    this.#request = request
  }

  query(sql: Statement, values?: unknown) {
    return this.#shared('query', sql, values)
  }

  execute(sql: Statement, values?: unknown) {
    return this.#shared('execute', sql, values)
  }

  escape(value: unknown) {
    return this.#entry.pool.escape(value)
  }

  format(sql: string, values?: unknown) {
    return this.#entry.pool.format(sql, values as unknown[])
  }

  async getConnection(): Promise<DbLeasedConnection> {
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
    const connection = await this.getConnection()
    try {
      await connection.beginTransaction()
      let result: T
      try {
        result = await fn(connection)
      } catch (error) {
        // The rollback's own failure (a dead connection) must not hide the handler's error; the
        // server rolls back a transaction whose connection died, and after/onError reset or discard.
        await connection.rollback().catch(() => {})
        throw error
      }
      await connection.commit()
      return result
    } finally {
      connection.release()
    }
  }

  // The hot path: a leased, healthy connection runs the statement with no extra step.
  #shared(method: Method, sql: Statement, values: unknown) {
    if (this.#connection && !this.#exclusive) return this.#run(this.#connection, method, sql, values)
    return this.#sharedSlow(method, sql, values)
  }

  async #sharedSlow(method: Method, sql: Statement, values: unknown) {
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
            count.errors++
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
    const guard = () => {
      if (released) throw new Error(`${packageName}: this connection was released`)
    }
    const run = (method: Method) => (sql: Statement, values?: unknown) => {
      try {
        guard()
      } catch (error) {
        return Promise.reject(error)
      }
      return this.#run(connection, method, sql, values)
    }
    return {
      query: run('query'),
      execute: run('execute'),
      beginTransaction: () => run('query')('START TRANSACTION').then(() => {}),
      commit: () => run('query')('COMMIT').then(() => {}),
      rollback: () => run('query')('ROLLBACK').then(() => {}),
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
      this.#leasing = this.#acquire().then(
        (connection) => {
          this.#leasing = undefined
          if (this.#ended) {
            // The invocation ended while the lease was on its way: hand the connection straight back.
            connection.release()
            throw endedError()
          }
          this.#connection = connection
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

  async #acquire(): Promise<CoreConnection> {
    const { pool, fresh, poolOptions } = this.#entry
    // Right after a thaw, the invocation arrives in the same event-loop turn as any FIN or RST the
    // kernel received while the process was frozen: let the loop poll once so mysql2 sees them.
    await pollOnce()
    const attempts = 2 * (poolOptions.connectionLimit ?? 1) + 2
    for (let attempt = 0; attempt < attempts; attempt++) {
      let connection: CoreConnection
      try {
        connection = takeIdleConnection(pool) ?? (await this.#openOrWait())
      } catch (error) {
        count.errors++
        if ((error as ServerError).code === queueTimeoutCode) {
          this.#log('warn', 'queue-timeout', 'gave up waiting for a connection in the pool queue', error)
        } else {
          this.#log('warn', 'connect-failed', 'opening a connection failed', error)
        }
        throw error
      }
      if (fresh.has(connection)) {
        fresh.delete(connection)
        this.#log('debug', 'connected', 'opened a connection', undefined, connection.threadId)
        return connection
      }
      if (isConnectionDead(connection)) {
        countReplacement(this.#entry, connection)
        this.#log(
          'info',
          'replaced',
          'replaced a connection that died while idle',
          undefined,
          connection.threadId,
        )
        discardConnection(connection)
        continue
      }
      if (Date.now() - connection.lastActiveTime >= this.#settings.validateAfterIdleMs) {
        count.validations++
        if (!(await pingWithin(connection, this.#settings.validateTimeoutMs))) {
          countReplacement(this.#entry, connection)
          count.errors++
          this.#log(
            'info',
            'replaced',
            'replaced an idle connection that failed its ping',
            undefined,
            connection.threadId,
          )
          discardConnection(connection)
          continue
        }
      }
      count.reusedInvocations++
      return connection
    }
    throw new Error(
      `${packageName}: no healthy connection to ${this.#entry.label} after ${attempts} attempts`,
    )
  }

  // When connecting must have succeeded or given up: the invocation's remaining time minus a margin
  // (maxWaitMs outside an invocation).
  #deadline(): number {
    const { deadlineMarginMs, maxWaitMs } = this.#settings.connectRetry
    const remaining = this.#request?.context?.getRemainingTimeInMillis?.()
    return Date.now() + (typeof remaining === 'number' ? remaining - deadlineMarginMs : maxWaitMs)
  }

  // No idle connection: the pool opens one (with the source's credentials) or queues this lease.
  // A refusal for bad credentials is retried once with credentials fetched anew (rotation); one for
  // too many connections is retried after a jittered back-off until the deadline. Nothing else is.
  async #openOrWait(): Promise<CoreConnection> {
    const entry = this.#entry
    const { pool, poolOptions, source } = entry
    const { baseDelayMs, maxDelayMs } = this.#settings.connectRetry
    const started = Date.now()
    const deadline = this.#deadline()
    let rotated = false
    for (let retries = 0; ; ) {
      const prepared = await prepareNewConnection(pool, poolOptions, source, this.#request, deadline)
      if (prepared) entry.applied = prepared.credentials
      const tried = entry.applied
      try {
        return await leaseFromPoolWithin(pool, deadline, (waitedMs) => this.#queueTimeoutError(waitedMs))
      } catch (error) {
        const { errno } = error as ServerError
        if (errno === ER_ACCESS_DENIED_ERROR && source && tried && !rotated) {
          const newer = source.refresh(tried, this.#request)
          if (newer) {
            rotated = true
            count.rotationRetries++
            this.#log('info', 'rotation', 'access denied: retrying once with credentials fetched anew', error)
            await newer
            continue
          }
        }
        if (errno === undefined || !tooManyConnections.has(errno)) throw error
        // Full jitter: concurrent environments refused at once do not come back at once.
        const delay = Math.floor(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** retries))
        if (Date.now() + delay >= deadline) {
          throw connectionLimitError(error as ServerError, retries, Date.now() - started)
        }
        retries++
        count.backoffRetries++
        this.#log('info', 'backoff', `too many connections: retrying in ${delay} ms`, error)
        await sleep(delay)
      }
    }
  }

  // Names the wait, the pool and its size, so the log says why: too many concurrent invocations for
  // connectionLimit, or one holding its connection too long.
  #queueTimeoutError(waitedMs: number) {
    const limit = this.#entry.poolOptions.connectionLimit ?? 1
    return Object.assign(
      new Error(
        `${packageName}: waited ${waitedMs} ms in the pool's queue for a connection to ${this.#entry.label} ` +
          `(connectionLimit ${limit}, all leased by other invocations) and gave up ` +
          `${this.#settings.connectRetry.deadlineMarginMs} ms before the invocation's deadline`,
      ),
      { code: queueTimeoutCode },
    )
  }

  // after/onError: nothing stays leased, no transaction stays open, no lock stays held.
  finish(): Promise<void> | undefined {
    this.#ended = true
    const connection = this.#connection
    if (!connection) return this.#leasing ? this.#leasing.then(noop, noop) : undefined
    this.#connection = undefined
    if (this.#inFlight > 0) return this.#abandon(connection)
    if (isConnectionDead(connection)) {
      discardConnection(connection)
      return undefined
    }
    const policy = this.#settings.resetSession
    const dirty = this.#stateLeaked || this.#inTransaction
    if (policy === 'always' || (policy === 'auto' && dirty)) return this.#resetAndRelease(connection)
    if (policy === 'never' && this.#inTransaction) return this.#rollbackAndRelease(connection)
    connection.release()
    return undefined
  }

  async #resetAndRelease(connection: CoreConnection) {
    count.resets++
    if (await resetWithin(connection, this.#settings.validateTimeoutMs)) {
      connection.release()
      return
    }
    count.errors++
    this.#log(
      'warn',
      'reset-failed',
      'COM_RESET_CONNECTION failed; connection discarded',
      undefined,
      connection.threadId,
    )
    discardConnection(connection)
  }

  async #rollbackAndRelease(connection: CoreConnection) {
    try {
      await statementOn(connection, 'ROLLBACK')
      connection.release()
    } catch {
      count.errors++
      discardConnection(connection)
    }
  }

  // A statement is still running (Middy's early timeout fired mid-query, or the handler did not
  // await it): the connection cannot be handed to anyone. Close it, and end its server-side session
  // with KILL so the statement stops and its transaction and locks go now, not when the server
  // notices the closed socket.
  async #abandon(connection: CoreConnection) {
    count.abandoned++
    const threadId = connection.threadId
    this.#log(
      'warn',
      'abandoned',
      'a statement was still running when the invocation ended',
      undefined,
      threadId,
    )
    discardConnection(connection)
    if (threadId === null) return
    const { pool } = this.#entry
    const deadline = this.#settings.validateTimeoutMs
    let timedOut = false
    const killer = leaseFromPool(pool)
    const timer = new Promise<undefined>((resolve) =>
      setTimeout(() => {
        timedOut = true
        resolve(undefined)
      }, deadline),
    )
    const other = await Promise.race([killer.catch(() => undefined), timer])
    if (!other) {
      // Too late or refused: when it comes, it goes straight back to the pool.
      killer.then((late) => late.release(), noop)
      return
    }
    this.#entry.fresh.delete(other)
    try {
      await Promise.race([statementOn(other, 'KILL ?', [threadId]), timer])
      if (timedOut) discardConnection(other)
      else other.release()
    } catch (error) {
      // ER_NO_SUCH_THREAD: it is already gone, which is what was wanted.
      if ((error as { errno?: number }).errno === 1094) other.release()
      else discardConnection(other)
    }
  }

  #log(
    level: 'debug' | 'info' | 'warn' | 'error',
    event: string,
    message: string,
    error?: unknown,
    threadId?: number | null,
  ) {
    const logger = this.#settings.logger
    if (!logger) return
    const cause = error as { code?: string; errno?: number; message?: string } | undefined
    logger({
      level,
      event,
      pool: this.#entry.label,
      message: cause?.code ? `${message}: ${cause.code}` : message,
      ...(cause?.code ? { code: cause.code } : {}),
      ...(typeof cause?.errno === 'number' ? { errno: cause.errno } : {}),
      ...(threadId !== undefined ? { threadId } : {}),
    })
  }
}

const noop = () => {}
