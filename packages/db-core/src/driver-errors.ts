// The run-time errors every database middleware raises, in the driver package's own names: the codes
// (THAW_<PACKAGE>_<WHAT>: a code says which package threw it), and the one error that keeps the
// server's code. The classes a handler catches (DbConnectionError, PgConnectionError) are each
// package's own (its errors.ts).
import type { ServerError } from './types.ts'

// The codes a driver throws, `prefix` its package in upper snake case ('DB_CONNECTION'). A handler
// branches on `error.code`.
export const driverErrorCodes = <Prefix extends string>(prefix: Prefix) =>
  ({
    // Waited for a connection until the invocation's deadline (the pool's size reached).
    queueTimeout: `THAW_${prefix}_QUEUE_TIMEOUT`,
    // context.db used after the invocation ended (after, onError, Middy's early timeout).
    invocationEnded: `THAW_${prefix}_INVOCATION_ENDED`,
    // A leased connection used after release().
    released: `THAW_${prefix}_RELEASED`,
    // Every connection found was dead, and so was every replacement.
    noHealthyConnection: `THAW_${prefix}_NO_HEALTHY_CONNECTION`,
    // Credentials could not be read (Secrets Manager, request.internal, the IAM token source).
    credentials: `THAW_${prefix}_CREDENTIALS`,
    // getConnection() inside a transaction() callback: it would wait for the transaction it runs in.
    nestedLease: `THAW_${prefix}_NESTED_LEASE`,
    // A statement still running statementMarginMs before the invocation's deadline, which the server
    // showed stopped; or one refused because it would have been sent after that point.
    statementDeadline: `THAW_${prefix}_STATEMENT_DEADLINE`,
    // A statement still running at that point that could not be confirmed stopped (no connection for
    // the stop, the stop refused, the server not confirming in time): it may still run and commit, and
    // retrying it is not safe unless it may run twice.
    statementOutcomeUnknown: `THAW_${prefix}_STATEMENT_OUTCOME_UNKNOWN`,
    // A callback passed where the promise API takes values.
    callbackRefused: `THAW_${prefix}_CALLBACK_REFUSED`,
    // requireDb(context): the connection is not on the context yet (the middleware's before has not run).
    notOnContext: `THAW_${prefix}_NOT_ON_CONTEXT`,
    // Something that would pin the session behind a proxy, or that a transaction pooler cannot route
    // (proxy: 'transaction'): a statement prepared on the server (mysql2's execute(), pg's named query).
    proxyUnsupported: `THAW_${prefix}_PROXY_UNSUPPORTED`,
  }) as const

// A connect refused for too many connections (MySQL's 1040, 1203, 1226; PostgreSQL's 53300) after the
// back-off ran out of time: the one run-time error that keeps the server's code rather than a THAW_*
// one. Callers branch on `code` as on the driver's own error; `thawCode`
// (THAW_<PACKAGE>_TOO_MANY_CONNECTIONS) says what thaw made of it. Each driver package names its own
// subclass (DbConnectionLimitError, PgConnectionLimitError) and adds what its driver's errors carry.
export abstract class ConnectionLimitError extends Error {
  abstract readonly thawCode: string
  readonly package: string
  readonly code: string | undefined
  constructor(packageName: string, server: ServerError, retries: number, waitedMs: number) {
    super(
      `${packageName}: the server refused a new connection for too many connections (${server.code}: ${server.message}); ` +
        `${retries} retries over ${waitedMs} ms did not get one before the invocation's deadline`,
      { cause: server },
    )
    this.package = packageName
    this.code = server.code
  }
}
