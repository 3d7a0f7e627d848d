// Giving a connection back after its invocation: released as it is, reset, rolled back, discarded
// when dead, or abandoned (and its server thread KILLed) when a statement is still running on it.
import { logEvent } from './log.ts'
import {
  type CoreConnection,
  connectionTemplate,
  discardConnection,
  endConnection,
  isConnectionDead,
  leaseFromPool,
  mayOpenConnection,
  openConnectionLike,
  resetWithin,
  takeIdleConnectionOf,
} from './mysql2-adapter.ts'
import type { DbConnectionSettings } from './options.ts'
import { behindProxy, closeBehindProxy, stopBehindProxy } from './proxy.ts'
import type { PoolEntry } from './registry.ts'
import { forgetInsertId, restoreAfterReset, restoreDatabase, statementWithin } from './session-tracking.ts'
import { statementOn } from './statement.ts'

// Counted here, read by stats.ts. `errors`: failed resets and rollbacks.
const counters = { resets: 0, abandoned: 0, errors: 0 }
export const releaseCounters = (): Readonly<typeof counters> => counters

// What the invocation knows about the session it leaves.
export interface SessionState {
  // Something may have changed the session (variables, temporary tables, locks, …).
  stateLeaked: boolean
  // The last OK packet said a transaction is open.
  inTransaction: boolean
  // The server reported another default database (USE, also inside a procedure or a comment).
  schemaChanged: boolean
  // An OK packet carried an insert id: LAST_INSERT_ID() may return it.
  insertIdSet: boolean
}

const noop = () => {}

// after/onError: nothing stays leased, no transaction stays open, no lock stays held.
export const releaseAfterInvocation = (
  entry: PoolEntry,
  settings: DbConnectionSettings,
  connection: CoreConnection,
  state: SessionState,
): Promise<void> | undefined => {
  if (isConnectionDead(connection)) {
    discardConnection(connection)
    return undefined
  }
  const policy = settings.resetSession
  const dirty = state.stateLeaked || state.inTransaction
  if (policy === 'always' || (policy === 'auto' && dirty)) {
    if (behindProxy(settings)) return closeBehindProxy(settings, connection, state)
    return resetAndRelease(entry, settings, connection, state)
  }
  if (policy === 'never' && (state.inTransaction || state.schemaChanged)) {
    // Behind a proxy, not a USE of thaw's own: the connection to the proxy is closed (proxy.ts).
    if (state.schemaChanged && behindProxy(settings)) return closeBehindProxy(settings, connection, state)
    return rollbackAndRelease(entry, settings, connection, state)
  }
  if (policy === 'auto' && state.insertIdSet && !behindProxy(settings))
    return forgetInsertIdAndRelease(settings, connection)
  connection.release()
  return undefined
}

const resetAndRelease = async (
  entry: PoolEntry,
  settings: DbConnectionSettings,
  connection: CoreConnection,
  state: SessionState,
) => {
  counters.resets++
  const timeoutMs = settings.validateTimeoutMs
  // A transaction left open is rolled back before the reset (which would do it too) so that one no
  // reset can end is found: MariaDB 10.11 refuses ROLLBACK (XAER_RMFAIL) while an XA transaction is
  // ACTIVE, IDLE or PREPARED, and after COM_RESET_CONNECTION a PREPARED one that had written left the
  // session refusing every write and NEXTVAL ("… doesn't have this option"), which a new connection
  // would not. Such a connection is discarded (a PREPARED XA transaction then waits in XA RECOVER, as
  // after any disconnect: it is the application's to commit or roll back).
  if (state.inTransaction) {
    const answer = await statementWithin(connection, 'ROLLBACK', timeoutMs)
    if (answer !== 'done') return cleanUpFailed(entry, settings, connection, 'ROLLBACK', answer)
  }
  const answer = await resetWithin(connection, timeoutMs)
  if (answer === 'rows') {
    // A reset keeps the database chosen with USE and the role, switches the server's session tracking
    // off, drops mysql2's IGNORE_SPACE and leaves mysql2 encoding in the character set it last
    // followed: all put back (or the role found changed) before anyone else gets the connection.
    const charset = connectionTemplate(entry.pool).charsetNumber
    if (await restoreAfterReset(connection, state.schemaChanged, timeoutMs, charset)) {
      connection.release()
      return
    }
    counters.errors++
    discardConnection(connection)
    return
  }
  cleanUpFailed(entry, settings, connection, 'COM_RESET_CONNECTION', answer)
}

// A clean-up statement that did not do its work: the connection is discarded, and the log says what
// the server did with the statement (refused it, or gave no answer within validateTimeoutMs).
const cleanUpFailed = (
  entry: PoolEntry,
  settings: DbConnectionSettings,
  connection: CoreConnection,
  statement: 'ROLLBACK' | 'COM_RESET_CONNECTION',
  answer: 'refused' | 'discarded' | 'lost',
) => {
  counters.errors++
  logEvent(
    settings.logger,
    entry.label,
    statement === 'ROLLBACK' ? 'rollback-failed' : 'reset-failed',
    answer === 'refused'
      ? `${statement} was refused by the server; connection discarded`
      : `${statement} got no answer within ${settings.validateTimeoutMs} ms; connection discarded`,
    undefined,
    connection.threadId,
  )
  discardConnection(connection)
}

