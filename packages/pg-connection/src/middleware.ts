// The Middy middleware: builds (or joins) the process's pool for this configuration when constructed,
// puts an invocation-bound view of it on the context in `before`, and cleans up after the invocation
// (roll back, reset, release) without ever closing the pool.
import type { Request } from '@middy/core'
import { connectionOnContext, credentialSource, type DbDriver, invocationHooks } from '@thaw/db-core'
import { PgConnectionError, packageName, pgConnectionErrorCodes } from './errors.ts'
import { type PgConnectionOptions, pgConnectionValidateOptions } from './options.ts'
import { acquirePool, type PgPool } from './registry.ts'
import { finishOverdueSessions, PgSession } from './session.ts'
import type { PgConnection, PgConnectionMiddleware } from './types.ts'

// What @thaw/db-core needs to know of this package.
export const pgDriver: DbDriver = {
  packageName,
  url: (import.meta as { url?: unknown }).url,
  defaultPort: 5432,
  credentialsError: (message, options) =>
    new PgConnectionError(pgConnectionErrorCodes.credentials, message, options),
}

// connect: 'init' opens the first connection while the module initialises. A failure is never kept:
// the first invocation opens one itself. Its first use is validated like any idle connection.
const connectAtInit = (pool: PgPool) => {
  pool.acquire(undefined).then(
    (client) => pool.release(client),
    () => {},
  )
}

/**
 * The middleware: builds (or joins) the process's pool for this configuration when constructed, puts
 * `context.db` (bound to the invocation) on the context in `before`, and after the invocation rolls
 * back, resets and releases its session without closing the pool.
 * @example
 * export const handler = middy<{ id: number }>()
 *   .use(pgConnection({ config: process.env.DATABASE_URL as string }))
 *   .handler(async (event, context) => (await context.db.query('SELECT * FROM orders WHERE id = $1', [event.id])).rows)
 */
export const pgConnection = <TKey extends string = 'db'>(
  opts: PgConnectionOptions<TKey>,
): PgConnectionMiddleware<TKey> => {
  const settings = pgConnectionValidateOptions(opts)
  const source = credentialSource(pgDriver, {
    credentials: settings.credentials,
    endpoint: settings.clientConfig as { host?: string; port?: number; user?: string },
    key: settings.key,
  })
  const pool = acquirePool(settings, source)
  if (settings.connect === 'init') connectAtInit(pool)
  return invocationHooks(
    {
      before: 'pgConnectionMiddlewareBefore',
      after: 'pgConnectionMiddlewareAfter',
      onError: 'pgConnectionMiddlewareOnError',
    },
    settings.contextKey,
    (request: Request, classic) => new PgSession(pool, settings, request, classic),
    finishOverdueSessions,
  ) as unknown as PgConnectionMiddleware<TKey>
}

/**
 * `context.db` for code that may run before this middleware's `before`: another middleware's `before`
 * placed earlier in `.use()` (Middy runs `before` hooks in `.use()` order), or a helper called from
 * one. Reading context.db there gives a TypeError (`Cannot read properties of undefined`); this throws
 * PgConnectionError `THAW_PG_CONNECTION_NOT_ON_CONTEXT`, which names the mistake and its fix. A property read
 * and a comparison: the handler itself runs after every `before` and needs no such check.
 * @example
 * const audit = { before: async (request) => { await requireDb(request.context).query('SELECT 1') } }
 * middy().use(pgConnection({ config })).use(audit) // this order: pgConnection's before runs first
 */
export const requireDb: (context: object, contextKey?: string) => PgConnection = connectionOnContext(
  'pgConnection',
  (message) => new PgConnectionError(pgConnectionErrorCodes.notOnContext, message),
)
