// The package's name, which starts every message, and the error a handler catches at run time.
import { ThawError } from '@thaw/util'

export const packageName = '@thaw/db-connection'

// The THAW_DB_CONNECTION_* codes db-connection throws at run time. A handler branches on `error.code`.
export const dbConnectionErrorCodes = {
  // Waited in the pool's queue until the invocation's deadline (connectionLimit reached).
  queueTimeout: 'THAW_DB_CONNECTION_QUEUE_TIMEOUT',
  // context.db used after the invocation ended (after, onError, Middy's early timeout).
  invocationEnded: 'THAW_DB_CONNECTION_INVOCATION_ENDED',
  // A leased connection used after release().
  released: 'THAW_DB_CONNECTION_RELEASED',
  // Every connection the pool handed out was dead, and so was every replacement.
  noHealthyConnection: 'THAW_DB_CONNECTION_NO_HEALTHY_CONNECTION',
  // Credentials could not be read (Secrets Manager, request.internal, the IAM token source).
  credentials: 'THAW_DB_CONNECTION_CREDENTIALS',
  // getConnection() inside a transaction() callback: it would wait for the transaction it runs in.
  nestedLease: 'THAW_DB_CONNECTION_NESTED_LEASE',
  // A statement still running when the margin before the invocation's deadline began: stopped on the
  // server (its session KILLed, and seen gone), or refused when sent after that point.
  statementDeadline: 'THAW_DB_CONNECTION_STATEMENT_DEADLINE',
  // A statement still running at the deadline that could not be confirmed stopped (no connection for
  // the KILL, the KILL refused, the server not confirming in time): it may still run and commit, and
  // retrying it is not safe.
  statementOutcomeUnknown: 'THAW_DB_CONNECTION_STATEMENT_OUTCOME_UNKNOWN',
  // A callback passed where mysql2/promise takes values.
  callbackRefused: 'THAW_DB_CONNECTION_CALLBACK_REFUSED',
  // requireDb(context): the connection is not on the context yet (dbConnection's before has not run).
  notOnContext: 'THAW_DB_CONNECTION_NOT_ON_CONTEXT',
  // Something that would pin the session behind a proxy (proxy: 'transaction'): execute(), which
  // prepares the statement on the server. As pg-connection's code of the same name.
  proxyUnsupported: 'THAW_DB_CONNECTION_PROXY_UNSUPPORTED',
} as const

export type DbConnectionErrorCode = (typeof dbConnectionErrorCodes)[keyof typeof dbConnectionErrorCodes]

export class DbConnectionError extends ThawError {
  override name = 'DbConnectionError'
  constructor(code: DbConnectionErrorCode, message: string, options?: ErrorOptions) {
    super(packageName, code, message, options)
  }
}

// The one run-time error that keeps the server's code rather than a THAW_* one: a connect refused for
// too many connections (1040, 1203, 1226) after the back-off ran out of time. Callers branch on
// `code`/`errno`/`sqlState` as on mysql2's own error; `thawCode` says what thaw made of it.
export class DbConnectionLimitError extends Error {
  override name = 'DbConnectionLimitError'
  readonly thawCode = 'THAW_DB_CONNECTION_TOO_MANY_CONNECTIONS'
  readonly package = packageName
  readonly code: string | undefined
  readonly errno: number | undefined
  readonly sqlState: string | undefined
  readonly fatal = true
  constructor(
    server: { code?: string; errno?: number; sqlState?: string; message?: string },
    retries: number,
    waitedMs: number,
  ) {
    super(
      `${packageName}: the server refused a new connection for too many connections (${server.code}: ${server.message}); ` +
        `${retries} retries over ${waitedMs} ms did not get one before the invocation's deadline`,
      { cause: server },
    )
    this.code = server.code
    this.errno = server.errno
    this.sqlState = server.sqlState
  }
}
