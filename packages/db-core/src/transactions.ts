// context.db.transaction(fn): fn runs on a connection leased exclusively by the invocation, inside a
// transaction that commits when fn resolves and rolls back (and rethrows) when it throws; never re-run.
// Inside fn, a transaction() is a savepoint on the same connection, released when its fn resolves and
// rolled back to when it throws (the outer transaction goes on either way). Which transaction a step
// runs in is kept in the driver's AsyncLocalStorage (db-core takes no Node built-in: each driver
// package takes them one way, see its node-builtins.ts), so that context.db statements there run on
// the transaction's connection, and getConnection() fails at once where it would wait for the very
// transaction that awaits it.
export interface TransactionScope<S, C> {
  readonly session: S
  readonly connection: C
  // 0 for the transaction, 1 and on for its savepoints.
  readonly depth: number
}

// The part of an AsyncLocalStorage<TransactionScope<S, C>> used here.
export interface TransactionStorage<S, C> {
  getStore(): TransactionScope<S, C> | undefined
  run<R>(scope: TransactionScope<S, C>, fn: () => R): R
}

// A leased connection: plain SQL for the savepoints, and release() back to the invocation.
export interface TransactionConnection {
  query(sql: string): Promise<unknown>
  release(): void
}

// How the driver begins, commits and rolls back (mysql2's methods, PostgreSQL's statements).
export interface TransactionVerbs<C> {
  begin(connection: C): Promise<unknown>
  commit(connection: C): Promise<unknown>
  rollback(connection: C): Promise<unknown>
}

const noop = () => {}

const savepoint = async <S, C extends TransactionConnection, T>(
  storage: TransactionStorage<S, C>,
  scope: TransactionScope<S, C>,
  fn: (connection: C) => Promise<T>,
): Promise<T> => {
  const depth = scope.depth + 1
  const name = `thaw_savepoint_${depth}`
  const { session, connection } = scope
  await connection.query(`SAVEPOINT ${name}`)
  let result: T
  try {
    result = await storage.run({ session, connection, depth }, () => fn(connection))
  } catch (error) {
    await connection.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(noop)
    throw error
  }
  await connection.query(`RELEASE SAVEPOINT ${name}`)
  return result
}

// `lease` is the session's getConnection(): an exclusive lease, released when the transaction ends.
export const runTransaction = async <S, C extends TransactionConnection, T>(
  storage: TransactionStorage<S, C>,
  session: S,
  lease: () => Promise<C>,
  verbs: TransactionVerbs<C>,
  fn: (connection: C) => Promise<T>,
): Promise<T> => {
  const scope = storage.getStore()
  if (scope?.session === session) return savepoint(storage, scope, fn)
  const connection = await lease()
  try {
    await verbs.begin(connection)
    let result: T
    try {
      result = await storage.run({ session, connection, depth: 0 }, () => fn(connection))
    } catch (error) {
      // The rollback's own failure (a dead connection) must not hide the handler's error; the server
      // rolls back a transaction whose connection died, and after/onError reset or discard.
      await verbs.rollback(connection).catch(noop)
      throw error
    }
    await verbs.commit(connection)
    return result
  } finally {
    connection.release()
  }
}
