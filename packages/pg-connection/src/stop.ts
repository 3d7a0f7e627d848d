// A stop of the statements still running near an invocation's deadline: what began it, what the
// handler is told (db-core's deadline rules: 'stopped' only on the server's own 57014), and how long
// the cancel's confirmation is awaited. The session (session.ts) sends the cancel and settles.
import { type DeadlineOutcome, deadlineMessage, invocationRows, type StopCause } from '@thaw/db-core'
import { PgConnectionError, pgConnectionErrorCodes } from './errors.ts'
import type { PgConnectionSettings } from './options.ts'

// A stop under way: what began it, how long before the deadline, how long its confirmation is awaited.
export interface Stop {
  cause: StopCause
  beforeMs: number | undefined
  confirmMs: number
}

export const marginStop = (settings: PgConnectionSettings): Stop => ({
  cause: 'margin',
  beforeMs: settings.statementMarginMs,
  confirmMs: confirmWithinMs(settings.statementMarginMs, settings),
})

export const deadlineError = (
  outcome: DeadlineOutcome,
  settings: PgConnectionSettings,
  stop: Stop = marginStop(settings),
  cause?: unknown,
) =>
  new PgConnectionError(
    outcome === 'may-still-run'
      ? pgConnectionErrorCodes.statementOutcomeUnknown
      : pgConnectionErrorCodes.statementDeadline,
    deadlineMessage(outcome, settings.statementMarginMs, stop.confirmMs, stop),
    // Stryker disable next-line ConditionalExpression: `{ cause: undefined }` gives the error an own cause of undefined, which reads as none
    cause === undefined ? undefined : { cause },
  )

// How long a cancel's confirmation is awaited at the deadline: within the margin, so the handler still
// answers before the function's timeout.
export const confirmWithinMs = (marginMs: number, settings: PgConnectionSettings) =>
  Math.max(1, Math.min(settings.validateTimeoutMs, Math.floor(marginMs / 2)))

// Statements the handler did not await may run until the deadline less the margin, then are stopped;
// where statementMarginMs is 0 (which stops nothing while the handler runs) at statementMarginMs'
// default: an invocation's end must not leave a statement running on the server.
export const unawaitedMarginMs = (settings: PgConnectionSettings): number =>
  settings.statementMarginMs > 0
    ? settings.statementMarginMs
    : (invocationRows.statementMarginMs.default as number)

export const unawaitedStop = (settings: PgConnectionSettings, beforeMs: number | undefined): Stop => ({
  cause: 'unawaited',
  beforeMs,
  confirmMs: confirmWithinMs(unawaitedMarginMs(settings), settings),
})
