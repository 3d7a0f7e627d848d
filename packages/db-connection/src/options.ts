// The options table: every option is one entry, and the options type, the defaults
// (dbConnectionDefaults), the settings type and the messages follow from it (@thaw/util's option.*).
// What one entry cannot say alone (credentials come from one place; iam needs TLS) is checked after
// the table, in dbConnectionValidateOptions, the only place options are checked.

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
  isPlainObject,
  maxTimerMs,
  optionError,
  optionFailure,
  refuseUnknownName,
  type SettingsOf,
  validateOptionTable,
} from '@thaw/util'
import type { PoolOptions } from 'mysql2'
import { packageName } from './errors.ts'
import { mysql2KnowsCharset, mysql2SslProfiles } from './mysql2-adapter.ts'

const fail = (optionPath: string, message: string): never => {
  throw optionError(packageName, optionPath, message)
}

// mysql2 3.24.6's ConnectionConfig.validOptions (lib/connection_config.js): mysql2 only prints a
// warning for an unknown key, where a typo should stop the deployment.
const mysql2OptionNames: readonly string[] = [
  'authPlugins',
  'authSwitchHandler',
  'bigNumberStrings',
  'charset',
  'charsetNumber',
  'compress',
  'connectAttributes',
  'connectTimeout',
  'database',
  'dateStrings',
  'debug',
  'decimalNumbers',
  'enableKeepAlive',
  'flags',
  'host',
  'insecureAuth',
  'infileStreamFactory',
  'keepAliveInitialDelay',
  'localAddress',
  'maxPreparedStatements',
  'multipleStatements',
  'namedPlaceholders',
  'nestTables',
  'password',
  'password1',
  'password2',
  'password3',
  'passwordSha1',
  'port',
  'queryFormat',
  'rowsAsArray',
  'socketPath',
  'ssl',
  'stream',
  'stringifyObjects',
  'supportBigNumbers',
  'timezone',
  'trace',
  'typeCast',
  'uri',
  'user',
  'disableEval',
  'enableCleartextPlugin',
  'connectionLimit',
  'maxIdle',
  'idleTimeout',
  'Promise',
  'queueLimit',
  'resetOnRelease',
  'waitForConnections',
  'jsonStrings',
  'gracefulEnd',
]
const mysql2OptionSet: ReadonlySet<string> = new Set(mysql2OptionNames)

// Parses a DSN the way mysql2 does (ConnectionConfig.parseUrl), so the registry key and the checks
// below see what mysql2 will use. The DSN itself never appears in an error: it may hold a password.
const parseDsn = (dsn: string): PoolOptions => {
  const url = configUrl(packageName, dsn, {
    kind: 'DSN',
    example: 'a DSN such as mysql://user:password@host:3306/database',
    protocols: ['mysql', 'mariadb'],
  })
  if (!url.hostname) fail('config', `option 'config' must name a host, as in mysql://user@host:3306/database`)
  const options: Record<string, unknown> = {
    host: decodeURIComponent(url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname),
    port: url.port ? Number.parseInt(url.port, 10) : 3306,
    database: decodeURIComponent(url.pathname.slice(1)) || undefined,
    user: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
  }
  for (const [name, value] of url.searchParams) {
    if (name in options) continue
    try {
      options[name] = JSON.parse(value)
    } catch {
      options[name] = value
    }
  }
  for (const name of Object.keys(options)) if (options[name] === undefined) delete options[name]
  return options as PoolOptions
}

const refuse = optionFailure(packageName)

// What a refused secret was, by its kind alone: describeValue shows a short number or string, which
// for a password would be the password.
const kindOf = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'an array'
      : typeof value === 'object'
        ? 'an object'
        : `a ${typeof value}`

// mysql2 takes these as strings and, given anything else, sends String(value) (`[object Object]` as a
// password, '42' as a user) or fails at the first connect with an error that names no option.
const stringNames = ['user', 'database', 'socketPath', 'localAddress', 'timezone'] as const
const secretStringNames = ['password', 'password1', 'password2', 'password3', 'passwordSha1'] as const

// mysql2's ssl: the name of one of its profiles, or the options of tls.connect (an object); false or
// left out for none. mysql2 3.24.6 throws for anything else when the pool is built (ConnectionConfig),
// with a message that names no option.
const sslExpected = () =>
  `${mysql2SslProfiles.map((name) => `'${name}'`).join(' or ')} (a mysql2 TLS profile), a TLS options object such as { ca }, or false`

