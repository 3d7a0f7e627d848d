// Sharing one database with a fleet: thaw gives back server slots it cannot use, and never
// touches a session that is not its own.
//
// - An idle limit on thaw's own sessions: each new connection's SESSION wait_timeout becomes
//   fleet.idleTimeoutMs (never above what the server already has), so the server itself closes the
//   session a frozen environment holds once it has been idle that long. A frozen process cannot close
//   anything; the server can. After the thaw, lease.ts sees the closed socket and opens a new
//   connection before the handler's first statement, so the handler never notices. The assignment
//   rides on session-tracking.ts's SET: no round trip of its own, and restored with it after a
//   COM_RESET_CONNECTION (which puts wait_timeout back to the server's). A server whose handshake does
//   not offer CLIENT_SESSION_TRACK (older than MySQL 5.7 or MariaDB 10.2, or a proxy hiding it) gets
//   no SET at all, so no idle limit either.
// - Giving back while the server is crowded: each new connection reads how full the server is
//   (Threads_connected over max_connections) and how full its own user is (the user's sessions over
//   the limit that applies to it, see fullnessOf below). A connection opened at or above
//   fleet.giveBackAbove of either, or after the server refused a connect for too many connections
//   (1040, 1203, or 1226 for a user at its MAX_USER_CONNECTIONS), is closed (COM_QUIT) when its
//   invocation gives it back instead of being kept through the freeze; the next invocation opens a
//   new one and looks again. So a burst larger than the limit succeeds as long as the invocations
//   actually running fit: their slots circulate instead of sleeping in frozen environments (which
//   connectRetry's back-off then finds).
//
// Never KILL: another session of the same user may be another function's, or another application's,
// mid-work (serverless-mysql 2.1 kills sleeping sessions of its user above connUtilization).
//
// Costs nothing per warm invocation: one assignment and one SELECT per new connection, a WeakSet
// lookup when a connection goes back to the pool. Checked against MariaDB 10.11 and mysql2 3.24.6.
import { logEvent } from './log.ts'
import {
  type CoreConnection,
  leftUnanswered,
  noteUnanswered,
  quitConnection,
  statementWithin,
} from './mysql2-adapter.ts'
import type { DbConnectionSettings } from './options.ts'
import { behindProxy } from './proxy.ts'
import type { PoolEntry } from './registry.ts'
import { addSessionAssignment } from './session-tracking.ts'

// Counted here. `givenBack`: connections closed after their invocation because the server was
// crowded.
const counters = { givenBack: 0 }
export const fleetCounters = (): Readonly<typeof counters> => counters

// The limit on thaw's own user rides on the same read. @@SESSION.max_user_connections is the limit
// that applies to this session's account: its own MAX_USER_CONNECTIONS where it has one, else the
// server's max_user_connections, 0 for none (checked here on MariaDB 10.11: 8 for a user created WITH
// MAX_USER_CONNECTIONS 8 while the global value is 0; 5 for a user without one under a global 5; 9 for
// one WITH 9 under a global 5; MySQL documents the same session value). It says
// what SHOW GRANTS would, without a second round trip and without reading the account's password hash,
// which SHOW GRANTS prints. The user's sessions: a user without PROCESS sees only its own threads in
// the process list, one with it sees everyone's, hence the filter on the name it logged in with (the
// limit counts per account: two accounts of one name on different hosts are counted together here,
// which only makes thaw give back sooner).
const userColumns =
  "@@SESSION.max_user_connections AS userMax, (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = SUBSTRING_INDEX(USER(), '@', 1)) AS mine"
// MariaDB (and MySQL 5.6) keep the server's status in information_schema; MySQL 5.7+ in
// performance_schema. Readable without privileges on MariaDB 10.11 (checked here). The last reads the
// server's fullness alone, for a server that refuses the user's columns.
const fullnessQueries = [
  `SELECT @@max_connections AS max, VARIABLE_VALUE AS connected, ${userColumns} FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED'`,
  `SELECT @@max_connections AS max, VARIABLE_VALUE AS connected, ${userColumns} FROM performance_schema.global_status WHERE VARIABLE_NAME = 'Threads_connected'`,
  "SELECT @@max_connections AS max, VARIABLE_VALUE AS connected FROM performance_schema.global_status WHERE VARIABLE_NAME = 'Threads_connected'",
]

interface FullnessRow {
  max: number | string
  connected: number | string
  userMax?: number | string
  mine?: number | string
}

// The fuller of the two: the server (connected of max_connections) and the user (its sessions of the
// limit that applies to it; none when that is 0, or -1, MariaDB's "no connections without SUPER").
const fullnessOf = (row: FullnessRow): number | undefined => {
  const max = Number(row.max)
  const connected = Number(row.connected)
  const server = max > 0 && Number.isFinite(connected) ? connected / max : undefined
  const userMax = Number(row.userMax)
  const mine = Number(row.mine)
  const user = userMax > 0 && Number.isFinite(mine) ? mine / userMax : undefined
  if (server === undefined) return user
  return user === undefined ? server : Math.max(server, user)
}

