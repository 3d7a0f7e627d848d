// Behind a proxy that multiplexes sessions between transactions (RDS Proxy for MySQL and MariaDB):
// proxy: 'transaction'. Between two transactions the proxy may hand a client connection's next one to
// another database connection, unless the session was pinned: AWS documents that it pins a client
// connection to one database connection for the rest of its life once the session holds state (most
// SET statements, user variables, temporary tables, LOCK TABLES, GET_LOCK, server-side prepared
// statements), and that a pin ends when the client connection is dropped (AWS documentation, "Avoiding
// pinning an RDS Proxy"; not checked here). So in this mode thaw itself sends nothing that holds state:
//
// - no session-tracking SET on a new connection (session-tracking.ts), hence no fleet idle limit,
//   which rides on it; no fullness read either (fleet-hygiene.ts): what it would read is a database
//   connection the proxy chose, and the proxy, not the function, holds the database's slots;
// - no COM_RESET_CONNECTION and no SET after one: where thaw would reset (state may have been left:
//   resetSession 'auto' after anything but plain reads, since nothing reports changes; 'always'
//   after every invocation), an open transaction is rolled back and the connection to the proxy is
//   closed (COM_QUIT), which ends any pin the handler's own statements caused; the next invocation
//   opens a new one to the proxy; with resetSession 'never', a default database the handler changed
//   (the server reports it by default) closes the connection too, instead of thaw's USE;
// - no DO LAST_INSERT_ID(0): LAST_INSERT_ID() belongs to whichever database connection the proxy
//   picks, so only the invocation that inserted may rely on it (as with any use of the proxy);
// - no KILL at the deadline (release.ts): the session id the handshake gave is the proxy's, and a KILL
//   sent through the proxy would run on a database connection the proxy chose, ending someone else's
//   session or none. The statement's connection to the proxy is closed instead, and the handler's
//   await fails with THAW_DB_CONNECTION_STATEMENT_OUTCOME_UNKNOWN: whether the statement went on to
//   complete on the database is not known from here.
//
// test/proxy.test.ts proves it on a private MariaDB whose general log records the application user's
// statements: not one pinning statement over new connections, would-be resets, an error and a stop;
// what that log does not show is counted (the server's Com_stmt_prepare, thaw's own resets).
import { type CoreConnection, discardConnection, quitConnection } from './mysql2-adapter.ts'
import type { DbConnectionSettings } from './options.ts'
import { statementWithin } from './session-tracking.ts'

export const behindProxy = (settings: Pick<DbConnectionSettings, 'proxy'>): boolean =>
  settings.proxy === 'transaction'

// What a stop at the deadline can say behind a proxy (release.ts's abandonConnection).
export const stopBehindProxy = {
  stopped: false,
  reason:
    "behind a proxy (proxy: 'transaction') no KILL is sent: the connection to the proxy was closed, and whether the statement completed on the database is not known",
} as const

// Where thaw would reset (release.ts): an open transaction rolled back (a ROLLBACK pins nothing), then
// the connection to the proxy closed with COM_QUIT, which ends any pin. A refused ROLLBACK (an XA
// transaction) or none in time: the connection is dropped all the same.
export const closeBehindProxy = async (
  settings: DbConnectionSettings,
  connection: CoreConnection,
  state: { inTransaction: boolean },
): Promise<void> => {
  if (
    state.inTransaction &&
    (await statementWithin(connection, 'ROLLBACK', settings.validateTimeoutMs)) !== 'done'
  ) {
    discardConnection(connection)
    return
  }
  quitConnection(connection)
}
