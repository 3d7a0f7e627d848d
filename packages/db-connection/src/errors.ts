// The package's name, which starts every message, and the error a handler catches at run time.
import { ConnectionLimitError, driverErrorCodes, type ServerError } from '@thaw/db-core'
import { ThawError } from '@thaw/util'

export const packageName = '@thaw/db-connection'

// The THAW_DB_CONNECTION_* codes db-connection throws at run time (@thaw/db-core's, which says what
// each means). A handler branches on `error.code`. statementDeadline: the session was KILLed and seen
// gone; statementOutcomeUnknown: the KILL had no connection, was refused, or was not confirmed in time.
export const dbConnectionErrorCodes = driverErrorCodes('DB_CONNECTION')

export type DbConnectionErrorCode = (typeof dbConnectionErrorCodes)[keyof typeof dbConnectionErrorCodes]

export class DbConnectionError extends ThawError {
  override name = 'DbConnectionError'
  constructor(code: DbConnectionErrorCode, message: string, options?: ErrorOptions) {
    super(packageName, code, message, options)
  }
}

// The one run-time error that keeps the server's code rather than a THAW_* one (@thaw/db-core's
// ConnectionLimitError): a connect refused for too many connections (1040, 1203, 1226) after the
// back-off ran out of time. Callers branch on `code`/`errno`/`sqlState` as on mysql2's own error.
export class DbConnectionLimitError extends ConnectionLimitError {
  override name = 'DbConnectionLimitError'
  readonly thawCode = 'THAW_DB_CONNECTION_TOO_MANY_CONNECTIONS'
  declare readonly package: typeof packageName
  readonly errno: number | undefined
  readonly sqlState: string | undefined
  readonly fatal = true
  constructor(server: ServerError, retries: number, waitedMs: number) {
    super(packageName, server, retries, waitedMs)
    this.errno = server.errno
    this.sqlState = server.sqlState
  }
}
