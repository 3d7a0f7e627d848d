// Public types that are not options: what a handler sees on its context, what the logger receives,
// what dbConnectionStats() returns. (The options' types follow from the table in options.ts.)
import type { MiddlewareObj } from '@middy/core'
import type { DbLogEvent, DbLogger } from '@thaw/db-core'
// The Lambda context type comes from @types/aws-lambda, a dependency of this package (the public types
// name it), as in every @thaw package (CONTRIBUTING.md).
import type { Context as LambdaContext } from 'aws-lambda'
import type { Pool as PromisePool, PoolConnection as PromisePoolConnection } from 'mysql2/promise'

// A connection leased exclusively by one invocation: from `context.db.getConnection()` or handed to
// `context.db.transaction(fn)`. Statements run on it directly; `release()` gives it back to the
// invocation (the pool gets it back after the invocation, cleaned). It is unusable once released.
export interface DbLeasedConnection {
  query: PromisePoolConnection['query']
  execute: PromisePoolConnection['execute']
  beginTransaction(): Promise<void>
  commit(): Promise<void>
  rollback(): Promise<void>
  release(): void
  // The server's connection id (CONNECTION_ID()).
  readonly threadId: number | null
}

// `context.db`: mysql2/promise's pool surface, bound to one invocation.
export interface DbConnection {
  query: PromisePool['query']
  execute: PromisePool['execute']
  getConnection(): Promise<DbLeasedConnection>
  // Runs fn on an exclusively leased connection inside a transaction: commits when fn resolves,
  // rolls back and rethrows when it throws. Never re-runs fn.
  transaction<T>(fn: (connection: DbLeasedConnection) => Promise<T>): Promise<T>
  escape: PromisePool['escape']
  format: PromisePool['format']
}

// What the logger hook receives (@thaw/db-core's event, the same in every database middleware). Never
// holds a password: `pool` is user@host:port/database; `threadId` is CONNECTION_ID().
export type DbConnectionLogEvent = DbLogEvent
export type DbConnectionLogger = DbLogger

export type DbConnectionContext<TKey extends string = 'db'> = LambdaContext & { [K in TKey]: DbConnection }

export type DbConnectionMiddleware<TKey extends string = 'db'> = MiddlewareObj<
  unknown,
  // biome-ignore lint/suspicious/noExplicitAny: the middleware never looks at the result, as in Middy's own types
  any,
  Error,
  DbConnectionContext<TKey>
>

export interface DbConnectionStats {
  // Pools created in this process (thread): one per distinct configuration.
  pools: number
  // Connections whose handshake succeeded.
  connectionsOpened: number
  // Invocations whose first statement ran on a connection that was already open.
  reusedInvocations: number
  // Dead connections found (by state, or by a failed validation) and replaced before a statement.
  replacements: number
  // Round-trip validations (pings) spent after a long idle gap.
  validations: number
  // COM_RESET_CONNECTION sent between invocations.
  resets: number
  // Connections given up because a statement was still running when the invocation ended.
  abandoned: number
  // Invocations whose running statement was stopped at deadline - statementMarginMs (counted in
  // abandoned too: the connection goes the same way).
  deadlineStops: number
  // Invocations whose running statement could not be confirmed stopped at that point (no connection for
  // the KILL, the KILL refused or unanswered in time): the handler got THAW_DB_CONNECTION_STATEMENT_OUTCOME_UNKNOWN.
  outcomesUnknown: number
  // Errors seen: failed connects, fatal statement errors, failed validations or resets.
  errors: number
  // GetSecretValue calls made (first use, and once per rotation).
  secretFetches: number
  // Connects retried once with credentials fetched anew after ER_ACCESS_DENIED_ERROR.
  rotationRetries: number
  // Connects retried after a back-off because the server had too many connections.
  backoffRetries: number
  // Connections closed (COM_QUIT) after their invocation because the server was crowded when they
  // opened (fleet.giveBackAbove).
  givenBack: number
  // IAM tokens obtained (one per new connection).
  tokensSigned: number
}