const checkPoolOptions = (options: Record<string, unknown>): void => {
  for (const name of Object.keys(options)) {
    if (!mysql2OptionSet.has(name)) {
      refuseUnknownName(refuse, `config.${name}`, name, mysql2OptionNames, 'not a mysql2 PoolOptions key')
    }
  }
  if ('uri' in options)
    fail('config.uri', `option 'config.uri' is not supported: pass the DSN itself as 'config'`)
  const integerFrom = (name: string, minimum: number, expected: string) => {
    const value = options[name]
    if (value !== undefined && !(Number.isInteger(value) && (value as number) >= minimum)) {
      refuse(`config.${name}`, expected, value)
    }
  }
  integerFrom('connectionLimit', 1, 'a positive integer')
  integerFrom('connectTimeout', 1, 'a positive integer')
  // 0: no limit (mysql2's default). A negative or fractional limit refuses nothing, or everything.
  integerFrom('queueLimit', 0, 'an integer of at least 0 (0: no limit)')
  // A timer longer than 2^31-1 ms fires after 1 ms (Node 24.21): a connect would time out at once.
  if (typeof options.connectTimeout === 'number' && options.connectTimeout > maxTimerMs) {
    fail(
      'config.connectTimeout',
      `option 'config.connectTimeout' must be an integer from 1 to ${maxTimerMs} (milliseconds), got ${options.connectTimeout}`,
    )
  }
  for (const name of stringNames) {
    if (options[name] !== undefined && typeof options[name] !== 'string') {
      refuse(`config.${name}`, 'a string', options[name])
    }
  }
  for (const name of secretStringNames) {
    const value = options[name]
    if (value !== undefined && typeof value !== 'string') {
      fail(`config.${name}`, `option 'config.${name}' must be a string, got ${kindOf(value)}`)
    }
  }
  const { ssl, charset } = options
  if (
    ssl !== undefined &&
    ssl !== false &&
    !(typeof ssl === 'string' && mysql2SslProfiles.includes(ssl)) &&
    !isPlainObject(ssl)
  ) {
    // An unknown profile's name is shown: it is a name, never key material (that is an object's).
    refuse('config.ssl', sslExpected(), ssl)
  }
  if (charset !== undefined && !(typeof charset === 'string' && mysql2KnowsCharset(charset))) {
    refuse(
      'config.charset',
      "a character set or collation mysql2 knows, such as 'UTF8MB4_UNICODE_CI' or 'utf8mb4'",
      charset,
    )
  }
  const { port } = options
  if (port !== undefined && !isPort(port)) {
    // describeValue, not JSON.stringify: a bigint port made JSON.stringify throw its own TypeError.
    refuse('config.port', 'a TCP port (1-65535)', port)
  }
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host === '')) {
    fail('config.host', `option 'config.host' must be a non-empty string`)
  }
  if (options.waitForConnections === false) {
    fail(
      'config.waitForConnections',
      `option 'config.waitForConnections' must not be false: invocations queue for a connection`,
    )
  }
  if (options.maxIdle !== undefined || options.idleTimeout !== undefined) {
    // mysql2 evicts idle connections on a timer, which stops while the environment is frozen; thaw
    // validates idle connections itself (validateAfterIdleMs).
    fail(
      options.maxIdle !== undefined ? 'config.maxIdle' : 'config.idleTimeout',
      `options 'config.maxIdle' and 'config.idleTimeout' are not supported: use validateAfterIdleMs`,
    )
  }
  if (options.resetOnRelease !== undefined) {
    fail(
      'config.resetOnRelease',
      `option 'config.resetOnRelease' is not supported: use resetSession ('auto', 'always' or 'never')`,
    )
  }
}

// config: a DSN or mysql2 PoolOptions, normalised to PoolOptions (a copy: the caller's object is
// never changed).
const configRule = configOption<PoolOptions>(
  'a DSN string or a mysql2 PoolOptions object',
  parseDsn,
  checkPoolOptions,
)

// The rows every database middleware shares (what an invocation does with its connection, where
// credentials come from, connectRetry, fleet) come from @thaw/db-core; what they do here:
// - connect 'first-use' (the default): the handshake waits for the first statement; see the README.
// - validateAfterIdleMs: the validation is a ping.
// - statementMarginMs: a statement still running is stopped by KILLing its session from another
//   connection (the handler's await fails with THAW_DB_CONNECTION_STATEMENT_DEADLINE); the margin
//   is room for the KILL's connect and round trip too.
// - resetSession 'auto': COM_RESET_CONNECTION only after an invocation that may have left session
//   state behind.

