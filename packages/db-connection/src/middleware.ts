// The Middy middleware: builds (or joins) the process's pool for this configuration when constructed,
// puts an invocation-bound view of it on the context in `before`, and cleans up after the invocation
// (release, roll back, reset) without ever closing the pool.
import type { Request } from '@middy/core'
import { connectionOnContext } from '@thaw/db-core'
import { watchOpens } from './connect.ts'
import { credentialSource } from './credentials.ts'
import { DbConnectionError, dbConnectionErrorCodes } from './errors.ts'
import { watchFleet } from './fleet-hygiene.ts'
import { connectAtInit } from './lease.ts'
import { type DbConnectionOptions, dbConnectionValidateOptions } from './options.ts'
import { acquirePool } from './registry.ts'
import { DbSession, finishOverdueSessions } from './session.ts'
import type { DbConnection, DbConnectionMiddleware } from './types.ts'

/**
 * The middleware: builds (or joins) the process's pool for this configuration when constructed, puts
 * `context.db` (bound to the invocation) on the context in `before`, and after the invocation rolls
 * back, resets and releases its connection without closing the pool.
 * @example
 * export const handler = middy<{ id: number }>()
 *   .use(dbConnection({ config: process.env.DATABASE_URL as string }))
 *   .handler(async (event, context) => (await context.db.query('SELECT * FROM orders WHERE id = ?', [event.id]))[0])
 */
export const dbConnection = <TKey extends string = 'db'>(
  opts: DbConnectionOptions<TKey>,
): DbConnectionMiddleware<TKey> => {
  const settings = dbConnectionValidateOptions(opts)
  const entry = acquirePool(settings, credentialSource(settings))
  watchOpens(entry, settings)
  watchFleet(entry, settings)
  if (settings.connect === 'init') connectAtInit(entry, settings)
  const contextKey = settings.contextKey
  // Per middleware instance: two of them on one handler (two databases) keep their sessions apart.
  const sessionKey = Symbol(contextKey)
  // Lambda Managed Instances run concurrent invocations in one process and say so in
  // AWS_LAMBDA_MAX_CONCURRENCY; classic Lambda runs one at a time.
  const classic = Number(process.env.AWS_LAMBDA_MAX_CONCURRENCY ?? 1) <= 1

  const start = (request: Request) => {
    const session = new DbSession(entry, settings, request, classic)
    ;(request as unknown as Record<symbol, DbSession>)[sessionKey] = session
    ;(request.context as unknown as Record<string, unknown>)[contextKey] = session
  }

  // A session whose after/onError was skipped (a middleware after this one returned early) is
  // finished here at the latest, before this invocation can want its connection.
  const dbConnectionMiddlewareBefore = (request: Request) => {
    const overdue = finishOverdueSessions(classic)
    if (overdue) return overdue.then(() => start(request))
    start(request)
  }

  const dbConnectionMiddlewareAfter = (request: Request) =>
    (request as unknown as Record<symbol, DbSession | undefined>)[sessionKey]?.finish()

  // Middy's early timeout answers with a TimeoutError (@middy/core 7.9): the handler is abandoned with
  // its statements still running, which are stopped at once rather than waited for.
  const dbConnectionMiddlewareOnError = (request: Request) =>
    (request as unknown as Record<symbol, DbSession | undefined>)[sessionKey]?.finish(
      (request.error as { name?: string } | undefined)?.name === 'TimeoutError',
    )

  return {
    before: dbConnectionMiddlewareBefore,
    after: dbConnectionMiddlewareAfter,
    onError: dbConnectionMiddlewareOnError,
  } as unknown as DbConnectionMiddleware<TKey>
}

/**
 * `context.db` for code that may run before this middleware's `before`: another middleware's `before`
 * placed earlier in `.use()` (Middy runs `before` hooks in `.use()` order), or a helper called from
 * one. Reading context.db there gives a TypeError (`Cannot read properties of undefined`); this throws
 * DbConnectionError `THAW_DB_CONNECTION_NOT_ON_CONTEXT`, which names the mistake and its fix. A property read
 * and a comparison: the handler itself runs after every `before` and needs no such check.
 * @example
 * const audit = { before: async (request) => { await requireDb(request.context).query('SELECT 1') } }
 * middy().use(dbConnection({ config })).use(audit) // this order: dbConnection's before runs first
 */
export const requireDb: (context: object, contextKey?: string) => DbConnection = connectionOnContext(
  'dbConnection',
  (message) => new DbConnectionError(dbConnectionErrorCodes.notOnContext, message),
)
