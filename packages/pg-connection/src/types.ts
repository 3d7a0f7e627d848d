// Public types that are not options: what a handler sees on its context, what the logger receives,
// what pgConnectionStats() returns. (The options' types follow from the table in options.ts.)
import type { MiddlewareObj } from '@middy/core'
import type { DbLogEvent, DbLogger } from '@thaw/db-core'
import type { Context as LambdaContext } from 'aws-lambda'
import type { QueryConfig, QueryResult, QueryResultRow } from 'pg'

// pg's own query signature, answered with pg's own QueryResult.
export interface PgQueryable {
  query<R extends QueryResultRow = QueryResultRow, V extends unknown[] = unknown[]>(
    text: string | QueryConfig<V>,
    values?: V,
  ): Promise<QueryResult<R>>
}

// A client leased exclusively by one invocation: from `context.db.getConnection()` or handed to
// `context.db.transaction(fn)`. `release()` gives it back to the invocation (the pool gets it back
// after the invocation, cleaned). It is unusable once released.
export interface PgLeasedConnection extends PgQueryable {
  release(): void
  // The server's backend pid (pg_backend_pid()); behind a pooler, the pooler's own id.
  readonly processID: number | null
}

// `context.db`: pg's query, bound to one invocation.
export interface PgConnection extends PgQueryable {
  getConnection(): Promise<PgLeasedConnection>
  // Runs fn on an exclusively leased client inside a transaction: commits when fn resolves, rolls back
  // and rethrows when it throws; nested, a savepoint. Never re-runs fn.
  transaction<T>(fn: (connection: PgLeasedConnection) => Promise<T>): Promise<T>
}

// What the logger hook receives. Never holds a password: `pool` is user@host:port/database;
// `threadId` is the backend pid.
export type PgConnectionLogEvent = DbLogEvent
export type PgConnectionLogger = DbLogger

export type PgConnectionContext<TKey extends string = 'db'> = LambdaContext & { [K in TKey]: PgConnection }

export type PgConnectionMiddleware<TKey extends string = 'db'> = MiddlewareObj<
  unknown,
  // biome-ignore lint/suspicious/noExplicitAny: the middleware never looks at the result, as in Middy's own types
  any,
  Error,
  PgConnectionContext<TKey>
>

export interface PgConnectionStats {
  // Pools created in this process (thread): one per distinct configuration.
  pools: number
  // Connections whose startup succeeded.
  connectionsOpened: number
  // Invocations whose first statement ran on a connection that was already open.
  reusedInvocations: number
  // Dead connections found (by state, or by a failed validation) and replaced before a statement.
  replacements: number
  // Round-trip validations spent after a long idle gap.
  validations: number
  // DISCARD ALL sent between invocations.
  resets: number
  // Transactions left open by an invocation and rolled back after it.
  rollbacks: number
  // Connections closed because a statement on them may still run (its stop was not confirmed in time).
  abandoned: number
  // Statements cancelled at deadline - statementMarginMs, as the server confirmed.
  deadlineStops: number
  // Statements whose cancel the server did not confirm in time (THAW_PG_CONNECTION_STATEMENT_OUTCOME_UNKNOWN).
  deadlineUnconfirmed: number
  // Errors seen: failed connects, fatal statement errors, failed validations or resets.
  errors: number
  // GetSecretValue calls made (first use, and once per rotation).
  secretFetches: number
  // Connects retried once with credentials fetched anew after 28P01.
  rotationRetries: number
  // Connects retried after a back-off because the server had too many connections (53300).
  backoffRetries: number
  // IAM tokens obtained (one per new connection).
  tokensSigned: number
  // Connections closed after their invocation because the server, the role or the database was at
  // least fleet.giveBackAbove full when they opened, or a connect had been refused (53300).
  givenBack: number
}
