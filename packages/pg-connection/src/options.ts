// The options table: every option is one entry, and the options type, the defaults
// (pgConnectionDefaults), the settings type and the messages follow from it (@thaw/util's option.*).
// The sub-tables shared with db-connection (secret, internalData, iam, connectRetry) and the context
// key come from @thaw/db-core, so an option means, defaults and reads the same in both packages.
// What one entry cannot say alone (credentials come from one place; iam needs TLS) is checked after
// the table, in pgConnectionValidateOptions, the only place options are checked.
import {
  type CredentialOptions,
  type CredentialSettings,
  checkCredentials,
  configOption,
  configUrl,
  configurationLabel,
  credentialRows,
  type DriverBaseOptions,
  defaultsBesideCredentials,
  invocationRows,
  isPort,
  keyIgnoredNames,
  type SettingsBesideCredentials,
  serverLimitRows,
} from '@thaw/db-core'
import {
  configurationKey,
  describeValue,
  isPlainObject,
  maxTimerMs,
  optionError,
  type SettingsOf,
  validateOptionTable,
} from '@thaw/util'
import type { ClientConfig } from 'pg'
import pgConnectionString from 'pg-connection-string'
import { packageName } from './errors.ts'

export type {
  AuthTokenParams,
  ConnectRetryOptions,
  ConnectRetrySettings,
  CredentialSettings,
  IamOptions,
  InternalData,
  SecretOptions,
} from '@thaw/db-core'

const fail = (optionPath: string, message: string): never => {
  throw optionError(packageName, optionPath, message)
}

// What `config` takes: node-postgres 8.23's ClientConfig (lib/connection-parameters.js, lib/client.js)
// and `max`, the pool's size. pg ignores an unknown key silently, where a typo should stop the
// deployment. pg.Pool's idle eviction (idleTimeoutMillis, maxLifetimeSeconds, min, maxUses,
// allowExitOnIdle) is not taken: thaw pools the clients itself (see @thaw/db-core's pool.ts).
export interface PgConfig extends ClientConfig {
  // Connections per execution environment (per worker thread); more invocations wait. Default 1.
  max?: number
}
const pgOptionNames = new Set([
  'user',
  'database',
  'password',
  'port',
  'host',
  'connectionString',
  'keepAlive',
  'keepAliveInitialDelayMillis',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
  'ssl',
  'application_name',
  'fallback_application_name',
  'connectionTimeoutMillis',
  'types',
  'options',
  'client_encoding',
  'binary',
  'enableChannelBinding',
  'max',
])
const refusedPoolNames: Record<string, string> = {
  idleTimeoutMillis:
    "pg.Pool's idle eviction runs on a timer, which stops while the environment is frozen: use 'validateAfterIdleMs'",
  maxLifetimeSeconds: 'a timer again: thaw validates a connection after an idle gap instead',
  min: 'thaw opens connections when an invocation needs one',
  maxUses: 'thaw replaces a connection only when it is dead',
  allowExitOnIdle: 'the pool never keeps the process alive',
  stream: 'a stream is one connection: thaw opens its own',
  Client: 'thaw opens pg.Client itself',
}

const connectionStringOnly = new Set(['sslmode', 'sslcert', 'sslkey', 'sslrootcert', 'uselibpqcompat'])

// Parses a connection string the way pg does (pg-connection-string, which pg uses), so the registry
// key, the label and the checks below see what pg will use. The string never appears in an error.
const parseConnectionString = (text: string): PgConfig => {
  configUrl(packageName, text, {
    kind: 'URL',
    example: 'a connection string such as postgres://user:password@host:5432/database',
    protocols: ['postgres', 'postgresql'],
  })
  let parsed: ClientConfig
  try {
    parsed = pgConnectionString.parseIntoClientConfig(text) as ClientConfig
  } catch {
    return fail('config', `option 'config' is a connection string pg cannot read (its parameters)`)
  }
  const config: Record<string, unknown> = {}
  // sslmode and the ssl* file names are folded into `ssl` by pg-connection-string and kept beside it.
  for (const [name, value] of Object.entries(parsed)) {
    if (value !== undefined && value !== null && !connectionStringOnly.has(name)) config[name] = value
  }
  if (typeof config.port === 'string') config.port = Number.parseInt(config.port, 10)
  // ?max=4: the pool's size, as a number.
  if (typeof config.max === 'string' && /^\d+$/.test(config.max)) config.max = Number.parseInt(config.max, 10)
  return config as PgConfig
}

