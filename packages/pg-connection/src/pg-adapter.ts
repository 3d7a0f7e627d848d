// The only file that reads node-postgres's private fields or uses its wire-level Connection. Checked
// against pg 8.23.1 (lib/client.js, lib/connection.js, lib/query.js); pg is pinned to ~8.23.1 and
// test/pg-adapter.test.ts names any field that moved.
//
// - Transaction status: every ReadyForQuery carries it ('I' idle, 'T' in a transaction, 'E' in a failed
//   one); pg keeps it in `client._txStatus`, and 8.23 reads it out through getTransactionStatus().
//   A failed statement's promise is rejected at its ErrorResponse, before the ReadyForQuery that turns
//   'T' into 'E' may have been read: the status can lag by one message, never more, so anything but
//   'I' is treated as a transaction to roll back.
// - Prepared statements: pg remembers the names it has parsed on the connection
//   (`connection.parsedStatements`, and `submittedNamedStatements` while a Parse is in flight) and
//   skips the Parse for a name it knows. DISCARD ALL drops them on the server without telling pg, so
//   the next use of a name fails with 26000 (prepared statement "q1" does not exist): both are emptied
//   with the reset.
// - Dead: `_ending`, `_ended`, `_queryable` (false after a socket error) and the socket's own state.
// - Cancel: Connection.cancel(processID, secretKey) on a new connection, as Client#cancel does.
import type { ConnectionAdapter, Credentials } from '@thaw/db-core'
import pg, { type ClientConfig } from 'pg'

export type TransactionStatus = 'I' | 'T' | 'E'

interface PgConnectionInternals {
  parsedStatements: Record<string, string>
  submittedNamedStatements?: Record<string, string>
  stream: { destroyed?: boolean; readyState?: string }
  connect(port: number, host: string): void
  cancel(processID: number, secretKey: number): void
  once(event: string, listener: (...args: unknown[]) => void): void
  on(event: string, listener: (...args: unknown[]) => void): void
  end(): void
}

interface PgClientInternals {
  _txStatus?: string | null
  _ending?: boolean
  _ended?: boolean
  _queryable?: boolean
  getTransactionStatus?: () => string | null
  connection: PgConnectionInternals
  processID: number | null
  secretKey: number | null
}

// What thaw keeps about each client it opened.
export interface ClientState {
  // The server reported a setting changed after the startup (ParameterStatus): SET TimeZone, SET ROLE
  // (is_superuser, session_authorization), SET application_name, … A session change thaw's text
  // reading could not see (inside a function) still shows here.
  settingsChanged: boolean
  // The client emitted 'error' (a socket error, the server closed it): dead.
  failed: boolean
}

const states = new WeakMap<pg.Client, ClientState>()
export const clientState = (client: pg.Client): ClientState =>
  states.get(client) ?? { settingsChanged: false, failed: true }

const internals = (client: pg.Client) => client as unknown as PgClientInternals

// The status of the last ReadyForQuery; null before the first.
export const transactionStatus = (client: pg.Client): TransactionStatus | null => {
  const c = internals(client)
  const status = typeof c.getTransactionStatus === 'function' ? c.getTransactionStatus() : c._txStatus
  return (status as TransactionStatus | null | undefined) ?? null
}

// After DISCARD ALL (or DEALLOCATE ALL): pg forgets the names it prepared, as the server did.
export const forgetPreparedStatements = (client: pg.Client): void => {
  const { connection } = internals(client)
  connection.parsedStatements = {}
  if (connection.submittedNamedStatements) connection.submittedNamedStatements = {}
}

export const isClientDead = (client: pg.Client): boolean => {
  const c = internals(client)
  if (states.get(client)?.failed) return true
  if (c._ending || c._ended || c._queryable === false) return true
  const stream = c.connection?.stream
  return (
    !stream || stream.destroyed === true || (stream.readyState !== undefined && stream.readyState !== 'open')
  )
}

