// The Middy hooks every database middleware has, written once: `before` finishes a session whose
// after/onError never ran (another middleware's early response skipped them) and puts a new session on
// the context; `after` and `onError` finish the invocation's session. Each driver gives its session
// class and its sweep of overdue sessions, and the hooks' names (dbConnectionMiddlewareBefore, …),
// which Middy's timing hooks and stack traces show: written out whole, so that a search finds them.

// What the hooks need of a request (Middy's Request, without naming @middy/core's types here).
interface InvocationRequest {
  context: object
  error?: unknown
}

// A driver's session: finish(timedOut) releases what the invocation held; timedOut is Middy's early
// timeout (its TimeoutError, @middy/core 7.9): the handler was abandoned with its statements running.
export interface InvocationSession {
  finish(timedOut?: boolean): Promise<unknown> | undefined
}

export interface InvocationHooks<R extends InvocationRequest> {
  before(request: R): Promise<unknown> | undefined
  after(request: R): Promise<unknown> | undefined
  onError(request: R): Promise<unknown> | undefined
}

const named = <F extends (...args: never[]) => unknown>(name: string, fn: F): F =>
  Object.defineProperty(fn, 'name', { value: name })

export const invocationHooks = <R extends InvocationRequest, S extends InvocationSession>(
  names: { before: string; after: string; onError: string },
  contextKey: string,
  open: (request: R, classic: boolean) => S,
  finishOverdue: (classic: boolean) => Promise<unknown> | undefined,
): InvocationHooks<R> => {
  // Per middleware instance: two of them on one handler (two databases) keep their sessions apart.
  const sessionKey = Symbol(contextKey)
  // Lambda Managed Instances run concurrent invocations in one process and say so in
  // AWS_LAMBDA_MAX_CONCURRENCY; classic Lambda runs one at a time.
  const classic = Number(process.env.AWS_LAMBDA_MAX_CONCURRENCY ?? 1) <= 1
  const sessionOf = (request: R) => (request as unknown as Record<symbol, S | undefined>)[sessionKey]

  // Whatever the handler threw (null, a string, an object whose name getter throws, a revoked proxy),
  // reading it must not replace it with an error of thaw's and leave the session unfinished.
  const isMiddyTimeout = (error: unknown): boolean => {
    try {
      return (error as { name?: unknown } | null | undefined)?.name === 'TimeoutError'
    } catch {
      return false
    }
  }

  const start = (request: R) => {
    const session = open(request, classic)
    ;(request as unknown as Record<symbol, S>)[sessionKey] = session
    ;(request.context as Record<string, unknown>)[contextKey] = session
  }

  return {
    // A session whose after/onError was skipped is finished here at the latest, before this
    // invocation can want its connection.
    before: named(names.before, (request: R) => {
      const overdue = finishOverdue(classic)
      if (overdue) return overdue.then(() => start(request))
      start(request)
      return undefined
    }),
    after: named(names.after, (request: R) => sessionOf(request)?.finish()),
    onError: named(names.onError, (request: R) => sessionOf(request)?.finish(isMiddyTimeout(request.error))),
  }
}
