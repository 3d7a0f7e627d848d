// Opening a new connection: fresh credentials for every connection the pool opens (also for the
// waiters mysql2 serves itself), the deadline applied to mysql2's connection template, and the retries
// a refused connect gets (with credentials fetched anew after a refused password; a jittered back-off
// while the server has too many connections). Where credentials come from, and how a refused connect
// is retried, change here alone.
import type { Request } from '@middy/core'
import { backOff, backoffDelay, invocationDeadline } from '@thaw/db-core'
import type { PoolOptions } from 'mysql2'
import type { Credentials } from './credentials.ts'
import { DbConnectionError, DbConnectionLimitError, dbConnectionErrorCodes } from './errors.ts'
import { noteRefusedForTooMany } from './fleet-hygiene.ts'
import { recordConnect } from './link.ts'
import { logEvent } from './log.ts'
import {
  type CoreConnection,
  type CorePool,
  connectionTemplate,
  interceptOpens,
  type LeaseCallback,
  leaseFromPoolWithin,
  mayOpenConnection,
} from './mysql2-adapter.ts'
import type { DbConnectionSettings } from './options.ts'
import type { PoolEntry } from './registry.ts'

// What the steps of one invocation's lease share.
export interface Invocation {
  entry: PoolEntry
  settings: DbConnectionSettings
  request: Request | undefined
}

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

// Counted here, read by stats.ts.
const counters = { rotationRetries: 0, backoffRetries: 0 }
export const connectCounters = (): Readonly<typeof counters> => counters

// mysql2's own default (ConnectionConfig).
const mysql2ConnectTimeoutMs = 10_000

// Caps the connect timeout mysql2 copies into the next new connection by what is left of the
// invocation, when the next lease may open one: a connect never outlives the invocation.
export const prepareNewConnection = (
  pool: CorePool,
  configured: PoolOptions,
  deadline: number | undefined,
): void => {
  if (!mayOpenConnection(pool, configured.connectionLimit ?? 1)) return
  const timeout = configured.connectTimeout ?? mysql2ConnectTimeoutMs
  connectionTemplate(pool).connectTimeout =
    deadline === undefined ? timeout : Math.max(1, Math.min(timeout, Math.floor(deadline - Date.now())))
}

const applyCredentials = (pool: CorePool, credentials: Credentials): void => {
  const template = connectionTemplate(pool)
  for (const name of ['user', 'password', 'host', 'port', 'database'] as const) {
    if (credentials[name] !== undefined) template[name] = credentials[name]
  }
}

// The invocation each of thaw's lease callbacks serves: its request reaches the credentials source
// (request.internal) even when mysql2 opens the connection later, for a waiter it queued.
const requestOf = new WeakMap<LeaseCallback, Request | undefined>()

// How many times one open asks for newer credentials after ER_ACCESS_DENIED_ERROR: once, and only for
// a version no attempt of this open used (a wrong password in the secret costs one refetch, not a storm).
const maxRotationRetries = 1

const installed = new WeakSet<PoolEntry>()

// Every connection the pool opens (thaw's own leases, and the waiters mysql2 serves from its queue when
// a connection leaves the pool) is timed, and gets fresh credentials when they come from a source:
// get() applies maxAgeMs, so no open uses credentials older than that, and a refused password is
// retried with a newer version (rotation), never with the one refused. Once per pool.
export const watchOpens = (entry: PoolEntry, settings: DbConnectionSettings): void => {
  const { source, pool } = entry
  if (installed.has(entry)) return
  installed.add(entry)
  // What a connect takes on this link, handshake and authentication only (no queue wait, no back-off,
  // no credentials fetch): what a stop at the deadline will need (link.ts).
  const timed = (callback: LeaseCallback): LeaseCallback => {
    const started = Date.now()
    return (error, connection) => {
      if (!error) recordConnect(entry, Date.now() - started)
      callback(error, connection)
    }
  }
  interceptOpens(pool, (callback, open) => {
    if (!source) {
      open(timed(callback), callback)
      return
    }
    const request = requestOf.get(callback)
    const tried = new Set<Promise<Credentials>>()
    const attempt = (credentials: Promise<Credentials>) => {
      tried.add(credentials)
      credentials.then(
        (values) => {
          applyCredentials(pool, values)
          open(
            timed((error, connection) => {
              if (
                (error as ServerError | null)?.errno === ER_ACCESS_DENIED_ERROR &&
                tried.size <= maxRotationRetries
              ) {
                const newer = source.refresh(credentials, request)
                if (newer && !tried.has(newer)) {
                  counters.rotationRetries++
                  logEvent(
                    settings.logger,
                    entry.label,
                    'rotation',
                    'access denied: retrying once with credentials fetched anew',
                    error,
                  )
                  attempt(newer)
                  return
                }
              }
              callback(error, connection)
            }),
            callback,
          )
        },
        (error: Error) => callback(error),
      )
    }
    attempt(source.get(request))
  })
}