const checkConfig = (config: Record<string, unknown>): void => {
  for (const name of Object.keys(config)) {
    if (name in refusedPoolNames)
      fail(`config.${name}`, `option 'config.${name}' is not supported: ${refusedPoolNames[name]}`)
    if (!pgOptionNames.has(name))
      fail(`config.${name}`, `unknown option 'config.${name}' (not a pg ClientConfig key)`)
  }
  if ('connectionString' in config) {
    fail(
      'config.connectionString',
      `option 'config.connectionString' is not supported: pass the connection string itself as 'config'`,
    )
  }
  if (config.max !== undefined && !(Number.isInteger(config.max) && (config.max as number) > 0)) {
    // describeValue, not JSON.stringify: a bigint made JSON.stringify throw a TypeError naming nothing.
    fail('config.max', `option 'config.max' must be a positive integer, got ${describeValue(config.max)}`)
  }
  const timeout = config.connectionTimeoutMillis
  if (
    timeout !== undefined &&
    !(Number.isInteger(timeout) && (timeout as number) > 0 && (timeout as number) <= maxTimerMs)
  ) {
    fail(
      'config.connectionTimeoutMillis',
      `option 'config.connectionTimeoutMillis' must be an integer from 1 to ${maxTimerMs} (milliseconds), got ${typeof timeout === 'number' ? timeout : typeof timeout}`,
    )
  }
  if (config.port !== undefined && !isPort(config.port)) {
    fail(
      'config.port',
      `option 'config.port' must be a TCP port (1-65535), got ${typeof config.port === 'number' ? config.port : typeof config.port}`,
    )
  }
  for (const name of ['host', 'user', 'database'] as const) {
    if (config[name] !== undefined && typeof config[name] !== 'string') {
      fail(`config.${name}`, `option 'config.${name}' must be a string, got ${typeof config[name]}`)
    }
  }
  if (
    config.password !== undefined &&
    typeof config.password !== 'string' &&
    typeof config.password !== 'function'
  ) {
    fail(
      'config.password',
      `option 'config.password' must be a string or a function, got ${typeof config.password}`,
    )
  }
}

// config: a connection string or pg's ClientConfig (and max), normalised to the object (a copy).
const configRule = configOption<PgConfig>(
  "a postgres:// connection string or a pg ClientConfig object (with 'max', the pool's size)",
  parseConnectionString,
  checkConfig,
)

// The rows every database middleware shares (what an invocation does with its connection, where
// credentials come from, connectRetry) come from @thaw/db-core; what they do here:
// - validateAfterIdleMs: the validation is SELECT 1.
// - statementMarginMs: a statement still running is cancelled with PostgreSQL's cancel request.
// - resetSession 'auto': DISCARD ALL after an invocation that may have left session state behind
//   (anything but plain statements, a named statement, a reported setting change); 'never' still
//   rolls an open transaction back.

export const pgConnectionOptionTable = {
  // A connection string (postgres://user:password@host:5432/database?sslmode=require) or pg's
  // ClientConfig with `max`; required unless `secret` or `internalData` gives the credentials.
  config: configRule,
  // With them proxy: behind a transaction pooler (pgbouncer pool_mode=transaction, RDS Proxy) thaw
  // sends nothing that needs a session (no DISCARD ALL, no session setting) and refuses named prepared
  // statements, which a transaction pooler cannot route (pgbouncer before 1.21, or without
  // max_prepared_statements).
  ...invocationRows,
  ...credentialRows,
  ...serverLimitRows,
}

type Table = typeof pgConnectionOptionTable

export const pgConnectionDefaults = defaultsBesideCredentials(pgConnectionOptionTable)

export type ConnectMode = SettingsOf<Table>['connect']
export type ResetSessionPolicy = SettingsOf<Table>['resetSession']
export type ProxyMode = SettingsOf<Table>['proxy']

export type PgConnectionBaseOptions<TKey extends string = 'db'> = DriverBaseOptions<Table, TKey>

export type PgConnectionOptions<TKey extends string = 'db'> = CredentialOptions<string | PgConfig> &
  PgConnectionBaseOptions<TKey>

export type PgConnectionSettings = SettingsBesideCredentials<Table> & {
  readonly credentials: CredentialSettings
  // pg's ClientConfig for each new client (without max), before credentials are applied.
  readonly clientConfig: ClientConfig
  // The pool's size (config.max, default 1).
  readonly max: number
  // Identifies the configuration in the registry; holds a digest of the password, never the password.
  readonly key: string
  // user@host:port/database: what logs and errors may show.
  readonly label: string
}

const secretNames: ReadonlySet<string> = new Set(['password', 'secretAccessKey', 'sessionToken'])

export const clientLabel = (config: ClientConfig): string =>
  `${config.user ?? ''}@${config.host ?? 'localhost'}:${config.port ?? 5432}/${config.database ?? ''}`

/**
 * Checks options as the middleware does at construction: throws a TypeError naming the option at
 * fault, or returns the settings in their normal form (defaults filled in, never logged: they may hold
 * a password).
 * @example pgConnectionValidateOptions({ config: 'postgres://db.example/orders', statementMarginMs: -1 }) // TypeError: option 'statementMarginMs' …
 */
export const pgConnectionValidateOptions = (options: PgConnectionOptions<string>): PgConnectionSettings => {
  if (!isPlainObject(options)) return fail('options', 'options must be an object with at least { config }')
  const settings = validateOptionTable(packageName, pgConnectionOptionTable, options)
  const { config, secret, internalData, iam, ...rest } = settings
  const { max = 1, ...clientConfig } = config ?? {}
  // application_name tells thaw's sessions apart in pg_stat_activity (operators filter on it).
  if (clientConfig.application_name === undefined) {
    clientConfig.application_name =
      `thaw${process.env.AWS_LAMBDA_FUNCTION_NAME ? `:${process.env.AWS_LAMBDA_FUNCTION_NAME}` : ''}`.slice(
        0,
        63,
      )
  }
  const credentials = checkCredentials(packageName, settings, clientConfig, {
    configExpected: configRule.expected,
    tlsExample: 'ssl: { ca } or ?sslmode=verify-full',
  })
  return {
    ...rest,
    credentials,
    clientConfig,
    max,
    key: configurationKey({ credentials, clientConfig, max }, secretNames, keyIgnoredNames),
    label: configurationLabel(clientLabel(clientConfig), credentials),
  }
}
