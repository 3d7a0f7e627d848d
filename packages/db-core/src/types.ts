// Public types of the core that are not options: the logger's event, the credentials a source gives,
// and what a driver package tells the core about itself.

// What the logger hook receives. Never holds a password: `pool` is user@host:port/database.
// `threadId` is the server's id of the session (MySQL's CONNECTION_ID(), PostgreSQL's backend pid).
export interface DbLogEvent {
  level: 'debug' | 'info' | 'warn' | 'error'
  event: string
  pool: string
  message: string
  code?: string
  errno?: number
  threadId?: number | null
}
export type DbLogger = (event: DbLogEvent) => void

// The connection options a credential source may give; the rest come from the configuration.
export interface Credentials {
  user?: string
  password?: string
  host?: string
  port?: number
  database?: string
}

// What the core needs to know of the driver package using it.
export interface DbDriver {
  // '@thaw/db-connection', '@thaw/pg-connection': names the secret's cache entries.
  readonly packageName: string
  // The driver module's import.meta.url: optional peers are looked for beside it first.
  readonly url?: unknown
  // The server's port when the configuration names none (IAM tokens are signed for host:port).
  readonly defaultPort: number
  // The driver's run-time error for credentials that could not be read (its THAW_<PACKAGE>_CREDENTIALS).
  credentialsError(message: string, options?: ErrorOptions): Error
}

// The run-time errors the core raises for a driver, in the driver's own classes and codes.
export interface DbDriverErrors {
  // Waited in the pool's queue until the invocation's deadline (THAW_<PACKAGE>_QUEUE_TIMEOUT).
  queueTimeout(message: string): Error
  // Every connection found was dead, and so was every replacement (THAW_<PACKAGE>_NO_HEALTHY_CONNECTION).
  noHealthyConnection(message: string): Error
  // The server stayed full (too many connections) until the deadline: keeps the server's own code.
  limit(server: ServerError, retries: number, waitedMs: number): Error
}

// What a server's error carries that the core reads (mysql2's errno and code, pg's SQLSTATE code).
export interface ServerError {
  code?: string
  errno?: number
  sqlState?: string
  message?: string
}

// What the core needs of a driver's connections: the wire protocol's side of a lease.
export interface ConnectionAdapter<C> {
  // Opens one connection with these credentials (undefined: the configuration's own) within timeoutMs.
  open(credentials: Credentials | undefined, timeoutMs: number): Promise<C>
  // Dead by what the client and its socket already know: no round trip.
  isDead(connection: C): boolean
  // One round trip with a deadline: false when it failed or did not answer in time.
  validate(connection: C, timeoutMs: number): Promise<boolean>
  // Closes at once (no goodbye): a dead or doubtful connection.
  destroy(connection: C): void
  // Closes politely (end of the environment).
  close(connection: C): Promise<void>
  // Why the server refused a new connection: 'full' (back off), 'password' (refetch the secret once).
  refusal(error: unknown): 'full' | 'password' | undefined
  // The server's id of the session (backend pid, thread id), for logs.
  sessionId(connection: C): number | null
}
