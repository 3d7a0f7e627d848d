// A middleware of the user's that reads the database connection in its `before` (a tenant lookup, an
// audit row), for db-connection's and pg-connection's middleware-order tests: placed before the
// driver's middleware in `.use()` (MIDDLEWARE_ORDER=wrong) or after it. The event says how it reads
// the connection: through the driver's requireDb, or context.db directly.

export interface MiddlewareOrderEvent {
  read: 'requireDb' | 'context.db'
}

interface Queryable {
  query(sql: string): Promise<unknown>
}

export const readsTheDatabase = (requireDb: (context: object) => Queryable) => ({
  before: async (request: { event: MiddlewareOrderEvent; context: object }): Promise<void> => {
    const db =
      request.event.read === 'requireDb'
        ? requireDb(request.context)
        : (request.context as unknown as { db: Queryable }).db
    await db.query('SELECT 1')
  },
})

// The two middlewares in the order the environment asks for.
export const inOrderAsked = <T>(connection: T, reader: T): [T, T] =>
  process.env.MIDDLEWARE_ORDER === 'wrong' ? [reader, connection] : [connection, reader]

// What each invocation gives back, by how the middleware reads the connection, in the wrong order: the
// driver's named error (its message quoted by docs/troubleshooting.md), or the runtime's TypeError.
export const wrongOrderErrors = (packageName: string, middleware: string, errorName: string) => ({
  requireDb: {
    name: errorName,
    message:
      `${packageName}: context.db is not set: ${middleware}'s before has not run for this invocation. ` +
      `Middy runs before hooks in .use() order: put .use(${middleware}(…)) before the middleware that reads ` +
      'context.db (and give requireDb the contextKey the middleware was given)',
  },
  'context.db': { name: 'TypeError', message: "Cannot read properties of undefined (reading 'query')" },
})
