// The one place that reaches into mysql2's private state. Everything else goes through the functions
// here, so that a mysql2 upgrade that moves a field breaks one file, and test/mysql2-adapter.test.ts
// says which field moved.
//
// Checked against mysql2 3.24.6 (lib/base/pool.js, lib/base/connection.js, lib/pool_connection.js);
// package.json pins mysql2 to ~3.24.6, the range this file was read against and tested with.
import mysql2, { Connection, createPool, type Pool, type PoolConnection, type PoolOptions } from 'mysql2'
import type { Socket } from './node-builtins.ts'

interface RingQueue {
  length: number
  get(index: number): unknown
  removeOne(index: number): unknown
  pop(): unknown
}

// The private fields thaw reads, by owner. mysql2InternalsMissing() checks every one of them.
interface PoolInternals {
  _closed: boolean
  _allConnections: RingQueue
  _freeConnections: RingQueue
  _connectionQueue: RingQueue
  config: Pool['config'] & { connectionConfig: Record<string, unknown> }
}
interface ConnectionInternals {
  _released: boolean
  _fatalError: Error | null
  _protocolError: Error | null
  _closing: boolean | undefined
  _pool: unknown
  lastActiveTime: number
  stream: Socket
  reset(callback: (error: Error | null) => void): void
  _handshakePacket: { capabilityFlags: number } | null
  _removeFromPool(): void
}

export type CorePool = Pool & PoolInternals
export type CoreConnection = PoolConnection & ConnectionInternals

export const createCorePool = (options: PoolOptions): CorePool => createPool(options) as CorePool

// What a field that mysql2 3.24.6 has must look like; a check per field, named for the message.
const poolFields: Record<string, (pool: CorePool) => boolean> = {
  _closed: (pool) => typeof pool._closed === 'boolean',
  _allConnections: (pool) => typeof pool._allConnections?.length === 'number',
  _freeConnections: (pool) =>
    typeof pool._freeConnections?.length === 'number' && typeof pool._freeConnections.pop === 'function',
  _connectionQueue: (pool) =>
    typeof pool._connectionQueue?.get === 'function' && typeof pool._connectionQueue.removeOne === 'function',
  'config.connectionConfig': (pool) =>
    typeof pool.config?.connectionConfig === 'object' && pool.config.connectionConfig !== null,
}
const connectionFields: Record<string, (connection: CoreConnection) => boolean> = {
  _released: (connection) => typeof connection._released === 'boolean',
  _fatalError: (connection) => connection._fatalError === null || connection._fatalError instanceof Error,
  _protocolError: (connection) =>
    connection._protocolError === null || connection._protocolError instanceof Error,
  // Set to true by end()/close() only: undefined on a connection that was never closed (3.24.6).
  _closing: (connection) => connection._closing === undefined || typeof connection._closing === 'boolean',
  _pool: (connection) => typeof connection._pool === 'object',
  lastActiveTime: (connection) => typeof connection.lastActiveTime === 'number',
  stream: (connection) => typeof connection.stream?.destroyed === 'boolean',
  reset: (connection) => typeof connection.reset === 'function',
  '_handshakePacket.capabilityFlags': (connection) =>
    typeof connection._handshakePacket?.capabilityFlags === 'number',
  'config.clientFlags': (connection) =>
    typeof (connection.config as { clientFlags?: unknown } | undefined)?.clientFlags === 'number',
  _removeFromPool: (connection) => typeof connection._removeFromPool === 'function',
}

// The private fields this file relies on that a pool and one of its leased connections lack, as
// 'Pool._connectionQueue', 'PoolConnection._released'; empty when mysql2 is as this file expects.
export const mysql2InternalsMissing = (pool: Pool, connection: PoolConnection): string[] => [
  ...Object.entries(poolFields)
    .filter(([, present]) => !present(pool as CorePool))
    .map(([name]) => `Pool.${name}`),
  ...Object.entries(connectionFields)
    .filter(([, present]) => !present(connection as CoreConnection))
    .map(([name]) => `PoolConnection.${name}`),
]

// The character sets and collations mysql2 can connect with: its `Charsets` export (a getter in
// index.js, absent from its typings), looked up as ConnectionConfig.getCharsetNumber does, in upper
// case. mysql2 throws "Unknown charset" for any other when the pool is built, naming no option.
export const mysql2KnowsCharset = (charset: string): boolean =>
  Object.hasOwn((mysql2 as unknown as { Charsets: object }).Charsets, charset.toUpperCase())

