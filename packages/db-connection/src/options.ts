import { createHmac, randomBytes } from 'node:crypto'
import { type OptionSchema, validateOptions } from '@middy/util'
import type { PoolOptions } from 'mysql2'
import type { IamOptions, InternalData, SecretOptions } from './credentials.ts'
import type { DbConnectionLogger, DbConnectionOptions } from './types.ts'

export const packageName = '@thaw/db-connection'

export const dbConnectionDefaults = {
  contextKey: 'db',
  // 'first-use': a handshake started at init can be frozen in flight (provisioned concurrency freezes
  // the environment right after init, for minutes or hours) and INIT is billed; see the README.
  connect: 'first-use',
  // A connection idle this long is pinged (with validateTimeoutMs as deadline) before use: a NAT or
  // load balancer may have dropped it without a FIN, and a statement on it would hang.
  validateAfterIdleMs: 60_000,
  validateTimeoutMs: 1_000,
  // 'auto': COM_RESET_CONNECTION only after an invocation that may have left session state behind.
  resetSession: 'auto',
  closeOnShutdown: false,
  logger: undefined,
  // Backing off when the server refuses a connection for too many connections (1040, 1203, 1226):
  // full jitter between 0 and min(maxDelayMs, baseDelayMs * 2^attempt), until the invocation's
  // remaining time minus deadlineMarginMs (maxWaitMs outside an invocation). The same bound caps
  // connectTimeout, so a connect never outlives the invocation.
  connectRetry: { baseDelayMs: 50, maxDelayMs: 1_000, deadlineMarginMs: 500, maxWaitMs: 10_000 },
} as const

export interface ConnectRetrySettings {
  baseDelayMs: number
  maxDelayMs: number
  deadlineMarginMs: number
  maxWaitMs: number
}

export interface CredentialSettings {
  secret?: SecretOptions
  internalData?: InternalData
  iam?: IamOptions
}

// What the pool is built with unless the config says otherwise: one connection per execution
// environment (classic Lambda runs one invocation at a time).
export const poolDefaults: PoolOptions = { connectionLimit: 1 }

export interface DbConnectionSettings {
  contextKey: string
  connect: 'init' | 'first-use'
  validateAfterIdleMs: number
  validateTimeoutMs: number
  resetSession: 'auto' | 'always' | 'never'
  closeOnShutdown: boolean
  logger: DbConnectionLogger | undefined
  connectRetry: ConnectRetrySettings
  // Where user and password come from when not from the config.
  credentials: CredentialSettings
  poolOptions: PoolOptions
  // Identifies the configuration in the registry; holds a digest of the password, never the password.
  key: string
  // user@host:port/database: what logs and errors may show.
  label: string
}

const fail = (message: string): never => {
  throw new TypeError(`${packageName}: ${message}`, { cause: { package: packageName } })
}

// mysql2 3.24's ConnectionConfig.validOptions (lib/connection_config.js): mysql2 only prints a
// warning for an unknown key, where a typo should stop the deployment.
const mysql2OptionNames = new Set([
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
])

