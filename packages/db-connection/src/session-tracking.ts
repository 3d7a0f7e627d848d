// The server's own account of what a statement changed in the session: thaw asks
// each new connection's server to report session changes in every OK packet, so that state set behind
// comments, versioned comments, multi-statements, procedures or prepared statements is seen, whatever
// the statement's text looks like.
//
// Checked against MariaDB 10.11 and mysql2 3.24.6 (lib/packets/resultset_header.js). mysql2 always asks
// for CLIENT_SESSION_TRACK and parses the report into ResultSetHeader.stateChanges when the server sets
// SERVER_SESSION_STATE_CHANGED (0x4000). What the server reports is what its session_track_* variables
// ask for; by default (MariaDB 10.6+ and MySQL 8) only the schema and five system variables, so a new
// connection turns on the rest. With it on, MariaDB 10.11 flags: SET of any system variable (also inside
// /*! */ and from procedures), SET @user variables, CREATE/DROP TEMPORARY TABLE, PREPARE/DEALLOCATE,
// USE (with the new schema), LOCK TABLES. It does not flag: GET_LOCK (no tracker reports named locks),
// user variables assigned inside a SELECT (`SELECT @x := 1`, `SELECT … INTO @x`): statement.ts's text
// check keeps catching those. A result set ends with an EOF packet, whose status never carried the flag
// in those checks, so only OK packets are read.
import {
  type CoreConnection,
  clientAskedForIgnoreSpace,
  type DeadlineAnswer,
  leftUnanswered,
  noteUnanswered,
  serverCanTrackSession,
  statementWithin as statementWithDeadline,
} from './mysql2-adapter.ts'

// Per connection: true when its server reports session changes now, false when it cannot (the
// fallback applies), absent until startTracking has run on it. COM_RESET_CONNECTION puts
// session_track_* back to the server's defaults: restoreAfterReset sends the SET again. One lookup per
// lease, the only cost on a warm invocation.
const tracking = new WeakMap<CoreConnection, boolean>()
export const trackingOf = (connection: CoreConnection): boolean | undefined => tracking.get(connection)

// session_track_transaction_info is left off: it would flag every statement of every transaction,
// and a committed transaction must cost no reset (transactions are followed by SERVER_STATUS_IN_TRANS).
const trackingAssignments =
  "session_track_state_change = ON, session_track_schema = ON, session_track_system_variables = '*'"

// mysql2 connects with CLIENT_IGNORE_SPACE, so a new session has IGNORE_SPACE in its sql_mode;
// COM_RESET_CONNECTION gives the session the server's global sql_mode, without it (seen on MariaDB
// 10.11). Decided: a reset connection must behave as a new one (a handler cannot tell which it got),
// so IGNORE_SPACE goes back, in the same statement as the tracking: no extra round trip.
const ignoreSpaceAssignment = "sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'IGNORE_SPACE')"

// SET ROLE survives COM_RESET_CONNECTION on MariaDB 10.11 (set by a statement, a procedure, a trigger or
// a PREPAREd text), and MariaDB has no SET ROLE DEFAULT. A new session starts in the user's default
// role (information_schema.APPLICABLE_ROLES, IS_DEFAULT 'YES'; none: NULL, as CURRENT_ROLE() says), so
// the SET after a reset fails (sql_mode cannot be NULL) when the session is in any other role, and the
// connection is discarded: no extra round trip. When the roles agree, sql_mode is set to itself (the
// server's global value after the reset) before IGNORE_SPACE is added. MariaDB only, in a versioned
// comment: MySQL 8 names roles differently (`r`@`%`) and reads it as a comment.
const roleGuard =
  "/*M!100200 sql_mode = IF(CURRENT_ROLE() <=> (SELECT ROLE_NAME FROM information_schema.APPLICABLE_ROLES WHERE IS_DEFAULT = 'YES' LIMIT 1), @@SESSION.sql_mode, NULL), */"

// Assignments another concern adds to this SET for one connection (fleet-hygiene.ts: the session idle
// limit), so that it costs no round trip of its own, shares this deadline and silent-server memory, and
// a reset restores it with the rest. Set before the connection's first lease.
const extraAssignments = new WeakMap<CoreConnection, string>()
export const addSessionAssignment = (connection: CoreConnection, assignment: string): void => {
  extraAssignments.set(connection, assignment)
}
const withExtra = (connection: CoreConnection, assignments: string): string => {
  const extra = extraAssignments.get(connection)
  return extra ? `${assignments}, ${extra}` : assignments
}

// 'done': answered with OK; 'refused': answered with an error; 'discarded': no answer in time.
export type Answer = 'done' | 'refused' | 'discarded'

