// The option sub-tables every database middleware shares, so that `secret`, `internalData`, `iam`,
// `connectRetry` and `fleet` mean the same, default the same and read the same in every package; and
// the context keys no middleware may take. Each package's own options table (options.ts) holds them
// beside its driver's options; @thaw/util's option.* rules say how a table works (and its
// option.propertyKey is the one rule for a contextKey).
import { type OptionsOf, option, type SettingsOf } from '@thaw/util'
import type {
  DbLogger,
  RdsSignerModuleLike,
  SecretsManagerClientConfigLike,
  SecretsManagerModuleLike,
} from './types.ts'

export interface AuthTokenParams {
  hostname: string
  port: number
  username: string
  region: string | undefined
}

export const isPort = (value: unknown): boolean =>
  Number.isInteger(value) && (value as number) > 0 && (value as number) < 65536

export const secretTable = {
  secretId: option.required(option.string()),
  versionStage: option.string(),
  // The SecretsManagerClient's configuration (region, endpoint, maxAttempts, …); the client itself is
  // the environment's shared one from @thaw/sdk-clients.
  // Typed structurally (types.ts): a SecretsManagerClientConfig held in a variable fits, and the peer
  // need not be installed for the declarations to compile.
  clientConfig: option.custom<SecretsManagerClientConfigLike>(
    'a SecretsManagerClient configuration object',
    (value) => value !== null && typeof value === 'object' && !Array.isArray(value),
  ),
  // Where the Secrets Manager client comes from: `() => import('@aws-sdk/client-secrets-manager')`
  // puts it in your bundle (your bundler follows the import in your code); left out, it is required at
  // run time from node_modules or the AWS SDK the Lambda runtime ships (see optional-peer.ts).
  sdk: option.function<() => Promise<SecretsManagerModuleLike>>(
    "a function returning the module, such as () => import('@aws-sdk/client-secrets-manager')",
  ),
  // The longest a fetched secret is used for new connections: older, it is read again before the next
  // connect (lazily, no timer: a frozen environment runs none). Left out: for the life of the
  // environment, re-read only when the database refuses it (single-user rotation).
  maxAgeMs: option.duration(1),
  // Load the client's module and build the client during init (no request is sent before the first
  // invocation); false: both on the first invocation.
  prefetch: option.boolean(true),
}

// The `internalData` table of one package (its messages start with the package's name).
export const internalDataTable = {
  user: option.string(),
  password: option.required(option.string(), 'the request.internal key of the password'),
  host: option.string(),
  port: option.string(),
  database: option.string(),
}

export const iamTable = {
  region: option.string(),
  hostname: option.string(),
  port: option.custom<number>('a TCP port (1-65535)', isPort),
  username: option.string(),
  // Credentials for the signer (an AwsCredentialIdentity or provider); the Lambda role's by default.
  credentials: option.custom<unknown>('AWS credentials or a credential provider', (value) => value !== null),
  // Replaces @aws-sdk/rds-signer (tests, a custom signer): returns the token for one new connection.
  getAuthToken: option.function<(params: AuthTokenParams) => string | Promise<string>>(
    'a function returning the token',
  ),
  // Where the RDS signer comes from: `() => import('@aws-sdk/rds-signer')` puts it in your bundle;
  // left out, it is required at run time (see optional-peer.ts).
  sdk: option.function<() => Promise<RdsSignerModuleLike>>(
    "a function returning the module, such as () => import('@aws-sdk/rds-signer')",
  ),
}

export const connectRetryTable = {
  baseDelayMs: option.duration(1, 50),
  maxDelayMs: option.duration(1, 1_000),
  deadlineMarginMs: option.duration(0, 500),
  maxWaitMs: option.duration(1, 10_000),
}

// Sharing one server with a fleet of environments (db-connection's fleet-hygiene.ts; defaults from
// `pnpm fleet`, see its README): the session idle limit thaw sets on its own connections (0: the
// server's own), and how full the server may be at connect for a connection to be kept through the
// freeze (false: always kept).
export const fleetTable = {
  idleTimeoutMs: option.duration(0, 15_000),
  giveBackAbove: option.custom<number | false, number | false>(
    'a fraction of max_connections above 0 and at most 1, or false',
    (value) => value === false || (typeof value === 'number' && value > 0 && value <= 1),
    0.5,
  ),
}

