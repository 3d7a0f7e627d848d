// The connection a driver's middleware put on the context, for code that may run before the
// middleware's `before`: another middleware's `before` placed earlier in `.use()` (Middy runs `before`
// hooks in `.use()` order). Read directly there, context.db is undefined and the first call on it is a
// bare TypeError; this says what happened and which order works. Each driver's requireDb is made by
// it with its own middleware's name and error (THAW_<PACKAGE>_NOT_ON_CONTEXT).
export const connectionOnContext =
  <Connection>(middleware: string, notOnContext: (message: string) => Error) =>
  (context: object, contextKey = 'db'): Connection => {
    const connection = (context as Record<string, unknown>)[contextKey]
    if (connection === undefined || connection === null)
      throw notOnContext(
        `context.${contextKey} is not set: ${middleware}'s before has not run for this invocation. ` +
          `Middy runs before hooks in .use() order: put .use(${middleware}(…)) before the middleware that reads ` +
          `context.${contextKey} (and give requireDb the contextKey the middleware was given)`,
      )
    return connection as Connection
  }
