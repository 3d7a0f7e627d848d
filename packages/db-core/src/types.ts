// Public types of the core that are not options: the logger's event, the credentials a source gives,
// and what a driver package tells the core about itself.
import type { DbLogEventName } from './log-events.ts'

// What the logger hook receives. Never holds a password: `pool` is user@host:port/database.
// `threadId` is the server's id of the session (MySQL's CONNECTION_ID(), PostgreSQL's backend pid).
export interface DbLogEvent {
  level: 'debug' | 'info' | 'warn' | 'error'
  // One of docs/log-events.md's events.
  event: DbLogEventName
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

// The optional AWS peers as thaw uses them. The options name these structural types, never
// `typeof import('@aws-sdk/…')`: a declaration file that imports a module the user did not install
// fails their type check (TS2307 under skipLibCheck: false), and `secret`/`iam` work without the peer
// installed (the Lambda runtime ships the AWS SDK). The SDK's own modules and configurations fit them
// (checked against @aws-sdk/client-secrets-manager 3.1164 and @aws-sdk/rds-signer 3.1175 by
// db-connection's typetests).
type Provider<T> = () => Promise<T>

// The SecretsManagerClient's configuration: the fields thaw's users set most, typed as the SDK types
// them (so `maxAttempts: '2'` is refused), and any other field of the SDK's configuration. The index
// signature is `any` because only an `any` index signature accepts a SecretsManagerClientConfig held
// in a variable (an interface has no implicit index signature; `unknown` refuses it).
export interface SecretsManagerClientConfigLike {
  region?: string | Provider<string>
  maxAttempts?: number | Provider<number>
  retryMode?: string | Provider<string>
  // biome-ignore lint/suspicious/noExplicitAny: the other fields of the SDK's configuration, see above
  [field: string]: any
}

// What thaw takes from @aws-sdk/client-secrets-manager: the client class (built by @thaw/sdk-clients
// with `clientConfig`) and the command it sends.
export interface SecretsManagerModuleLike {
  // Any of the SDK's client classes whose instances send commands: what @thaw/sdk-clients builds.
  SecretsManagerClient: new (
    config: never,
  ) => { send(command: never): Promise<unknown> }
  GetSecretValueCommand: new (input: { SecretId: string; VersionStage?: string }) => object
}

// The options thaw builds a Signer with. `credentials` is the SDK's own type (an identity or a
// provider), which only the SDK names: `never` here, and thaw passes the user's value through as it is.
export interface RdsSignerConfigLike {
  hostname: string
  port: number
  username: string
  region: string
  credentials?: never
}

// What thaw takes from @aws-sdk/rds-signer: a Signer built for one host, port and user, which signs
// a token for each new connection (locally: no network call).
export interface RdsSignerModuleLike {
  Signer: new (config: RdsSignerConfigLike) => { getAuthToken(): Promise<string> }
}
