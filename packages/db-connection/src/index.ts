import type { Request } from '@middy/core'
import { type CoreConnection, leaseFromPool, prepareNewConnection } from './connect.ts'
import { credentialSource } from './credentials.ts'
import { type DbConnectionSettings, dbConnectionValidateOptions } from './options.ts'
import { acquirePool, count, type PoolEntry } from './registry.ts'
import { DbSession } from './session.ts'
import type { DbConnectionMiddleware, DbConnectionOptions } from './types.ts'

export type {
  AuthTokenParams,
  Credentials,
  IamOptions,
  InternalData,
  SecretOptions,
} from './credentials.ts'
export {
  type DbConnectionSettings,
  dbConnectionDefaults,
  dbConnectionValidateOptions,
  packageName,
} from './options.ts'
export { closePools, stats } from './registry.ts'
export type {
  ConnectMode,
  ConnectRetryOptions,
  DbConnection,
  DbConnectionBaseOptions,
  DbConnectionContext,
  DbConnectionLogEvent,
  DbConnectionLogger,
  DbConnectionMiddleware,
  DbConnectionOptions,
  DbConnectionStats,
  DbLeasedConnection,
  ResetSessionPolicy,
} from './types.ts'

// connect: 'init' opens the first connection while the module initialises. A failure is counted and
// logged, never kept: the first invocation simply opens one itself.
const connectAtInit = (entry: PoolEntry, settings: DbConnectionSettings) => {
  prepareNewConnection(entry.pool, entry.poolOptions, entry.source, undefined, undefined)
    .then(() => leaseFromPool(entry.pool))
    .then(
      (connection: CoreConnection) => {
        // Its first use is validated like any idle connection: init may be followed by a long freeze.
        entry.fresh.delete(connection)
        connection.release()
      },
      (error: { code?: string; errno?: number }) => {
        count.errors++
        settings.logger?.({
          level: 'warn',
          event: 'connect-failed',
          pool: entry.label,
          message: `opening a connection at init failed${error?.code ? `: ${error.code}` : ''}`,
          ...(error?.code ? { code: error.code } : {}),
          ...(typeof error?.errno === 'number' ? { errno: error.errno } : {}),
        })
      },
    )
}

// Builds (or joins) the process's pool for this configuration when the middleware is constructed,
// puts an invocation-bound view of it on the context in `before`, and cleans up after the
// invocation (release, roll back, reset) without ever closing the pool.
const dbConnection = <TKey extends string = 'db'>(
  opts: DbConnectionOptions<TKey>,
): DbConnectionMiddleware<TKey> => {
  const settings = dbConnectionValidateOptions(opts)
  const entry = acquirePool(settings, credentialSource(settings))
  if (settings.connect === 'init') connectAtInit(entry, settings)
  const contextKey = settings.contextKey
  // Per middleware instance: two of them on one handler (two databases) keep their sessions apart.
  const sessionKey = Symbol(contextKey)

  const dbConnectionMiddlewareBefore = (request: Request) => {
    const session = new DbSession(entry, settings, request)
    ;(request as unknown as Record<symbol, DbSession>)[sessionKey] = session
    ;(request.context as unknown as Record<string, unknown>)[contextKey] = session
  }

  const dbConnectionMiddlewareAfter = (request: Request) =>
    (request as unknown as Record<symbol, DbSession | undefined>)[sessionKey]?.finish()

  const dbConnectionMiddlewareOnError = (request: Request) =>
    (request as unknown as Record<symbol, DbSession | undefined>)[sessionKey]?.finish()

  return {
    before: dbConnectionMiddlewareBefore,
    after: dbConnectionMiddlewareAfter,
    onError: dbConnectionMiddlewareOnError,
  } as unknown as DbConnectionMiddleware<TKey>
}

export default dbConnection
