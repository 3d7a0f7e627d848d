// The connection-creation step, kept apart so that where credentials come from (a Secrets Manager
// secret, an IAM token) and how a refused connect is retried can change here alone.
import type { Request } from '@middy/core'
import { createPool, type Pool, type PoolConnection, type PoolOptions } from 'mysql2'
import type { CredentialSource, Credentials } from './credentials.ts'

// The parts of mysql2's core objects thaw relies on (mysql2 3.24: lib/base/pool.js,
// lib/base/connection.js). They are not in mysql2's typings.
export interface CorePool extends Pool {
  _closed: boolean
  _allConnections: { length: number }
  _freeConnections: { length: number; pop(): unknown }
  config: Pool['config'] & { connectionConfig: Record<string, unknown> }
}
export interface CoreConnection extends PoolConnection {
  _fatalError: Error | null
  _protocolError: Error | null
  _closing: boolean
  _pool: CorePool | null
  lastActiveTime: number
  stream: import('node:net').Socket
}

export const createCorePool = (options: PoolOptions): CorePool => createPool(options) as unknown as CorePool

// mysql2's own default (ConnectionConfig).
const mysql2ConnectTimeoutMs = 10_000

// Applies the credentials and the deadline to the pool's connection template, which mysql2 copies for
// each new connection (BasePool._createConnectionConfig), when the next lease may open one. Returns
// the credentials' promise used, boxed (its identity names the version, for a refresh after a refusal;
// an async function would flatten it).
export const prepareNewConnection = async (
  pool: CorePool,
  configured: PoolOptions,
  source: CredentialSource | undefined,
  request: Request | undefined,
  deadline: number | undefined,
): Promise<{ credentials: Promise<Credentials> } | undefined> => {
  if (pool._freeConnections.length > 0) return undefined
  if (pool._allConnections.length >= (configured.connectionLimit ?? 1)) return undefined
  const template = pool.config.connectionConfig
  // A connect never outlives the invocation: its timeout is capped by what is left of it.
  const timeout = configured.connectTimeout ?? mysql2ConnectTimeoutMs
  template.connectTimeout =
    deadline === undefined ? timeout : Math.max(1, Math.min(timeout, Math.floor(deadline - Date.now())))
  if (!source) return undefined
  const used = source.get(request)
  applyCredentials(pool, await used)
  return { credentials: used }
}

export const applyCredentials = (pool: CorePool, credentials: Credentials): void => {
  const template = pool.config.connectionConfig
  for (const name of ['user', 'password', 'host', 'port', 'database'] as const) {
    if (credentials[name] !== undefined) template[name] = credentials[name]
  }
}

// The warm path: an idle connection taken from mysql2's free list at once, as BasePool.getConnection
// does but without its process.nextTick hop (the caller checks the connection before using it).
export const takeIdleConnection = (pool: CorePool): CoreConnection | undefined => {
  if (pool._closed || pool._freeConnections.length === 0) return undefined
  const connection = pool._freeConnections.pop() as CoreConnection
  pool.emit('acquire', connection)
  ;(connection as unknown as { _released: boolean })._released = false
  return connection
}

type LeaseCallback = (error: Error | null, connection?: unknown) => void

export const leaseFromPool = (pool: CorePool): Promise<CoreConnection> =>
  new Promise((resolve, reject) => {
    pool.getConnection((error, connection) => {
      if (error) reject(error)
      else resolve(connection as unknown as CoreConnection)
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
interface RingQueue {
  length: number
  get(index: number): unknown
  removeOne(index: number): unknown
}

// A lease bounded by a deadline, for when the pool is at its connectionLimit and the lease waits in
// mysql2's queue for another invocation to give a connection back: mysql2's queue has no timeout of
// its own (acquireTimeout bounds only a connect), so without this an invocation would wait until the
// function's timeout. A lease that is opening a connection is left to connectTimeout, which the
// caller caps by the same deadline. Past the deadline, the lease leaves the queue and fails with
// queueTimeout(waitedMs); a connection that reaches it later goes straight back to the pool.
export const leaseFromPoolWithin = (
  pool: CorePool,
  deadline: number,
  queueTimeout: (waitedMs: number) => Error,
): Promise<CoreConnection> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    let timer: NodeJS.Timeout | undefined
    let gaveUp = false
    const waiter: LeaseCallback = (error, connection) => {
      if (timer !== undefined) clearTimeout(timer)
      if (gaveUp) {
        if (!error) (connection as CoreConnection).release()
        return
      }
      if (error) reject(error)
      else resolve(connection as CoreConnection)
    }
    const queue = (pool as unknown as { _connectionQueue?: RingQueue })._connectionQueue
    const queuedBefore = queue?.length ?? 0
    pool.getConnection(waiter as Parameters<Pool['getConnection']>[0])
    // Served at once (an idle connection) or opening one (connectTimeout bounds it): not queued.
    if (!queue || queue.length <= queuedBefore) return
    timer = setTimeout(
      () => {
        timer = undefined
        gaveUp = true
        leaveQueue(queue, waiter)
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

// Takes a connection out of the pool and closes its socket at once (no COM_QUIT: the other side may
// be gone, and a half-open socket would linger until its FIN timed out).
export const discardConnection = (connection: CoreConnection): void => {
  connection.destroy()
  connection.stream?.destroy()
}

// Runs one command (callback style) and resolves false if it fails or takes longer than timeoutMs: a
// silently dropped connection would otherwise hang. A late answer is ignored.
const commandWithin = (
  send: (callback: (error: Error | null) => void) => void,
  timeoutMs: number,
): Promise<boolean> =>
  new Promise((resolve) => {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      resolve(false)
    }, timeoutMs)
    send((error) => {
      if (settled) return
      clearTimeout(timer)
      resolve(!error)
    })
  })

export const pingWithin = (connection: CoreConnection, timeoutMs: number): Promise<boolean> =>
  commandWithin((callback) => connection.ping(callback), timeoutMs)

// COM_RESET_CONNECTION: rolls back, drops temporary tables, user variables, session settings and
// prepared statements (mysql2 clears its statement cache on the answer), releases GET_LOCK locks.
export const resetWithin = (connection: CoreConnection, timeoutMs: number): Promise<boolean> =>
  commandWithin(
    (callback) =>
      (connection as unknown as { reset(cb: (error: Error | null) => void): void }).reset(callback),
    timeoutMs,
  )