// Connections to close when their invocation gives them back; connections already prepared.
const crowded = new WeakSet<CoreConnection>()
const prepared = new WeakSet<CoreConnection>()
const watched = new WeakSet<PoolEntry>()
// Whole seconds (wait_timeout's unit), at least 1; LEAST keeps a lower limit the server already has.
const idleLimitAssignment = (idleTimeoutMs: number) =>
  `wait_timeout = LEAST(@@session.wait_timeout, ${Math.max(1, Math.ceil(idleTimeoutMs / 1000))})`

interface FleetState {
  fullnessQuery: number
  // A connect of this pool was refused for too many connections since the last connection was
  // prepared: the next one goes back after its invocation without asking the server how full it is.
  refusedForTooMany: boolean
}
const states = new WeakMap<PoolEntry, FleetState>()
const stateOf = (entry: PoolEntry): FleetState => {
  let state = states.get(entry)
  if (!state) {
    state = { fullnessQuery: 0, refusedForTooMany: false }
    states.set(entry, state)
  }
  return state
}

// connect.ts's back-off calls this when the server refused a connect of this pool for too many
// connections (1040, 1203, 1226).
export const noteRefusedForTooMany = (entry: PoolEntry): void => {
  stateOf(entry).refusedForTooMany = true
}

// How full the server or the user was when the connection opened (fullnessOf), undefined when no
// query answers with numbers (a proxy, a privilege the user lacks), false when the server
// did not answer at all.
const measureFullness = async (
  connection: CoreConnection,
  state: FleetState,
  timeoutMs: number,
): Promise<number | undefined | false> => {
  for (let index = state.fullnessQuery; index < fullnessQueries.length; index++) {
    const answer = await statementWithin(connection, fullnessQueries[index] as string, timeoutMs)
    if (answer.kind === 'lost') return false
    // Refused (a table the server lacks, a privilege): the next query is tried.
    const row = answer.kind === 'rows' ? (answer.rows as FullnessRow[])[0] : undefined
    if (!row) continue
    state.fullnessQuery = index
    return fullnessOf(row)
  }
  state.fullnessQuery = fullnessQueries.length
  return undefined
}

// A new connection, before its first statement (lease.ts): the server's fullness read to decide
// whether it goes back after its invocation. One round trip per new connection, never on a warm
// invocation. False: the server did not answer within validateTimeoutMs and the connection was
// discarded; the caller takes another.
export const fleetReady = async (
  entry: PoolEntry,
  settings: DbConnectionSettings,
  connection: CoreConnection,
): Promise<boolean> => {
  const { giveBackAbove } = settings.fleet
  if (
    giveBackAbove === false ||
    behindProxy(settings) ||
    prepared.has(connection) ||
    leftUnanswered(entry.pool, 'fleet')
  )
    return true
  prepared.add(connection)
  const state = stateOf(entry)
  if (state.refusedForTooMany) {
    state.refusedForTooMany = false
    crowded.add(connection)
    return true
  }
  const fullness = await measureFullness(connection, state, settings.validateTimeoutMs)
  if (fullness === false) {
    noteUnanswered(entry.pool, 'fleet')
    return false
  }
  if (fullness !== undefined && fullness >= giveBackAbove) crowded.add(connection)
  return true
}

// Called once per pool when a middleware is built (the first middleware to build it decides its fleet
// settings): a crowded connection goes back to the server when its invocation gives it back.
export const watchFleet = (entry: PoolEntry, settings: DbConnectionSettings): void => {
  const { idleTimeoutMs, giveBackAbove } = settings.fleet
  // Behind a proxy the proxy holds the database's slots, and the idle limit would pin (proxy.ts).
  if (watched.has(entry) || behindProxy(settings)) return
  watched.add(entry)
  if (idleTimeoutMs > 0) {
    // mysql2 emits 'connection' before it hands the new connection to the lease that opened it: the
    // idle limit joins session-tracking.ts's SET (one round trip, its deadline, restored after a reset).
    const assignment = idleLimitAssignment(idleTimeoutMs)
    entry.pool.on('connection', (opened) => addSessionAssignment(opened as CoreConnection, assignment))
  }
  if (giveBackAbove === false) return
  entry.pool.on('release', (released) => {
    const connection = released as CoreConnection
    if (!crowded.has(connection)) return
    counters.givenBack++
    logEvent(
      settings.logger,
      entry.label,
      'given-back',
      'the server was crowded when this connection opened: closed after its invocation',
      undefined,
      connection.threadId,
    )
    quitConnection(connection)
  })
}
