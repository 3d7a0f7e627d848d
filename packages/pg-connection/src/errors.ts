// The package's name, which starts every message, and the error a handler catches at run time.
import { ThawError } from '@thaw/util'

export const packageName = '@thaw/pg-connection'

// The THAW_* codes pg-connection throws at run time (the same names as db-connection's where they
// mean the same). A handler branches on `error.code`.
export const pgConnectionErrorCodes = {
  // Waited for a connection until the invocation's deadline (config.max reached).
  queueTimeout: 'THAW_PG_CONNECTION_QUEUE_TIMEOUT',
  // context.db used after the invocation ended (after, onError, Middy's early timeout).
  invocationEnded: 'THAW_PG_CONNECTION_INVOCATION_ENDED',
  // A leased client used after release().
  released: 'THAW_PG_CONNECTION_RELEASED',
  // Every connection found was dead, and so was every replacement.
  noHealthyConnection: 'THAW_PG_CONNECTION_NO_HEALTHY_CONNECTION',
  // Credentials could not be read (Secrets Manager, request.internal, the IAM token source).
  credentials: 'THAW_PG_CONNECTION_CREDENTIALS',
  // getConnection() inside a transaction() callback: it would wait for the transaction it runs in.
  nestedLease: 'THAW_PG_CONNECTION_NESTED_LEASE',
  // A statement still running statementMarginMs before the invocation's deadline, which the server
  // confirmed it cancelled; or one refused because it would have been sent after that point.
  statementDeadline: 'THAW_PG_CONNECTION_STATEMENT_DEADLINE',
  // A statement still running at that point whose cancel the server did not confirm in time: it may
  // still run and complete. Retrying it is not safe unless it may run twice.
  statementOutcomeUnknown: 'THAW_PG_CONNECTION_STATEMENT_OUTCOME_UNKNOWN',
  // Something a transaction pooler cannot route (proxy: 'transaction'): a named prepared statement.
  proxyUnsupported: 'THAW_PG_CONNECTION_PROXY_UNSUPPORTED',
  // A callback passed where the promise API takes values.
  callbackRefused: 'THAW_PG_CONNECTION_CALLBACK_REFUSED',
  // requireDb(context): the connection is not on the context yet (pgConnection's before has not run).
  notOnContext: 'THAW_PG_CONNECTION_NOT_ON_CONTEXT',
} as const

export type PgConnectionErrorCode = (typeof pgConnectionErrorCodes)[keyof typeof pgConnectionErrorCodes]

export class PgConnectionError extends ThawError {
  override name = 'PgConnectionError'
  constructor(code: PgConnectionErrorCode, message: string, options?: ErrorOptions) {
    super(packageName, code, message, options)
  }
}

// The one run-time error that keeps the server's code rather than a THAW_* one: a connect refused for
// too many connections (53300) after the back-off ran out of time. Callers branch on `code` (the
// SQLSTATE) as on pg's own error; `thawCode` says what thaw made of it.
export class PgConnectionLimitError extends Error {
  override name = 'PgConnectionLimitError'
  readonly thawCode = 'THAW_PG_CONNECTION_TOO_MANY_CONNECTIONS'
  readonly package = packageName
  readonly code: string | undefined
  constructor(server: { code?: string; message?: string }, retries: number, waitedMs: number) {
    super(
      `${packageName}: the server refused a new connection for too many connections (${server.code}: ${server.message}); ` +
        `${retries} retries over ${waitedMs} ms did not get one before the invocation's deadline`,
      { cause: server },
    )
    this.code = server.code
  }
}
