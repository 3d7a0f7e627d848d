// Giving a connection back after its invocation: released as it is, reset, rolled back, discarded
// when dead, or abandoned (and its server thread KILLed) when a statement is still running on it.
import { logEvent } from './log.ts'
import {
  type CoreConnection,
  connectionTemplate,
  discardConnection,
  isConnectionDead,
  leaseFromPool,
  resetWithin,
} from './mysql2-adapter.ts'
import type { DbConnectionSettings } from './options.ts'
import type { PoolEntry } from './registry.ts'
import { forgetInsertId, restoreAfterReset, restoreDatabase, statementWithin } from './session-tracking.ts'
import { statementOn } from './statement.ts'

// Counted here, read by stats.ts. `errors`: failed resets and rollbacks.
const counters = { resets: 0, abandoned: 0, errors: 0 }
export const releaseCounters = (): Readonly<typeof counters> => counters

// What the invocation knows about the session it leaves.
export interface SessionState {
  // Statements sent and not answered yet.
  inFlight: number
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
  if (state.inFlight > 0) return abandonConnection(entry, settings, connection)
  if (isConnectionDead(connection)) {
    discardConnection(connection)
    return undefined
  }
  const policy = settings.resetSession
  const dirty = state.stateLeaked || state.inTransaction
  if (policy === 'always' || (policy === 'auto' && dirty)) {
    return resetAndRelease(entry, settings, connection, state)
  }
  if (policy === 'never' && (state.inTransaction || state.schemaChanged)) {
    return rollbackAndRelease(settings, connection, state)
  }
  if (policy === 'auto' && state.insertIdSet) return forgetInsertIdAndRelease(settings, connection)
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
  if (state.inTransaction && (await statementWithin(connection, 'ROLLBACK', timeoutMs)) !== 'done') {
    counters.errors++
    discardConnection(connection)
    return
  }
  if (await resetWithin(connection, timeoutMs)) {
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
  counters.errors++
  logEvent(
    settings.logger,
    entry.label,
    'warn',
    'reset-failed',
    'COM_RESET_CONNECTION failed; connection discarded',
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
  settings: DbConnectionSettings,
  connection: CoreConnection,
  state: SessionState,
) => {
  try {
    if (state.inTransaction) await statementOn(connection, 'ROLLBACK')
    if (state.schemaChanged && !(await restoreDatabase(connection, settings.validateTimeoutMs))) {
      throw new Error('the configured database could not be chosen again')
    }
    connection.release()
  } catch {
    counters.errors++
    discardConnection(connection)
  }
}

// A statement is still running (the invocation's deadline is near, Middy's early timeout fired
// mid-query, or the handler did not await it): the connection cannot be handed to anyone. Close it, and
// end its server-side session with KILL so the statement stops and its transaction and locks go now,
// not when the server notices the closed socket (a running statement seldom looks: on MariaDB 10.11 a
// SLEEP checks every 5 s, a BENCHMARK or a long scan never). The KILL goes
// through a new pool connection, which then stays in the pool for the next invocation. Settles once the
// KILL has been answered or validateTimeoutMs has passed: the caller awaits it before the invocation
// ends, since a frozen environment sends nothing.
export const abandonConnection = async (
  entry: PoolEntry,
  settings: DbConnectionSettings,
  connection: CoreConnection,
): Promise<void> => {
  counters.abandoned++
  const threadId = connection.threadId
  logEvent(
    settings.logger,
    entry.label,
    'warn',
    'abandoned',
    'a statement was still running when the invocation ended',
    undefined,
    threadId,
  )
  discardConnection(connection)
  if (threadId === null) return
  const { pool } = entry
  const deadline = settings.validateTimeoutMs
  let timedOut = false
  // The template's connectTimeout was capped by some earlier invocation's deadline: this connect has
  // its own. (Credentials stay those of the last connect, which the abandoned connection used.)
  connectionTemplate(pool).connectTimeout = deadline
  const killer = leaseFromPool(pool)
  let clock: NodeJS.Timeout | undefined
  const timer = new Promise<undefined>((resolve) => {
    clock = setTimeout(() => {
      timedOut = true
      resolve(undefined)
    }, deadline)
  })
  const other = await Promise.race([killer.catch(() => undefined), timer])
  if (!other) {
    clearTimeout(clock)
    // Too late or refused: when it comes, it goes straight back to the pool.
    killer.then((late) => late.release(), noop)
    return
  }
  entry.fresh.delete(other)
  try {
    await Promise.race([statementOn(other, 'KILL ?', [threadId]), timer])
    if (timedOut) discardConnection(other)
    else other.release()
  } catch (error) {
    // ER_NO_SUCH_THREAD: it is already gone, which is what was wanted.
    if ((error as { errno?: number }).errno === 1094) other.release()
    else discardConnection(other)
  } finally {
    clearTimeout(clock)
  }
}
