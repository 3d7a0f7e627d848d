// The statement deadline: a statement never outlives its invocation on the server. statementMarginMs
// before the invocation's deadline a statement still running is stopped on the server by the driver
// (on deadline-watch.ts's one timer per process; db-connection sizes its margin from the link, link.ts), and one sent later is
// refused.
//
// The rule for what the handler is told ("say only what happened"): 'stopped' only when the server
// showed the statement gone (its own answer said it was cancelled, or the server no longer lists it);
// 'not-sent' when it was refused before it left; otherwise 'may-still-run': the stop was asked for and
// not confirmed in time, so the statement may still run (and commit), and re-running it is not safe.
export type DeadlineOutcome = 'stopped' | 'not-sent' | 'may-still-run'

// What began a stop: the margin (statementMarginMs before the deadline), Middy's early timeout (its
// TimeoutError in onError), or the invocation's end with statements the handler did not await (they
// may run until the deadline less what a stop needs, then are stopped).
export type StopCause = 'margin' | 'early-timeout' | 'unawaited'

const runningWhen = (cause: StopCause, beforeMs: number | undefined): string => {
  const before = beforeMs === undefined ? '' : ` ${beforeMs} ms before the function's timeout`
  switch (cause) {
    case 'early-timeout':
      return `it was still running when Middy's early timeout ended the invocation${before}`
    case 'unawaited':
      return `the handler answered without awaiting it, and it was still running${before || ' when the invocation ended (no deadline known)'}`
    default:
      return `it was still running${before} (statementMarginMs)`
  }
}

/**
 * What the handler is told of a statement stopped, refused or maybe still running at its deadline.
 * `stop`: what began the stop, and how long before the function's timeout (undefined when no deadline
 * was known); by default the margin's own stop, on time.
 */
export const deadlineMessage = (
  outcome: DeadlineOutcome,
  marginMs: number,
  confirmMs: number,
  stop: { cause: StopCause; beforeMs: number | undefined } = { cause: 'margin', beforeMs: marginMs },
): string => {
  const { cause, beforeMs } = stop
  switch (outcome) {
    case 'stopped':
      return `the statement was stopped ${beforeMs === undefined ? 'when the invocation ended' : "at the invocation's deadline"}: ${runningWhen(cause, beforeMs)}, and the server confirmed it cancelled it: nothing it did is kept, and a transaction it ran in is rolled back when the invocation ends (no statement is sent after the stop)`
    case 'not-sent':
      return `the statement was not sent: the invocation's deadline is less than ${marginMs} ms away (statementMarginMs)`
    default:
      return `the server did not confirm that the statement was cancelled: ${runningWhen(cause, beforeMs)}; a cancel was sent and no confirmation came within ${confirmMs} ms, so the statement may still be running and may still complete: do not retry it unless it is safe to run twice (its connection was closed)`
  }
}