// resetSession 'auto', nothing but a generated id left: LAST_INSERT_ID() forgotten, no reset.
const forgetInsertIdAndRelease = async (settings: DbConnectionSettings, connection: CoreConnection) => {
  if (await forgetInsertId(connection, settings.validateTimeoutMs)) {
    connection.release()
    return
  }
  counters.errors++
  discardConnection(connection)
}

// resetSession 'never': only what would break the next invocation outright is undone: a transaction
// left open, another default database.
const rollbackAndRelease = async (
  entry: PoolEntry,
  settings: DbConnectionSettings,
  connection: CoreConnection,
  state: SessionState,
) => {
  if (state.inTransaction) {
    // Within validateTimeoutMs, as every statement of the release: a server that stopped answering
    // must not hold the invocation's end until the function's timeout.
    const answer = await statementWithin(connection, 'ROLLBACK', settings.validateTimeoutMs)
    if (answer !== 'done') return cleanUpFailed(entry, settings, connection, 'ROLLBACK', answer)
  }
  if (state.schemaChanged && !(await restoreDatabase(connection, settings.validateTimeoutMs))) {
    // The configured database could not be chosen again.
    counters.errors++
    discardConnection(connection)
    return
  }
  connection.release()
}

// What became of a statement thaw had to stop: `stopped` only when the server was seen without its
// session after the KILL; otherwise why that could not be established. The handler's error says only
// this (session.ts): a statement that may still run must never be reported as stopped, since a caller
// that retries it would write twice.
export type StopOutcome = { stopped: true } | { stopped: false; reason: string }

const ER_NO_SUCH_THREAD = 1094
// The server or the user is at its connection limit (1040, 1203, 1226): a connect for the KILL may get
// a slot a moment later, within the budget.
const tooManyConnections = new Set([1040, 1203, 1226])
const retryDelayMs = 10

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const codeOf = (error: unknown): string => {
  const { code, errno } = (error ?? {}) as { code?: string; errno?: number }
  return code ?? (errno !== undefined ? `errno ${errno}` : 'an error without a code')
}

// A connection to send the KILL from, as the victim's own user (a user may KILL its own sessions
// without privileges; after an alternating-users rotation the pool's template names the other user,
// whose KILL the server would refuse): an idle pool connection of that user first (no connect, so it
// works with the server or the user at its limit); else a pool lease when the template still names the
// user (the new connection then stays in the pool); else a connection opened like the victim's. A
// refusal for too many connections is retried until the budget ends. Rejects with the last error.
const killerFor = async (
  entry: PoolEntry,
  victim: CoreConnection,
  until: number,
): Promise<{ connection: CoreConnection; pooled: boolean }> => {
  const user = (victim.config as { user?: unknown }).user
  // The last refusal for too many connections: when the attempt after it runs out of time, that refusal
  // is why no connection could be had.
  let refused: unknown
  for (;;) {
    const idle = takeIdleConnectionOf(entry.pool, user)
    if (idle) return { connection: idle, pooled: true }
    const timeoutMs = Math.max(1, until - Date.now())
    const pooled =
      connectionTemplate(entry.pool).user === user &&
      mayOpenConnection(entry.pool, entry.poolOptions.connectionLimit ?? 1)
    try {
      if (pooled) {
        // The template's connectTimeout was capped by some earlier invocation's deadline: this connect
        // has its own.
        connectionTemplate(entry.pool).connectTimeout = timeoutMs
        const connection = await withinMs(leaseFromPool(entry.pool), until, (late) => late.release())
        entry.fresh.delete(connection)
        return { connection, pooled: true }
      }
      return {
        connection: await withinMs(openConnectionLike(victim, timeoutMs), until, endConnection),
        pooled: false,
      }
    } catch (error) {
      const { errno, code } = error as { errno?: number; code?: string }
      const full = errno !== undefined && tooManyConnections.has(errno)
      if (!full && refused !== undefined && (error instanceof OutOfTime || code === 'ETIMEDOUT'))
        throw refused
      if (!full || Date.now() + retryDelayMs >= until) throw error
      refused = error
      await sleep(retryDelayMs)
    }
  }
}

class OutOfTime extends Error {
  override name = 'OutOfTime'
}

// `promise`, or a rejection with OutOfTime at `until`; what arrives later goes to `late`.
const withinMs = <T>(promise: Promise<T>, until: number, late: (value: T) => void): Promise<T> =>
  new Promise((resolve, reject) => {
    let expired = false
    const timer = setTimeout(
      () => {
        expired = true
        reject(new OutOfTime())
      },
      Math.max(0, until - Date.now()),
    )
    promise.then(
      (value) => {
        if (expired) late(value)
        else {
          clearTimeout(timer)
          resolve(value)
        }
      },
      (error) => {
        if (expired) return
        clearTimeout(timer)
        reject(error)
      },
    )
  })