// The rows of a driver's table that say how an invocation uses its connection, the same in every
// driver (each driver's options.ts says what its server does for them): where context.db goes, when
// to connect, when an idle connection is validated, when a statement is stopped before the deadline,
// when the session is reset, whether SIGTERM ends the pools, and the logger hook.
export const invocationRows = {
  // Where context.db goes: never over the Lambda context's own members (context.getRemainingTimeInMillis
  // replaced by context.db breaks Middy's timeout) nor Object.prototype's ('__proto__' would replace
  // the context's prototype). Its hover text is on DriverBaseOptions' contextKey (credential-options.ts).
  contextKey: option.propertyKey('db'),
  /**
   * When the first connection opens. 'first-use': at the first statement (a handshake started at init
   * can be frozen in flight: provisioned concurrency freezes the environment right after init, for
   * minutes or hours, and INIT is billed); 'init': during init, so the first invocation finds it open.
   * @default 'first-use'
   * @example dbConnection({ config, connect: 'init' })
   */
  connect: option.oneOf(['init', 'first-use'] as const, 'first-use'),
  /**
   * A connection idle this long (ms) is validated with one round trip before use: a NAT or load
   * balancer may have dropped it without a FIN, and a statement on it would hang. 0: every time.
   * @default 60_000
   * @example dbConnection({ config, validateAfterIdleMs: 300_000 })
   */
  validateAfterIdleMs: option.duration(0, 60_000),
  /**
   * The deadline (ms) of that validation, of the session reset after an invocation and of a stop's
   * confirmation.
   * @default 1_000
   * @example dbConnection({ config, validateTimeoutMs: 3_000 }) // a slow link
   */
  validateTimeoutMs: option.duration(1, 1_000),
  /**
   * A statement still running this long (ms) before the invocation's deadline is stopped on the
   * server (KILL, or PostgreSQL's cancel request); one sent later is refused. Room for the stop's
   * round trip, the handler's error and the cleanup before Middy's early timeout or Lambda's own;
   * raised to what the link's measured connect and round trips need (a `margin-too-small` warning
   * says so). 0: only Middy's early timeout ends them.
   * @default 250
   * @example dbConnection({ config, statementMarginMs: 1_500 }) // a database across a slow link
   */
  statementMarginMs: option.duration(0, 250),
  /**
   * When the session is reset after an invocation. 'auto': only after one that may have left session
   * state behind (a transaction, a SET, a temporary table, a lock…); 'always'; 'never' (an open
   * transaction is still rolled back).
   * @default 'auto'
   * @example dbConnection({ config, resetSession: 'always' })
   */
  resetSession: option.oneOf(['auto', 'always', 'never'] as const, 'auto'),
  /**
   * 'transaction': behind a proxy that multiplexes sessions between transactions (RDS Proxy, pgbouncer
   * in transaction mode), thaw sends nothing that pins a session or that the proxy cannot route; the
   * README says what each guarantee becomes there.
   * @default 'none'
   * @example dbConnection({ config: process.env.PROXY_URL, proxy: 'transaction' })
   */
  proxy: option.oneOf(['none', 'transaction'] as const, 'none'),
  /**
   * End the pools on SIGTERM (Lambda sends it at shutdown when an extension is registered), then exit
   * if nothing else listens for it.
   * @default false
   * @example dbConnection({ config, closeOnShutdown: true })
   */
  closeOnShutdown: option.boolean(false),
  /**
   * Receives thaw's events (connects, replacements, resets, warnings), never a password.
   * @default none: events are dropped (db-connection's margin-too-small warning goes to console.warn)
   * @example dbConnection({ config, logger: (event) => console.log(JSON.stringify(event)) })
   */
  logger: option.function<DbLogger>(),
}

// Where credentials come from when not from the config: exactly one of these (credential-options.ts).
export const credentialRows = {
  // A Secrets Manager secret in the RDS JSON shape: username, password (host, port, dbname). The
  // credential options' hover text is on CredentialFields (credential-options.ts).
  secret: option.optionalNested(secretTable),
  // Connection option → request.internal key (dotted paths allowed), as @middy/rds's internalData.
  internalData: option.optionalNested(
    internalDataTable,
    "an object mapping 'user', 'password', 'host', 'port', 'database' to request.internal keys",
  ),
  // IAM authentication: a token from @aws-sdk/rds-signer (or getAuthToken) for each new connection.
  iam: option.optionalNested(iamTable),
}

// How a driver meets the server's limits (the same in every driver; each driver's server says
// "too many connections" in its own code).
export const serverLimitRows = {
  /**
   * Backing off when the server refuses a connection for too many connections (MySQL's 1040, 1203,
   * 1226; PostgreSQL's 53300): full jitter between 0 and min(maxDelayMs, baseDelayMs * 2^attempt),
   * until the invocation's remaining time minus deadlineMarginMs (maxWaitMs outside an invocation).
   * The same bound caps a connect and a wait for a connection.
   * @default { baseDelayMs: 50, maxDelayMs: 1_000, deadlineMarginMs: 500, maxWaitMs: 10_000 }
   * @example dbConnection({ config, connectRetry: { maxDelayMs: 2_000 } })
   */
  connectRetry: option.nested(connectRetryTable),
  /**
   * Sharing a server with a fleet of environments: the idle limit thaw sets on its own sessions
   * (idleTimeoutMs; 0: the server's own), and how full the tightest limit that applies may be at
   * connect (MySQL: the server's or the user's own; PostgreSQL: the server's, the role's CONNECTION
   * LIMIT, the database's) for a connection to be kept through the freeze (giveBackAbove; false:
   * always kept). Never ends another session. Off behind a proxy (proxy: 'transaction').
   * @default { idleTimeoutMs: 15_000, giveBackAbove: 0.5 }
   * @example dbConnection({ config, fleet: { giveBackAbove: 0.8 } })
   */
  fleet: option.nested(fleetTable),
}

export type ConnectRetryOptions = OptionsOf<typeof connectRetryTable>
export type ConnectRetrySettings = SettingsOf<typeof connectRetryTable>
export type SecretOptions = OptionsOf<typeof secretTable> & { secretId: string }
export type InternalData = OptionsOf<typeof internalDataTable> & { password: string }
export type IamOptions = OptionsOf<typeof iamTable>

export interface CredentialSettings {
  secret?: SettingsOf<typeof secretTable>
  internalData?: SettingsOf<typeof internalDataTable>
  iam?: SettingsOf<typeof iamTable>
}
