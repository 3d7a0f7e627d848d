// Opening a new connection: the credentials and the deadline applied to mysql2's connection template,
// and the retries a refused connect gets (once with credentials fetched anew after a refused password;
// a jittered back-off while the server has too many connections). Where credentials come from, and
// how a refused connect is retried, change here alone.
import type { Request } from '@middy/core'
import type { PoolOptions } from 'mysql2'
import type { CredentialSource, Credentials } from './credentials.ts'
import { DbConnectionError, DbConnectionLimitError, dbConnectionErrorCodes } from './errors.ts'
import { logEvent } from './log.ts'
import {
  type CoreConnection,
  type CorePool,
  connectionTemplate,
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Applies the credentials and the deadline to the pool's connection template, which mysql2 copies for
// each new connection, when the next lease may open one. Returns the credentials' promise used, boxed
// (its identity names the version, for a refresh after a refusal; an async function would flatten it).
export const prepareNewConnection = async (
  pool: CorePool,
  configured: PoolOptions,
  source: CredentialSource | undefined,
  request: Request | undefined,
  deadline: number | undefined,
): Promise<{ credentials: Promise<Credentials> } | undefined> => {
  if (!mayOpenConnection(pool, configured.connectionLimit ?? 1)) return undefined
  const template = connectionTemplate(pool)
  // A connect never outlives the invocation: its timeout is capped by what is left of it.
  const timeout = configured.connectTimeout ?? mysql2ConnectTimeoutMs
  template.connectTimeout =
    deadline === undefined ? timeout : Math.max(1, Math.min(timeout, Math.floor(deadline - Date.now())))
  if (!source) return undefined
  const used = source.get(request)
  applyCredentials(pool, await used)
  return { credentials: used }
}

const applyCredentials = (pool: CorePool, credentials: Credentials): void => {
  const template = connectionTemplate(pool)
  for (const name of ['user', 'password', 'host', 'port', 'database'] as const) {
    if (credentials[name] !== undefined) template[name] = credentials[name]
  }
}

// When connecting must have succeeded or given up: the invocation's remaining time minus a margin
// (maxWaitMs outside an invocation).
export const invocationDeadline = ({ settings, request }: Invocation): number => {
  const { deadlineMarginMs, maxWaitMs } = settings.connectRetry
  const remaining = request?.context?.getRemainingTimeInMillis?.()
  return Date.now() + (typeof remaining === 'number' ? remaining - deadlineMarginMs : maxWaitMs)
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

// No idle connection: the pool opens one (with the source's credentials) or queues this lease.
// A refusal for bad credentials is retried once with credentials fetched anew (rotation); one for
// too many connections is retried after a jittered back-off until the deadline. Nothing else is.
export const openOrWait = async (invocation: Invocation): Promise<CoreConnection> => {
  const { entry, settings, request } = invocation
  const { pool, poolOptions, source } = entry
  const { baseDelayMs, maxDelayMs } = settings.connectRetry
  const started = Date.now()
  const deadline = invocationDeadline(invocation)
  let rotated = false
  // The last refusal for too many connections: if the attempt after it times out (its connectTimeout is
  // capped by the deadline, and on a busy machine it may run out), the caller still learns why.
  let refusedFull: ServerError | undefined
  for (let retries = 0; ; ) {
    const prepared = await prepareNewConnection(pool, poolOptions, source, request, deadline)
    if (prepared) entry.applied = prepared.credentials
    const tried = entry.applied
    try {
      return await leaseFromPoolWithin(pool, deadline, (waitedMs) => queueTimeoutError(invocation, waitedMs))
    } catch (error) {
      const { errno } = error as ServerError
      if (errno === ER_ACCESS_DENIED_ERROR && source && tried && !rotated) {
        const newer = source.refresh(tried, request)
        if (newer) {
          rotated = true
          counters.rotationRetries++
          logEvent(
            settings.logger,
            entry.label,
            'info',
            'rotation',
            'access denied: retrying once with credentials fetched anew',
            error,
          )
          await newer
          continue
        }
      }
      if (errno === undefined || !tooManyConnections.has(errno)) {
        if (refusedFull && (error as ServerError).code === 'ETIMEDOUT') {
          throw new DbConnectionLimitError(refusedFull, retries, Date.now() - started)
        }
        throw error
      }
      refusedFull = error as ServerError
      // Full jitter: concurrent environments refused at once do not come back at once.
      const delay = Math.floor(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** retries))
      if (Date.now() + delay >= deadline) {
        throw new DbConnectionLimitError(error as ServerError, retries, Date.now() - started)
      }
      retries++
      counters.backoffRetries++
      logEvent(
        settings.logger,
        entry.label,
        'info',
        'backoff',
        `too many connections: retrying in ${delay} ms`,
        error,
      )
      await sleep(delay)
    }
  }
}
