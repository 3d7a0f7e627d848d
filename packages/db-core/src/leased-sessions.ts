// The sessions (one invocation's view of the pool each) holding a connection, kept by each driver in a
// Set (a session adds itself when it leases and deletes itself when it hands the connection back), so
// that one whose after/onError never ran (another middleware's early response skipped them) is
// finished at the latest by the next invocation's before (classic mode: invocations never overlap in a
// process) or once past its deadline (Managed Instances).
export interface FinishableSession {
  // The invocation's deadline, epoch ms (Infinity outside an invocation).
  readonly deadline: number
  // Ends the session and hands its connection on; the cleanup to await, or undefined when none.
  finish(): Promise<void> | undefined
}

// Finishes the sessions whose invocation is certainly over: all of them in classic mode (a new
// invocation has begun), those past their deadline with Managed Instances. Returns the cleanup to
// await, or undefined when there was none (the warm path: the set is empty). A function over the
// driver's plain Set: every invocation's before runs it.
export const finishOverdue = <S extends FinishableSession>(
  sessions: ReadonlySet<S>,
  classic: boolean,
): Promise<unknown> | undefined => {
  if (sessions.size === 0) return undefined
  const now = Date.now()
  const cleanups: Promise<void>[] = []
  for (const session of sessions) {
    if (classic || session.deadline <= now) {
      const cleanup = session.finish()
      if (cleanup) cleanups.push(cleanup)
    }
  }
  return cleanups.length > 0 ? Promise.all(cleanups) : undefined
}