export const processIdOf = (client: pg.Client): number | null => internals(client).processID ?? null

// Sends PostgreSQL's cancel request for the client's running statement, on a connection of its own
// (no authentication: the backend's pid and secret key are the proof). Resolves once the server has
// closed that connection (it does once it has read the request) or timeoutMs has passed; true when the
// request was delivered. Delivery is not a stop: only the statement's own answer (57014) says so.
export const sendCancelRequest = (
  client: pg.Client,
  config: ClientConfig,
  timeoutMs: number,
): Promise<boolean> => {
  const { processID, secretKey } = internals(client)
  if (processID === null || secretKey === null) return Promise.resolve(false)
  return new Promise<boolean>((resolve) => {
    const connection = new pg.Connection() as unknown as PgConnectionInternals
    let sent = false
    const timer = setTimeout(() => finish(false), timeoutMs)
    const finish = (delivered: boolean) => {
      clearTimeout(timer)
      const { stream } = connection as unknown as { stream: { destroy(): void } }
      stream.destroy()
      resolve(delivered)
    }
    connection.on('error', () => finish(false))
    connection.once('connect', () => {
      connection.cancel(processID, secretKey)
      sent = true
    })
    connection.once('end', () => finish(sent))
    connection.connect(config.port ?? 5432, config.host ?? 'localhost')
  })
}

const sqlStateOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

// The SQLSTATEs thaw acts on.
export const sqlStates = {
  tooManyConnections: '53300',
  invalidPassword: '28P01',
  queryCanceled: '57014',
  // admin_shutdown (pg_terminate_backend, a fast shutdown), crash_shutdown, cannot_connect_now.
  terminated: new Set(['57P01', '57P02', '57P03']),
}

// An error the server answered with (pg-protocol 1.16's DatabaseError carries the message's severity),
// not one of the connection's own (ECONNRESET, 'Connection terminated unexpectedly'), which also may
// have a string code.
export const isServerAnswer = (error: unknown): boolean =>
  typeof (error as { severity?: unknown } | undefined)?.severity === 'string'
export const isSessionEnded = (error: unknown): boolean => sqlStates.terminated.has(sqlStateOf(error) ?? '')
export const isQueryCanceled = (error: unknown): boolean => sqlStateOf(error) === sqlStates.queryCanceled

const noop = () => {}

// The core's view of pg.Client: open with credentials and a deadline, check, validate, close.
export const pgAdapter = (config: ClientConfig): ConnectionAdapter<pg.Client> => ({
  async open(credentials: Credentials | undefined, timeoutMs: number) {
    const client = new pg.Client({ ...config, ...credentials, connectionTimeoutMillis: timeoutMs })
    const state: ClientState = { settingsChanged: false, failed: false }
    states.set(client, state)
    // An idle client's socket error (the server terminated the session while frozen) is an 'error'
    // event: without a listener it would end the process.
    client.on('error', () => {
      state.failed = true
    })
    await client.connect()
    // ParameterStatus after the startup: a reported setting changed in this session.
    internals(client).connection.on('parameterStatus', () => {
      state.settingsChanged = true
    })
    return client
  },
  isDead: isClientDead,
  async validate(client, timeoutMs) {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs)
    })
    try {
      return await Promise.race([
        client.query('SELECT 1').then(
          () => true,
          () => false,
        ),
        late,
      ])
    } finally {
      clearTimeout(timer)
    }
  },
  destroy(client) {
    const state = states.get(client)
    if (state) state.failed = true
    const { stream } = internals(client).connection as unknown as { stream?: { destroy(): void } }
    stream?.destroy()
    client.end().catch(noop)
  },
  close: (client) => client.end().catch(noop),
  refusal(error) {
    const state = sqlStateOf(error)
    if (state === sqlStates.tooManyConnections || state === '57P03') return 'full'
    if (state === sqlStates.invalidPassword) return 'password'
    return undefined
  },
  sessionId: processIdOf,
})