// The names ConnectionConfig.getSSLProfile accepts for `ssl` (lib/constants/ssl_profiles.js, which
// mysql2 3.24.6 does not export; test/mysql2-adapter.test.ts reads that file and fails when it differs).
export const mysql2SslProfiles: readonly string[] = ['Amazon RDS']

export const isPoolClosed = (pool: CorePool): boolean => pool._closed

// May the next lease open a connection (nothing idle, room under connectionLimit)?
export const mayOpenConnection = (pool: CorePool, connectionLimit: number): boolean =>
  pool._freeConnections.length === 0 && pool._allConnections.length < connectionLimit

// The template mysql2 copies for each new connection (BasePool._createConnectionConfig).
export const connectionTemplate = (pool: CorePool): Record<string, unknown> => pool.config.connectionConfig

// The warm path: an idle connection taken from mysql2's free list at once, as BasePool.getConnection
// does but without its process.nextTick hop (the caller checks the connection before using it).
export const takeIdleConnection = (pool: CorePool): CoreConnection | undefined => {
  if (pool._closed || pool._freeConnections.length === 0) return undefined
  const connection = pool._freeConnections.pop() as CoreConnection
  pool.emit('acquire', connection)
  connection._released = false
  return connection
}

// Released: back in the pool's free list (not leased by anyone).
export const isReleased = (connection: CoreConnection): boolean => connection._released

export const lastActiveTime = (connection: CoreConnection): number => connection.lastActiveTime

export type LeaseCallback = (error: Error | null, connection?: unknown) => void

// An idle connection of the pool opened as `user`, taken out of the free list (the KILL of a session
// of that user needs no new connection then, even with the server or the user at its limit).
export const takeIdleConnectionOf = (pool: CorePool, user: unknown): CoreConnection | undefined => {
  const free = pool._freeConnections
  for (let index = 0; index < free.length; index++) {
    const connection = free.get(index) as CoreConnection
    if ((connection.config as { user?: unknown }).user !== user || isConnectionDead(connection)) continue
    free.removeOne(index)
    pool.emit('acquire', connection)
    connection._released = false
    return connection
  }
  return undefined
}

// A connection outside the pool with the very configuration (user, password, TLS, auth plugins) that
// `like` connected with: the KILL of its session after its credentials left the pool's template (an
// alternating-users rotation moved the pool to the other user, whose KILL the server would refuse).
// The copy is made as mysql2's pool makes each connection's (BasePool._createConnectionConfig, 3.24.6).
export const openConnectionLike = (like: CoreConnection, connectTimeoutMs: number): Promise<CoreConnection> =>
  new Promise((resolve, reject) => {
    const config = Object.create(
      Object.getPrototypeOf(like.config),
      Object.getOwnPropertyDescriptors(like.config),
    ) as Record<string, unknown>
    config.connectTimeout = connectTimeoutMs
    config.pool = undefined
    const connection = new Connection({ config } as never) as unknown as CoreConnection
    connection.once('error', () => {})
    connection.connect((error: Error | null) => {
      if (error) {
        connection.destroy()
        reject(error)
      } else resolve(connection)
    })
  })

// Every connection the pool opens, for a lease of thaw's or for a waiter mysql2 serves from its own
// queue (BasePool.releaseConnection calls `this.getConnection` again for it when a connection left the
// pool, 3.24.6), first goes through `beforeOpen`, which may update the template (credentials) before
// mysql2 copies it. `beforeOpen` gets the callback it serves and a function that opens now.
// `open(wrapped, callback)` opens with `wrapped` when the pool would still open a connection, and
// otherwise hands `callback` itself to mysql2 (queued, or served by a connection freed meanwhile), so
// that a queued waiter stays the function thaw can find in the queue.
type Open = (wrapped: LeaseCallback, callback: LeaseCallback) => void
export const interceptOpens = (
  pool: CorePool,
  beforeOpen: (callback: LeaseCallback, open: Open) => void,
): void => {
  const getConnection = pool.getConnection.bind(pool) as (callback: LeaseCallback) => void
  const connectionLimit = pool.config.connectionLimit ?? 0
  const opens = () =>
    !pool._closed &&
    pool._freeConnections.length === 0 &&
    (connectionLimit === 0 || pool._allConnections.length < connectionLimit)
  const open: Open = (wrapped, callback) => getConnection(opens() ? wrapped : callback)
  ;(pool as { getConnection: unknown }).getConnection = (callback: LeaseCallback) => {
    if (!opens()) getConnection(callback)
    else beforeOpen(callback, open)
  }
}