// Parses a DSN the way mysql2 does (ConnectionConfig.parseUrl), so the registry key and the checks
// below see what mysql2 will use. The DSN itself never appears in an error: it may hold a password.
const parseDsn = (dsn: string): PoolOptions => {
  let url: URL
  try {
    url = new URL(dsn)
  } catch {
    return fail(
      `option 'config' must be a DSN such as mysql://user:password@host:3306/database, got a string that is not a URL`,
    )
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    fail(`option 'config' must be a mysql:// (or mariadb://) DSN, got the protocol '${url.protocol}'`)
  }
  if (!url.hostname) fail(`option 'config' must name a host, as in mysql://user@host:3306/database`)
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

const checkPoolOptions = (options: Record<string, unknown>, where: string): void => {
  for (const name of Object.keys(options)) {
    if (!mysql2OptionNames.has(name)) fail(`unknown option '${where}.${name}' (not a mysql2 PoolOptions key)`)
  }
  if ('uri' in options) fail(`option '${where}.uri' is not supported: pass the DSN itself as 'config'`)
  const positive = (name: string) => {
    const value = options[name]
    if (value !== undefined && !(Number.isInteger(value) && (value as number) > 0)) {
      fail(`option '${where}.${name}' must be a positive integer, got ${JSON.stringify(value)}`)
    }
  }
  positive('connectionLimit')
  positive('connectTimeout')
  const { port } = options
  if (port !== undefined && !(Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536)) {
    fail(`option '${where}.port' must be a TCP port (1-65535), got ${JSON.stringify(port)}`)
  }
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host === '')) {
    fail(`option '${where}.host' must be a non-empty string`)
  }
  if (options.waitForConnections === false) {
    fail(`option '${where}.waitForConnections' must not be false: invocations queue for a connection`)
  }
  if (options.maxIdle !== undefined || options.idleTimeout !== undefined) {
    // mysql2 evicts idle connections on a timer, which stops while the environment is frozen; thaw
    // validates idle connections itself (validateAfterIdleMs).
    fail(`options '${where}.maxIdle' and '${where}.idleTimeout' are not supported: use validateAfterIdleMs`)
  }
  if (options.resetOnRelease !== undefined) {
    fail(`option '${where}.resetOnRelease' is not supported: use resetSession ('auto', 'always' or 'never')`)
  }
}

