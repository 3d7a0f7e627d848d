// The Middy middleware: builds (or joins) the process's pool for this configuration when constructed,
// puts an invocation-bound view of it on the context in `before`, and cleans up after the invocation
// (release, roll back, reset) without ever closing the pool.
import type { Request } from '@middy/core'
import { connectionOnContext, invocationHooks } from '@thaw/db-core'
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
  return invocationHooks(
    {
      before: 'dbConnectionMiddlewareBefore',
      after: 'dbConnectionMiddlewareAfter',
      onError: 'dbConnectionMiddlewareOnError',
    },
    settings.contextKey,
    (request: Request, classic) => new DbSession(entry, settings, request, classic),
    finishOverdueSessions,
  ) as unknown as DbConnectionMiddleware<TKey>
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