export const leaseFromPool = (pool: CorePool): Promise<CoreConnection> =>
  new Promise((resolve, reject) => {
    pool.getConnection((error, connection) => {
      if (error) reject(error)
      else resolve(connection as CoreConnection)
    })
  })

// Takes a waiter out of mysql2's queue of leases (BasePool._connectionQueue, a ring queue). False if
// it is not there: already served, or wrapped by a diagnostics_channel subscriber (mysql2 then queues
// its own wrapper), in which case the waiter hands back whatever it gets later.
const leaveQueue = (queue: RingQueue, waiter: LeaseCallback): boolean => {
  for (let i = 0; i < queue.length; i++) {
    if (queue.get(i) === waiter) {
      queue.removeOne(i)
      return true
    }
  }
  return false
}

// A lease bounded by a deadline, for when the pool is at its connectionLimit and the lease waits in
// mysql2's queue for another invocation to give a connection back: mysql2's queue has no timeout of
// its own (acquireTimeout bounds only a connect), so without this an invocation would wait until the
// function's timeout. A lease that is opening a connection is left to connectTimeout, which the
// caller caps by the same deadline. Past the deadline, a lease still in the queue leaves it and fails
// with queueTimeout(waitedMs); a connection that reaches it later goes straight back to the pool.
// `onWaiter` sees the callback handed to mysql2 before it is (interceptOpens' hook finds it by it).
export const leaseFromPoolWithin = (
  pool: CorePool,
  deadline: number,
  queueTimeout: (waitedMs: number) => Error,
  onWaiter: (waiter: LeaseCallback) => void = () => {},
): Promise<CoreConnection> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    let timer: NodeJS.Timeout | undefined
    let gaveUp = false
    let called = false
    const waiter: LeaseCallback = (error, connection) => {
      called = true
      if (timer !== undefined) clearTimeout(timer)
      if (gaveUp) {
        if (!error) (connection as CoreConnection).release()
        return
      }
      if (error) reject(error)
      else resolve(connection as CoreConnection)
    }
    onWaiter(waiter)
    const queue = pool._connectionQueue
    const queuedBefore = queue?.length ?? 0
    pool.getConnection(waiter as Parameters<Pool['getConnection']>[0])
    // Queued at once: mysql2 queued this waiter, or its own wrapper of it when a diagnostics_channel
    // subscriber traces pool connects (OpenTelemetry's instrumentation does), which no search finds.
    const queuedAtOnce = (queue?.length ?? 0) > queuedBefore
    // Armed whatever happened above: credentials fetched before an open may find the pool full by then,
    // and the waiter queued late. A waiter queued at once, or found in the queue later, gives up; one
    // that is opening a connection is bounded by its connectTimeout. (mysql2 refuses a full queueLimit
    // synchronously.)
    if (called) return
    timer = setTimeout(
      () => {
        timer = undefined
        const left = queue !== undefined && leaveQueue(queue, waiter)
        if (!left && !queuedAtOnce) return
        gaveUp = true
        reject(queueTimeout(Date.now() - started))
      },
      Math.max(0, deadline - Date.now()),
    )
  })

// No round trip: what mysql2 and the socket already know. A FIN or RST the kernel received while the
// environment was frozen is known here only once the event loop has polled after the thaw.
export const isConnectionDead = (connection: CoreConnection): boolean => {
  const stream = connection.stream
  return (
    connection._fatalError !== null ||
    connection._protocolError !== null ||
    connection._closing ||
    connection._pool === null ||
    !stream ||
    stream.destroyed ||
    stream.readableEnded ||
    stream.writableEnded
  )
}

// The server's handshake offered CLIENT_SESSION_TRACK (0x00800000): it can report session changes in
// OK packets. mysql2 asks for it by default and parses by the server's flags (ResultSetHeader).
export const serverCanTrackSession = (connection: CoreConnection): boolean =>
  ((connection._handshakePacket?.capabilityFlags ?? 0) & 0x00800000) !== 0

// mysql2 connected with CLIENT_IGNORE_SPACE (0x100, on unless config.flags says '-IGNORE_SPACE'), which
// the server turns into IGNORE_SPACE in the new session's sql_mode.
export const clientAskedForIgnoreSpace = (connection: CoreConnection): boolean =>
  (((connection.config as { clientFlags?: number }).clientFlags ?? 0) & 0x100) !== 0

// Calls `onDeath` once when the connection's socket ends or closes.
export const onConnectionEnd = (connection: CoreConnection, onDeath: () => void): void => {
  connection.once('end', onDeath)
  connection.stream?.once('close', onDeath)
}