// A stable key for the registry: sorted keys, functions by identity, the password by digest.
const functionIds = new WeakMap<object, number>()
let nextFunctionId = 0
// Keyed with a per-process random key: the registry key can tell passwords apart without being a
// guessable digest of one.
const digestKey = randomBytes(32)
const secretNames = new Set(['password', 'password1', 'password2', 'password3', 'passwordSha1'])
const stableKey = (value: unknown, name = ''): string => {
  if (typeof value === 'function') {
    let id = functionIds.get(value)
    if (id === undefined) {
      id = ++nextFunctionId
      functionIds.set(value, id)
    }
    return `"fn#${id}"`
  }
  if (secretNames.has(name) && value !== undefined) {
    return JSON.stringify(`hmac:${createHmac('sha256', digestKey).update(String(value)).digest('hex')}`)
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map((item) => stableKey(item)).join(',')}]`
  if (Buffer.isBuffer(value)) return JSON.stringify(value.toString('base64'))
  const record = value as Record<string, unknown>
  return `{${Object.keys(record)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${stableKey(record[key], key)}`)
    .join(',')}}`
}

export const poolLabel = (options: PoolOptions): string =>
  `${options.user ?? ''}@${options.socketPath ?? `${options.host ?? 'localhost'}:${options.port ?? 3306}`}/${options.database ?? ''}`

const optionSchema: OptionSchema = {
  type: 'object',
  // 'config' is required unless 'secret' or 'internalData' gives the credentials (checked by hand).
  properties: {
    config: { oneOf: [{ type: 'string' }, { type: 'object' }] },
    contextKey: { type: 'string', minLength: 1 },
    connect: { enum: ['init', 'first-use'] },
    validateAfterIdleMs: { type: 'integer', minimum: 0 },
    validateTimeoutMs: { type: 'integer', minimum: 1 },
    resetSession: { enum: ['auto', 'always', 'never'] },
    closeOnShutdown: { type: 'boolean' },
    logger: { instanceof: 'Function' },
    secret: { type: 'object' },
    internalData: { type: 'object' },
    iam: { type: 'object' },
    connectRetry: { type: 'object' },
  },
  additionalProperties: false,
}

const expectations: Record<string, string> = {
  config: 'a DSN string or a mysql2 PoolOptions object',
  contextKey: 'a non-empty string',
  connect: "'init' or 'first-use'",
  validateAfterIdleMs: 'an integer >= 0 (milliseconds)',
  validateTimeoutMs: 'a positive integer (milliseconds)',
  resetSession: "'auto', 'always' or 'never'",
  closeOnShutdown: 'a boolean',
  logger: 'a function',
  secret: 'an object { secretId, versionStage?, clientConfig? }',
  internalData: "an object mapping 'user', 'password', 'host', 'port', 'database' to request.internal keys",
  iam: 'an object { region?, hostname?, port?, username?, credentials?, getAuthToken? }',
  connectRetry: 'an object { baseDelayMs?, maxDelayMs?, deadlineMarginMs?, maxWaitMs? }',
}

const checkKeys = (value: Record<string, unknown>, where: string, allowed: readonly string[]) => {
  for (const name of Object.keys(value)) {
    if (!allowed.includes(name))
      fail(`unknown option '${where}.${name}' (expected one of ${allowed.join(', ')})`)
  }
}
const checkString = (value: unknown, where: string, required = false) => {
  if (value === undefined && !required) return
  if (typeof value !== 'string' || value === '') fail(`option '${where}' must be a non-empty string`)
}

const validateCredentials = (
  options: DbConnectionOptions<string>,
  poolOptions: PoolOptions,
): CredentialSettings => {
  const { secret, internalData, iam } = options
  const given = (['secret', 'internalData', 'iam'] as const).filter((name) => options[name] !== undefined)
  if (given.length > 1) {
    fail(
      `options ${given.map((name) => `'${name}'`).join(' and ')} exclude each other: credentials come from one place`,
    )
  }
  if (given.length === 1 && options.connect === 'init') {
    // A fetch or a token at init could be frozen in flight; credentials are resolved in the handler.
    fail(`option 'connect' must be 'first-use' with '${given[0]}': credentials are resolved in the handler`)
  }
  if (secret) {
    checkKeys(secret as unknown as Record<string, unknown>, 'secret', [
      'secretId',
      'versionStage',
      'clientConfig',
    ])
    checkString(secret.secretId, 'secret.secretId', true)
    checkString(secret.versionStage, 'secret.versionStage')
    const { clientConfig } = secret
    if (clientConfig !== undefined && (clientConfig === null || typeof clientConfig !== 'object')) {
      fail(`option 'secret.clientConfig' must be a SecretsManagerClient configuration object`)
    }
    return { secret: { ...secret } }
  }
  if (internalData) {
    checkKeys(internalData as Record<string, unknown>, 'internalData', [
      'user',
      'password',
      'host',
      'port',
      'database',
    ])
    for (const [name, key] of Object.entries(internalData)) checkString(key, `internalData.${name}`, true)
    if (!internalData.password)
      fail(`option 'internalData.password' is required: the request.internal key of the password`)
    return { internalData: { ...internalData } }
  }
  if (iam) {
    checkKeys(iam as unknown as Record<string, unknown>, 'iam', [
      'region',
      'hostname',
      'port',
      'username',
      'credentials',
      'getAuthToken',
    ])
    checkString(iam.region, 'iam.region')
    checkString(iam.hostname, 'iam.hostname')
    checkString(iam.username, 'iam.username')
    if (iam.port !== undefined && !(Number.isInteger(iam.port) && iam.port > 0 && iam.port < 65536)) {
      fail(`option 'iam.port' must be a TCP port (1-65535), got ${JSON.stringify(iam.port)}`)
    }
    if (iam.getAuthToken !== undefined && typeof iam.getAuthToken !== 'function') {
      fail(`option 'iam.getAuthToken' must be a function returning the token`)
    }
    if (!iam.username && !poolOptions.user)
      fail(`option 'iam.username' (or 'config.user') is required with 'iam'`)
    if (!iam.hostname && !poolOptions.host)
      fail(`option 'iam.hostname' (or 'config.host') is required with 'iam'`)
    if (!iam.getAuthToken && !iam.region && !process.env.AWS_REGION) {
      fail(`option 'iam.region' is required with 'iam' when AWS_REGION is not set`)
    }
    if (poolOptions.password !== undefined)
      fail(`option 'config.password' must not be set with 'iam': the token is the password`)
    // The token goes to the server in clear text (mysql_clear_password): only ever over TLS.
    if (!poolOptions.ssl) {
      fail(
        `option 'config.ssl' is required with 'iam': the token is sent in clear text, so TLS must be on (e.g. ssl: 'Amazon RDS' or { ca })`,
      )
    }
    return { iam: { ...iam } }
  }
  return {}
}

const validateConnectRetry = (value: unknown): ConnectRetrySettings => {
  const merged = { ...dbConnectionDefaults.connectRetry, ...(value as object) } as Record<string, unknown>
  checkKeys(merged, 'connectRetry', Object.keys(dbConnectionDefaults.connectRetry))
  for (const [name, number] of Object.entries(merged)) {
    const minimum = name === 'deadlineMarginMs' ? 0 : 1
    if (!Number.isInteger(number) || (number as number) < minimum) {
      fail(
        `option 'connectRetry.${name}' must be an integer >= ${minimum} (milliseconds), got ${JSON.stringify(number)}`,
      )
    }
  }
  return merged as unknown as ConnectRetrySettings
}

// program_name is what MySQL's and MariaDB's clients set, and what operators filter on in
// performance_schema.session_connect_attrs; the function's name tells one function's sessions apart.
const connectAttributes = (): Record<string, string> => {
  const attributes: Record<string, string> = { program_name: 'thaw', _thaw_package: packageName }
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME
  if (functionName) attributes.function_name = functionName
  return attributes
}

// Throws a TypeError naming the option at fault; returns the settings in their normal form.
export const dbConnectionValidateOptions = (options: DbConnectionOptions<string>): DbConnectionSettings => {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    return fail('options must be an object with at least { config }')
  }
  const credentialsOnly =
    (options as { secret?: unknown }).secret !== undefined ||
    (options as { internalData?: unknown }).internalData !== undefined
  if ((options as { config?: unknown }).config === undefined && !credentialsOnly) {
    fail(`option 'config' is required: ${expectations.config}`)
  }
  try {
    validateOptions(packageName, optionSchema, options as unknown as Record<string, unknown>)
  } catch (error) {
    if (!(error instanceof TypeError)) throw error
    const name = /option '([^'.]+)/i.exec(error.message)?.[1]
    const expected = name && expectations[name]
    fail(expected ? `option '${name}' must be ${expected}` : error.message)
  }
  const raw =
    typeof options.config === 'string'
      ? parseDsn(options.config)
      : { ...((options.config ?? {}) as PoolOptions) }
  checkPoolOptions(raw as Record<string, unknown>, 'config')
  const poolOptions: PoolOptions = { ...poolDefaults, ...raw }
  poolOptions.connectAttributes = { ...connectAttributes(), ...raw.connectAttributes }
  const credentials = validateCredentials(options, poolOptions)
  // RDS IAM authentication asks for mysql_clear_password, which mysql2 3.22+ refuses unless enabled.
  if (credentials.iam) poolOptions.enableCleartextPlugin = true
  const connectRetry = validateConnectRetry(options.connectRetry)
  const settings = { ...dbConnectionDefaults, ...options }
  const hasCredentials = Object.keys(credentials).length > 0
  return {
    contextKey: settings.contextKey,
    connect: settings.connect,
    validateAfterIdleMs: settings.validateAfterIdleMs,
    validateTimeoutMs: settings.validateTimeoutMs,
    resetSession: settings.resetSession,
    closeOnShutdown: settings.closeOnShutdown,
    logger: settings.logger,
    connectRetry,
    credentials,
    poolOptions,
    // Without another credential source, the key is that of the pool options alone, as before.
    key: hasCredentials ? stableKey({ credentials, poolOptions }) : stableKey(poolOptions),
    label: credentials.secret
      ? `${poolLabel(poolOptions)} (secret ${credentials.secret.secretId})`
      : poolLabel(poolOptions),
  }
}
