// Sharing one database with a fleet (issue 13): thaw gives back server slots it cannot use, and never
// touches a session that is not its own.
//
// - An idle limit on thaw's own sessions: each new connection sets its SESSION wait_timeout to
//   fleet.idleTimeoutMs (never above what the server already has), so the server itself closes the
//   session a frozen environment holds once it has been idle that long. A frozen process cannot close
//   anything; the server can. After the thaw, lease.ts sees the closed socket and opens a new
//   connection before the handler's first statement, so the handler never notices. A
//   COM_RESET_CONNECTION puts wait_timeout back to the server's default: it is set again after each.
// - Giving back while the server is crowded: each new connection reads how full the server is
//   (Threads_connected over max_connections). A connection opened at or above fleet.giveBackAbove,
//   or after the server refused a connect for too many connections, is closed (COM_QUIT) when its
//   invocation gives it back instead of being kept through the freeze; the next invocation opens a
//   new one and looks again. So a burst larger than the server's limit succeeds as long as the
//   invocations actually running fit: their slots circulate instead of sleeping in frozen
//   environments (which connectRetry's back-off then finds).
//
// Never KILL: another session of the same user may be another function's, or another application's,
// mid-work (serverless-mysql 2.1 kills sleeping sessions of its user above connUtilization).
//
// Costs nothing per warm invocation: a statement pair per new connection, a WeakSet lookup when a
// connection goes back to the pool. Checked against MariaDB 10.11 and mysql2 3.24.6.
import { connectCounters } from './connect.ts'
import { logEvent } from './log.ts'
import { afterEachReset, type CoreConnection, quitConnection } from './mysql2-adapter.ts'
import type { DbConnectionSettings } from './options.ts'
import type { PoolEntry } from './registry.ts'
import { statementOn } from './statement.ts'

// Counted here. `givenBack`: connections closed after their invocation because the server was
// crowded; `idleLimited`: connections whose session wait_timeout thaw set.
const counters = { givenBack: 0, idleLimited: 0 }
export const fleetCounters = (): Readonly<typeof counters> => counters

// MariaDB (and MySQL 5.6) keep the server's status in information_schema; MySQL 5.7+ in
// performance_schema. Readable without privileges on MariaDB 10.11 (checked here).
const fullnessQueries = [
  "SELECT @@max_connections AS max, VARIABLE_VALUE AS connected FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED'",
  "SELECT @@max_connections AS max, VARIABLE_VALUE AS connected FROM performance_schema.global_status WHERE VARIABLE_NAME = 'Threads_connected'",
]

// Connections to close when their invocation gives them back.
const crowded = new WeakSet<CoreConnection>()
const watched = new WeakSet<PoolEntry>()

// Whole seconds (wait_timeout's unit), at least 1; LEAST keeps a lower limit the server already has.
const idleLimitSql = (idleTimeoutMs: number) =>
  `SET SESSION wait_timeout = LEAST(@@session.wait_timeout, ${Math.max(1, Math.ceil(idleTimeoutMs / 1000))})`

const limitIdle = (connection: CoreConnection, sql: string) =>
  statementOn(connection, sql).then(
    () => {
      counters.idleLimited++
    },
    // A proxy that refuses the SET: the session keeps the server's limit.
    () => {},
  )

// How full the server was when `connection` opened: Threads_connected / max_connections, or
// undefined when neither query answers (a proxy, a privilege the user lacks).
const measureFullness = async (
  connection: CoreConnection,
  entry: FleetState,
): Promise<number | undefined> => {
  for (let index = entry.fullnessQuery; index < fullnessQueries.length; index++) {
    try {
      const [rows] = await statementOn(connection, fullnessQueries[index] as string)
      const row = (rows as { max: number | string; connected: number | string }[])[0]
      entry.fullnessQuery = index
      const max = Number(row?.max)
      const connected = Number(row?.connected)
      return max > 0 && Number.isFinite(connected) ? connected / max : undefined
    } catch {
      // Try the next flavour; remember the one that answers.
    }
  }
  entry.fullnessQuery = fullnessQueries.length
  return undefined
}

interface FleetState {
  fullnessQuery: number
  // connectCounters().backoffRetries when the last connection opened: a change means a connect of
  // this process was refused for too many connections since.
  refusalsSeen: number
}

// Called once per pool (the first middleware to build it decides its fleet settings).
export const watchFleet = (entry: PoolEntry, settings: DbConnectionSettings): void => {
  const { idleTimeoutMs, giveBackAbove } = settings.fleet
  if (watched.has(entry) || (idleTimeoutMs === 0 && giveBackAbove === false)) return
  watched.add(entry)
  const state: FleetState = { fullnessQuery: 0, refusalsSeen: connectCounters().backoffRetries }
  const idleSql = idleTimeoutMs > 0 ? idleLimitSql(idleTimeoutMs) : undefined
  // mysql2 emits 'connection' before it hands the new connection to the lease that opened it, so
  // these statements are queued ahead of the handler's first one (and of session tracking's SET, so
  // that SET is no change the session reports).
  entry.pool.on('connection', (opened) => {
    const connection = opened as CoreConnection
    if (idleSql) {
      void limitIdle(connection, idleSql)
      afterEachReset(connection, (reset) => void limitIdle(reset, idleSql))
    }
    if (giveBackAbove === false) return
    const refusals = connectCounters().backoffRetries
    const refused = refusals !== state.refusalsSeen
    state.refusalsSeen = refusals
    if (refused) {
      crowded.add(connection)
      return
    }
    void measureFullness(connection, state).then((fullness) => {
      if (fullness !== undefined && fullness >= giveBackAbove) crowded.add(connection)
    })
  })
  if (giveBackAbove === false) return
  entry.pool.on('release', (released) => {
    const connection = released as CoreConnection
    if (!crowded.has(connection)) return
    counters.givenBack++
    logEvent(
      settings.logger,
      entry.label,
      'debug',
      'given-back',
      'the server was crowded when this connection opened: closed after its invocation',
      undefined,
      connection.threadId,
    )
    quitConnection(connection)
  })
}