// Takes a connection out of the pool and closes its socket at once (no COM_QUIT: the other side may
// be gone, and a half-open socket would linger until its FIN timed out).
export const discardConnection = (connection: CoreConnection): void => {
  connection.destroy()
  connection.stream?.destroy()
}

// What a statement or command run with a deadline came to: 'rows', answered (its rows, or the OK
// packet); 'refused', answered with an error, the connection still usable; 'lost', no answer within
// the deadline, or the connection closed with its error: either way the connection is discarded.
export type DeadlineAnswer =
  | { kind: 'rows'; rows: unknown }
  | { kind: 'refused'; error: Error }
  | { kind: 'lost' }

// Runs one command (callback style) with a deadline: a server (or a proxy, or a fake) that never
// answers, or a silently dropped connection, must not hold the invocation. On timeout the connection
// is discarded: mysql2 reads answers in order, so a late one would be taken as the next command's.
const commandWithin = (
  connection: CoreConnection,
  send: (callback: (error: Error | null, rows?: unknown) => void) => void,
  timeoutMs: number,
): Promise<DeadlineAnswer> =>
  new Promise((resolve) => {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      discardConnection(connection)
      resolve({ kind: 'lost' })
    }, timeoutMs)
    const answered = (error: Error | null, rows?: unknown) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (!error) resolve({ kind: 'rows', rows })
      // A connection that closed with its error (a fatal one, the server gone) answers nothing more.
      else resolve(connection.stream?.destroyed ? { kind: 'lost' } : { kind: 'refused', error })
    }
    try {
      send(answered)
    } catch (error) {
      answered(error as Error)
    }
  })

// One SQL statement (text protocol, no values) with a deadline; see commandWithin.
export const statementWithin = (
  connection: CoreConnection,
  sql: string,
  timeoutMs: number,
): Promise<DeadlineAnswer> =>
  commandWithin(
    connection,
    (callback) => connection.query(sql, (error, rows) => callback(error, rows)),
    timeoutMs,
  )

// True: the server answered the ping in time. False: it refused it, or did not answer in time (then
// the connection is discarded).
export const pingWithin = async (connection: CoreConnection, timeoutMs: number): Promise<boolean> =>
  (await commandWithin(connection, (callback) => connection.ping((error) => callback(error)), timeoutMs))
    .kind === 'rows'

// COM_RESET_CONNECTION: rolls back, drops temporary tables, user variables, session settings and
// prepared statements (mysql2 clears its statement cache on the answer), releases GET_LOCK locks.
// It keeps the default database chosen with USE. What the server said, as commandWithin's answer.
export const resetWithin = async (
  connection: CoreConnection,
  timeoutMs: number,
): Promise<DeadlineAnswer['kind']> =>
  (await commandWithin(connection, (callback) => connection.reset((error) => callback(error)), timeoutMs))
    .kind

// What thaw asks every new connection of a pool before its first statement, beside the handshake.
export type SetupStatement = 'session-tracking' | 'fleet'

// Per pool (its mysql2 pool), the setup statements its server left unanswered: the pool's next
// connections are not asked them again, so a silent server (a proxy, mysql2's own server code as a
// fake) costs one connection and validateTimeoutMs once per environment, not on every connect. By
// statement: a server (a proxy) that swallowed the tracking SET may still answer the fleet's SELECT,
// and is still asked it (test/log-events.test.ts).
const unanswered = new WeakMap<object, Set<SetupStatement>>()
export const noteUnanswered = (pool: object, statement: SetupStatement): void => {
  let statements = unanswered.get(pool)
  if (!statements) {
    statements = new Set()
    unanswered.set(pool, statements)
  }
  statements.add(statement)
}
export const leftUnanswered = (pool: object, statement: SetupStatement): boolean =>
  unanswered.get(pool)?.has(statement) === true

// Gives a pooled connection back to the server: out of the pool first (no lease can take it), then
// COM_QUIT, so the server ends the session at once and counts no aborted client. In mysql2 3.24.6
// PoolConnection.end() only releases (with a deprecation warning) unless gracefulEnd is set: the base
// Connection's end() is the one that quits.
export const quitConnection = (connection: CoreConnection): void => {
  connection._removeFromPool()
  endConnection(connection)
}

// COM_QUIT on a connection outside any pool (openConnectionLike's), or one already out of its pool.
export const endConnection = (connection: CoreConnection): void => {
  const base = Object.getPrototypeOf(Object.getPrototypeOf(connection)) as { end(callback: () => void): void }
  base.end.call(connection, () => {})
}