export const dbConnectionOptionTable = {
  // A DSN (mysql://user:password@host:port/database?option=value) or mysql2 PoolOptions; required
  // unless `secret` or `internalData` gives the credentials.
  config: configRule,
  ...invocationRows,
  ...credentialRows,
  ...serverLimitRows,
}

type Table = typeof dbConnectionOptionTable

// The defaults of the options that have one (credentials have none).
export const dbConnectionDefaults = defaultsBesideCredentials(dbConnectionOptionTable)

export type ConnectMode = SettingsOf<Table>['connect']
export type ResetSessionPolicy = SettingsOf<Table>['resetSession']
export type ProxyMode = SettingsOf<Table>['proxy']
export type {
  AuthTokenParams,
  ConnectRetryOptions,
  ConnectRetrySettings,
  CredentialSettings,
  IamOptions,
  InternalData,
  SecretOptions,
} from '@thaw/db-core'

export type DbConnectionBaseOptions<TKey extends string = 'db'> = DriverBaseOptions<Table, TKey>

// `config` may be given as `process.env.DATABASE_URL` (string | undefined) when it is the only source:
// an unset one is refused at init ("option 'config' is required …"), so the type does not make every
// user write `as string`.
export type DbConnectionOptions<TKey extends string = 'db'> = CredentialOptions<
  string | PoolOptions,
  string | PoolOptions | undefined
> &
  DbConnectionBaseOptions<TKey>

export type DbConnectionSettings = SettingsBesideCredentials<Table> & {
  // Where user and password come from when not from the config.
  readonly credentials: CredentialSettings
  readonly poolOptions: PoolOptions
  // Identifies the configuration in the registry; holds a digest of the password, never the password.
  readonly key: string
  // user@host:port/database: what logs and errors may show.
  readonly label: string
}

// What the pool is built with unless the config says otherwise: one connection per execution
// environment (classic Lambda runs one invocation at a time).
const poolDefaults: PoolOptions = { connectionLimit: 1 }

// Values keyed by an HMAC in the registry key, never by value.
const secretNames: ReadonlySet<string> = new Set([
  'password',
  'password1',
  'password2',
  'password3',
  'passwordSha1',
  'secretAccessKey',
  'sessionToken',
])

export const poolLabel = (options: PoolOptions): string =>
  `${options.user ?? ''}@${options.socketPath ?? `${options.host ?? 'localhost'}:${options.port ?? 3306}`}/${options.database ?? ''}`

// program_name is what MySQL's and MariaDB's clients set, and what operators filter on in
// performance_schema.session_connect_attrs; the function's name tells one function's sessions apart.
const connectAttributes = (): Record<string, string> => {
  const attributes: Record<string, string> = { program_name: 'thaw', _thaw_package: packageName }
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME
  if (functionName) attributes.function_name = functionName
  return attributes
}

/**
 * Checks options as the middleware does at construction: throws a TypeError naming the option at
 * fault, or returns the settings in their normal form (defaults filled in, never logged: they may hold
 * a password).
 * @example dbConnectionValidateOptions({ config: 'mysql://db.example/orders', statementMarginMs: -1 }) // TypeError: option 'statementMarginMs' …
 */
export const dbConnectionValidateOptions = (options: DbConnectionOptions<string>): DbConnectionSettings => {
  if (!isPlainObject(options)) {
    return fail('options', 'options must be an object with at least { config }')
  }
  const settings = validateOptionTable(packageName, dbConnectionOptionTable, options)
  const { config, secret, internalData, iam, ...rest } = settings
  const raw = config ?? {}
  const poolOptions: PoolOptions = { ...poolDefaults, ...raw }
  poolOptions.connectAttributes = { ...connectAttributes(), ...raw.connectAttributes }
  const credentials = checkCredentials(packageName, settings, poolOptions, {
    configExpected: configRule.expected,
    tlsExample: "ssl: 'Amazon RDS' or { ca }",
  })
  // RDS IAM authentication asks for mysql_clear_password, which mysql2 3.22+ refuses unless enabled.
  if (credentials.iam) poolOptions.enableCleartextPlugin = true
  return {
    ...rest,
    credentials,
    poolOptions,
    key: configurationKey({ credentials, poolOptions }, secretNames, keyIgnoredNames),
    label: configurationLabel(poolLabel(poolOptions), credentials),
  }
}