// The KILL, then the process list until the session has left it.
// `usable`: the killer answered every statement, so it can serve again.
const killAndConfirm = async (
  killer: CoreConnection,
  threadId: number,
  until: number,
): Promise<{ outcome: StopOutcome; usable: boolean }> => {
  const confirmed = await confirmKill(killer, threadId, until)
  return { outcome: confirmed === lateAnswer ? late : confirmed, usable: confirmed !== lateAnswer }
}

const lateAnswer = Symbol('late')
const late: StopOutcome = { stopped: false, reason: 'the server did not answer in time' }

const confirmKill = async (
  killer: CoreConnection,
  threadId: number,
  until: number,
): Promise<StopOutcome | typeof lateAnswer> => {
  // What the session was doing just before the KILL: a statement that had already finished (its answer
  // lost with the closed socket) may have committed, and one whose session had already gone cannot be
  // said to have been stopped by it. Only a session still running a command is stopped by the KILL.
  let before: string | undefined
  try {
    const [rows] = await withinMs(
      statementOn(killer, 'SELECT COMMAND AS command FROM information_schema.PROCESSLIST WHERE ID = ?', [
        threadId,
      ]),
      until,
      noop,
    )
    before = (rows as { command?: string }[])[0]?.command ?? 'gone'
  } catch (error) {
    if (error instanceof OutOfTime) return lateAnswer
    return { stopped: false, reason: `reading the process list failed (${codeOf(error)})` }
  }
  if (before === 'gone') {
    return {
      stopped: false,
      reason:
        'its session had already left the server before the KILL, so whether the statement completed is not known',
    }
  }
  try {
    await withinMs(statementOn(killer, 'KILL ?', [threadId]), until, noop)
  } catch (error) {
    if (error instanceof OutOfTime) return lateAnswer
    // Already gone, which is what was wanted (checked below all the same).
    if ((error as { errno?: number }).errno !== ER_NO_SUCH_THREAD) {
      return { stopped: false, reason: `the server refused the KILL (${codeOf(error)})` }
    }
  }
  for (;;) {
    let present: boolean
    try {
      const [rows] = await withinMs(
        statementOn(killer, 'SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ?', [threadId]),
        until,
        noop,
      )
      present = (rows as unknown[]).length > 0
    } catch (error) {
      if (error instanceof OutOfTime) return lateAnswer
      return {
        stopped: false,
        reason: `the KILL was sent, but reading the process list failed (${codeOf(error)})`,
      }
    }
    if (!present) {
      return before === 'Sleep'
        ? {
            stopped: false,
            reason:
              'the statement had already finished on the server before the KILL (its answer was lost with the connection)',
          }
        : { stopped: true }
    }
    if (Date.now() + retryDelayMs >= until) {
      return {
        stopped: false,
        reason: 'the KILL was sent, but the session was still on the server when time ran out',
      }
    }
    await sleep(retryDelayMs)
  }
}

// A statement is still running when it must not be (the invocation's deadline is near, or no deadline
// is known and the invocation ended): the connection cannot be handed to anyone. It is closed, and its
// server-side session ended with KILL so the statement stops and its transaction and locks go now, not
// when the server notices the closed socket (a running statement seldom looks: on MariaDB 10.11 a SLEEP
// checks every 5 s, a BENCHMARK or a long scan never). Settles by `until` with what is known: the caller
// awaits it before the invocation ends, since a frozen environment sends nothing.
export const abandonConnection = async (
  entry: PoolEntry,
  settings: DbConnectionSettings,
  connection: CoreConnection,
  until: number,
): Promise<StopOutcome> => {
  counters.abandoned++
  const threadId = connection.threadId
  discardConnection(connection)
  const outcome = behindProxy(settings) ? stopBehindProxy : await killSession(entry, connection, until)
  // Logged once the outcome is known: "KILLed" only when the server no longer shows the session.
  logEvent(
    settings.logger,
    entry.label,
    'abandoned',
    behindProxy(settings)
      ? 'a statement was still running when it had to end: its connection to the proxy is closed'
      : outcome.stopped
        ? 'a statement was still running when it had to end: its connection is closed and its session KILLed'
        : `a statement was still running when it had to end: its connection is closed; whether it stopped is not known (${outcome.reason})`,
    undefined,
    threadId,
  )
  return outcome
}

// The KILL of an abandoned connection's session, from a connection of the same user.
const killSession = async (
  entry: PoolEntry,
  connection: CoreConnection,
  until: number,
): Promise<StopOutcome> => {
  const threadId = connection.threadId
  if (threadId === null) return { stopped: false, reason: 'the connection never learned its session id' }
  let killer: { connection: CoreConnection; pooled: boolean }
  try {
    killer = await killerFor(entry, connection, until)
  } catch (error) {
    return {
      stopped: false,
      reason:
        error instanceof OutOfTime
          ? 'no connection for the KILL could be opened in time'
          : `no connection for the KILL could be opened (${codeOf(error)})`,
    }
  }
  const { outcome, usable } = await killAndConfirm(killer.connection, threadId, until)
  if (!killer.pooled) endConnection(killer.connection)
  else if (usable && !isConnectionDead(killer.connection)) killer.connection.release()
  else discardConnection(killer.connection)
  return outcome
}
