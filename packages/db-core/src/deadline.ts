// The statement deadline: a statement never outlives its invocation on the server. statementMarginMs
// before the invocation's deadline a statement still running is stopped on the server by the driver
// (its own timer: pg-connection's deadline-watch.ts, db-connection's link.ts), and one sent later is
// refused.
//
// The rule for what the handler is told ("say only what happened"): 'stopped' only when the server
// showed the statement gone (its own answer said it was cancelled, or the server no longer lists it);
// 'not-sent' when it was refused before it left; otherwise 'may-still-run': the stop was asked for and
// not confirmed in time, so the statement may still run (and commit), and re-running it is not safe.
export type DeadlineOutcome = 'stopped' | 'not-sent' | 'may-still-run'

export const deadlineMessage = (outcome: DeadlineOutcome, marginMs: number, confirmMs: number): string => {
  switch (outcome) {
    case 'stopped':
      return `the statement was stopped at the invocation's deadline: it was still running ${marginMs} ms before the function's timeout (statementMarginMs), and the server confirmed it cancelled it; what it had done in an open transaction is rolled back with it`
    case 'not-sent':
      return `the statement was not sent: the invocation's deadline is less than ${marginMs} ms away (statementMarginMs)`
    default:
      return `the statement was still running ${marginMs} ms before the function's timeout (statementMarginMs); a cancel was sent but the server did not confirm it within ${confirmMs} ms, so the statement may still be running and may still complete: do not retry it unless it is safe to run twice (its connection was closed)`
  }
}