const answerOf = (answer: DeadlineAnswer): Answer =>
  answer.kind === 'rows' ? 'done' : answer.kind === 'refused' ? 'refused' : 'discarded'

// mysql2-adapter.ts's statementWithin, answered as this module's callers read it.
export const statementWithin = async (
  connection: CoreConnection,
  sql: string,
  timeoutMs: number,
): Promise<Answer> => answerOf(await statementWithDeadline(connection, sql, timeoutMs))

// A new connection: one SET, once per connection, before its first statement (mysql2 runs a
// connection's commands one after another, so queued or awaited it is one round trip; never on a warm
// invocation). Skipped when the server's handshake does not offer CLIENT_SESSION_TRACK: nothing would
// be reported, and the caller falls back to resetting after anything but plain reads; so behind a
// proxy (proxy.ts). A refused SET
// (a proxy, an old server) falls back the same way. 'discarded': no answer within timeoutMs.
export const startTracking = async (
  connection: CoreConnection,
  pool: object,
  timeoutMs: number,
  // proxy.ts: behind a proxy the SET would pin the session, so none is sent.
  proxied = false,
): Promise<Answer> => {
  if (proxied || !serverCanTrackSession(connection) || leftUnanswered(pool, 'session-tracking')) {
    tracking.set(connection, false)
    return 'refused'
  }
  const answer = await statementWithin(
    connection,
    `SET SESSION ${withExtra(connection, trackingAssignments)}`,
    timeoutMs,
  )
  if (answer === 'discarded') noteUnanswered(pool, 'session-tracking')
  else tracking.set(connection, answer === 'done')
  return answer
}

// Back to the configured default database. Without one, a session cannot go back to having none: false.
const useConfiguredDatabase = async (connection: CoreConnection, timeoutMs: number): Promise<boolean> => {
  const database = (connection.config as { database?: string }).database
  if (!database) return false
  return (await statementWithin(connection, `USE ${connection.escapeId(database)}`, timeoutMs)) === 'done'
}

// After COM_RESET_CONNECTION: mysql2's character set back to the configured one, the session's
// tracking and mysql2's IGNORE_SPACE back and the role checked in one statement, and the configured
// default database back (a reset keeps the one chosen with USE) when the server said it changed.
// Resolves false when the connection cannot be trusted any more (the caller discards it).
export const restoreAfterReset = async (
  connection: CoreConnection,
  schemaChanged: boolean,
  timeoutMs: number,
  charsetNumber: unknown,
): Promise<boolean> => {
  // A server that refused the tracking SET once is not asked again (it would refuse the role check with it).
  const wasTracked = tracking.get(connection) === true
  tracking.set(connection, false)
  // mysql2 3.24.6 follows a tracked change of character_set_client into its copy of the config
  // (lib/packets/resultset_header.js) and encodes every later statement in it; the reset gives the
  // server the handshake's character set back without a word to mysql2. Without this, after `SET NAMES
  // latin1` every later invocation sent 'José' as latin1 bytes (found no rows) and 'Zoë' failed.
  if (typeof charsetNumber === 'number') {
    ;(connection.config as { charsetNumber?: number }).charsetNumber = charsetNumber
  }
  if (schemaChanged && !(await useConfiguredDatabase(connection, timeoutMs))) return false
  const parts: string[] = []
  const canTrack = wasTracked && serverCanTrackSession(connection)
  if (canTrack) parts.push(withExtra(connection, trackingAssignments))
  if (clientAskedForIgnoreSpace(connection)) parts.push(ignoreSpaceAssignment)
  // A server with neither (no CLIENT_SESSION_TRACK: MariaDB before 10.2) gets no SET, hence no role check.
  if (parts.length === 0) return true
  const answer = await statementWithin(connection, `SET SESSION ${roleGuard} ${parts.join(', ')}`, timeoutMs)
  // Refused: the session is in another role than a new one's (or the server now refuses what it
  // accepted before): not a session a new connection would have.
  if (answer !== 'done') return false
  if (canTrack) tracking.set(connection, true)
  return true
}

// resetSession 'auto' after an invocation whose only trace is a generated id: LAST_INSERT_ID() back to
// a new session's 0 in one statement, cheaper than a reset and the SET after it. False: refused or no
// answer in time (the caller discards the connection).
export const forgetInsertId = async (connection: CoreConnection, timeoutMs: number): Promise<boolean> =>
  (await statementWithin(connection, 'DO LAST_INSERT_ID(0)', timeoutMs)) === 'done'

// resetSession 'never' keeps the session as the handler left it, except what would break the next
// invocation outright: another default database is put back (false: it cannot be; discard).
export const restoreDatabase = useConfiguredDatabase