// Names the wait, the pool and its size, so the log says why: too many concurrent invocations for
// connectionLimit, or one holding its connection too long.
const queueTimeoutError = ({ entry, settings }: Invocation, waitedMs: number) =>
  new DbConnectionError(
    dbConnectionErrorCodes.queueTimeout,
    `waited ${waitedMs} ms in the pool's queue for a connection to ${entry.label} ` +
      `(connectionLimit ${entry.poolOptions.connectionLimit ?? 1}, all leased by other invocations) and gave up ` +
      `${settings.connectRetry.deadlineMarginMs} ms before the invocation's deadline`,
  )

// Network errors of a connect (mysql2 3.24.6 says `connect ETIMEDOUT` and nothing else) name the server
// they were about, so the log says which host did not answer. The error keeps its code.
const networkCodes = new Set([
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])
const nameTheServer = (error: unknown, pool: CorePool): unknown => {
  const { code } = error as ServerError
  if (!(error instanceof Error) || code === undefined || !networkCodes.has(code)) return error
  const { host, port, socketPath } = connectionTemplate(pool) as {
    host?: string
    port?: number
    socketPath?: string
  }
  const server = socketPath ?? `${host ?? 'localhost'}:${port ?? 3306}`
  if (!error.message.includes(server)) error.message = `${error.message} (connecting to ${server})`
  return error
}

// No idle connection: the pool opens one (watchOpens gives it credentials) or queues
// this lease. A refusal for too many connections is retried after a jittered back-off until the
// deadline; nothing else is (a refused password is retried where the connection is opened).
export const openOrWait = async (invocation: Invocation): Promise<CoreConnection> => {
  const { entry, settings, request } = invocation
  const { pool, poolOptions } = entry
  const started = Date.now()
  // When connecting must have succeeded or given up: db-core's rule, as for node-postgres.
  const deadline = invocationDeadline(settings.connectRetry, request)
  // The last refusal for too many connections: if the attempt after it times out (its connectTimeout is
  // capped by the deadline, and on a busy machine it may run out), the caller still learns why.
  let refusedFull: ServerError | undefined
  for (let retries = 0; ; ) {
    prepareNewConnection(pool, poolOptions, deadline)
    try {
      return await leaseFromPoolWithin(
        pool,
        deadline,
        (waitedMs) => queueTimeoutError(invocation, waitedMs),
        (waiter) => requestOf.set(waiter, request),
      )
    } catch (error) {
      const { errno } = error as ServerError
      if (errno === undefined || !tooManyConnections.has(errno)) {
        if (refusedFull && (error as ServerError).code === 'ETIMEDOUT') {
          throw new DbConnectionLimitError(refusedFull, retries, Date.now() - started)
        }
        throw nameTheServer(error, pool)
      }
      refusedFull = error as ServerError
      const delay = backoffDelay(settings.connectRetry, retries, deadline)
      if (delay === undefined) {
        throw new DbConnectionLimitError(error as ServerError, retries, Date.now() - started)
      }
      retries++
      counters.backoffRetries++
      noteRefusedForTooMany(entry)
      await backOff(settings.logger, entry.label, delay, error)
    }
  }
}
