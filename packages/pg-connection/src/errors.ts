// The package's name, which starts every message, and the error a handler catches at run time.
import { ConnectionLimitError, driverErrorCodes } from '@thaw/db-core'
import { ThawError } from '@thaw/util'

export const packageName = '@thaw/pg-connection'

// The THAW_PG_CONNECTION_* codes pg-connection throws at run time: @thaw/db-core's (which says what
// each means; the same names as db-connection's, and the stop at the deadline is PostgreSQL's cancel
// request). A handler branches on `error.code`.
export const pgConnectionErrorCodes = driverErrorCodes('PG_CONNECTION')

export type PgConnectionErrorCode = (typeof pgConnectionErrorCodes)[keyof typeof pgConnectionErrorCodes]

export class PgConnectionError extends ThawError {
  override name = 'PgConnectionError'
  constructor(code: PgConnectionErrorCode, message: string, options?: ErrorOptions) {
    super(packageName, code, message, options)
  }
}

// The one run-time error that keeps the server's code rather than a THAW_* one (@thaw/db-core's
// ConnectionLimitError): a connect refused for too many connections (53300) after the back-off ran
// out of time. Callers branch on `code` (the SQLSTATE) as on pg's own error.
export class PgConnectionLimitError extends ConnectionLimitError {
  override name = 'PgConnectionLimitError'
  readonly thawCode = 'THAW_PG_CONNECTION_TOO_MANY_CONNECTIONS'
  declare readonly package: typeof packageName
  constructor(server: { code?: string; message?: string }, retries: number, waitedMs: number) {
    super(packageName, server, retries, waitedMs)
  }
}
