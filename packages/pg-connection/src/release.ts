// Giving a client back after its invocation: as it is, rolled back (a transaction left open, seen in
// the last ReadyForQuery), reset (DISCARD ALL, and pg's memory of prepared statements with it),
// discarded when dead, or given up (socket closed) when a statement on it may still run after a stop the server did not confirm.
import { logEvent } from '@thaw/db-core'
import type pg from 'pg'
import { idleLimitToRestore } from './fleet.ts'
import type { PgConnectionSettings } from './options.ts'
import {
  clientState,
  forgetPreparedStatements,
  isClientDead,
  isServerAnswer,
  processIdOf,
  transactionStatus,
} from './pg-adapter.ts'
import type { PgPool } from './registry.ts'

// Counted here, read by stats.ts. `errors`: failed rollbacks and resets.
const counters = { resets: 0, rollbacks: 0, abandoned: 0, errors: 0 }
export const releaseCounters = (): Readonly<typeof counters> => counters

// A statement with a deadline: 'answered'; 'refused' (the server answered with an error: a SQLSTATE);
// 'lost' (no answer within timeoutMs, or the connection ended first).
type Outcome = 'answered' | 'refused' | 'lost'
const runWithin = async (
  client: pg.Client,
  text: string,
  timeoutMs: number,
  values?: unknown[],
): Promise<Outcome> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'lost'>((resolve) => {
    timer = setTimeout(() => resolve('lost'), timeoutMs)
  })
  try {
    return await Promise.race([
      client.query(text, values).then(
        () => 'answered' as const,
        (error: unknown) => (isServerAnswer(error) ? 'refused' : 'lost'),
      ),
      late,
    ])
  } finally {
    clearTimeout(timer)
  }
}

// What the log says of a statement of the release that did not do its work: only what is known.
const failure = (text: string, outcome: Outcome, timeoutMs: number): string =>
  outcome === 'refused'
    ? `${text} was refused by the server; connection discarded`
    : outcome === 'lost'
      ? `${text} got no answer within ${timeoutMs} ms; connection discarded`
      : `${text} left a transaction open; connection discarded`

// after/onError: nothing stays leased, no transaction stays open, no session state reaches the next
// invocation (unless resetSession says otherwise). The common case (idle, nothing to reset) gives the
// client back at once and returns nothing to await; the rest returns the cleanup's promise.
export const releaseAfterInvocation = (
  pool: PgPool,
  settings: PgConnectionSettings,
  client: pg.Client,
  stateLeaked: boolean,
): Promise<void> | undefined => {
  if (isClientDead(client)) {
    pool.discard(client)
    return undefined
  }
  const open = transactionStatus(client) !== 'I'
  const policy = settings.resetSession
  // Behind a transaction pooler the session is not thaw's to reset: the next transaction may run on
  // another server connection, and DISCARD ALL would reach whichever one this is.
  const reset =
    settings.proxy === 'none' &&
    (policy === 'always' || (policy === 'auto' && (stateLeaked || clientState(client).settingsChanged)))
  if (!open && !reset) {
    pool.release(client)
    return undefined
  }
  return cleanAndRelease(pool, settings, client, open, reset)
}

const cleanAndRelease = async (
  pool: PgPool,
  settings: PgConnectionSettings,
  client: pg.Client,
  open: boolean,
  reset: boolean,
): Promise<void> => {
  const timeoutMs = settings.validateTimeoutMs
  // DISCARD ALL cannot run inside a transaction block: the transaction goes first.
  if (open) {
    counters.rollbacks++
    const outcome = await runWithin(client, 'ROLLBACK', timeoutMs)
    if (outcome !== 'answered' || transactionStatus(client) !== 'I') {
      fail(pool, settings, client, 'rollback-failed', failure('ROLLBACK', outcome, timeoutMs))
      return
    }
  }
  if (reset) {
    counters.resets++
    const outcome = await runWithin(client, 'DISCARD ALL', timeoutMs)
    // Whatever the server answered, pg's memory of prepared statements must not outlive them.
    forgetPreparedStatements(client)
    if (outcome !== 'answered') {
      fail(pool, settings, client, 'reset-failed', failure('DISCARD ALL', outcome, timeoutMs))
      return
    }
    // The fleet's idle limit, where it was set on this session rather than given at its start.
    const idleLimit = idleLimitToRestore(client)
    if (idleLimit !== undefined) {
      const again = await runWithin(
        client,
        "SELECT set_config('idle_session_timeout', $1, false)",
        timeoutMs,
        [idleLimit],
      )
      if (again !== 'answered') {
        fail(pool, settings, client, 'reset-failed', failure('the idle limit', again, timeoutMs))
        return
      }
    }
    clientState(client).settingsChanged = false
  }
  pool.release(client)
}

const fail = (
  pool: PgPool,
  settings: PgConnectionSettings,
  client: pg.Client,
  event: 'rollback-failed' | 'reset-failed',
  message: string,
) => {
  counters.errors++
  logEvent(settings.logger, settings.label, event, message, undefined, processIdOf(client))
  pool.discard(client)
}

// A statement may still be running (its stop was asked for and the server did not confirm it in
// time): the client cannot be handed to anyone, and is closed. The cancel request was the stop's: not
// sent again. Whether the statement stopped is not known here: nobody is told it did.
export const abandonClient = (pool: PgPool, settings: PgConnectionSettings, client: pg.Client): void => {
  counters.abandoned++
  logEvent(
    settings.logger,
    settings.label,
    'abandoned',
    'the server did not confirm the stop of a statement in time (it may still be running): connection closed',
    undefined,
    processIdOf(client),
  )
  pool.discard(client)
}
