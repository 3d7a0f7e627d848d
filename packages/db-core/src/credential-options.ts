// What every driver's validateOptions does around its own `config`: the config given as a URL or as
// the driver's object (configOption), the rules that span options (credentials come from one place,
// are resolved in the handler, and what iam needs of the config: checkCredentials), and the types and
// names that follow. Each message starts with the driver's package name and names the option path;
// none shows a value that may hold a secret (a URL, a password, an object's contents).
import {
  defaultsOf,
  isPlainObject,
  type OptionRule,
  type OptionsOf,
  type OptionTable,
  optionError,
  type SettingsOf,
} from '@thaw/util'
import type { CredentialSettings, IamOptions, InternalData, SecretOptions } from './options.ts'

const failFor =
  (packageName: string) =>
  (optionPath: string, message: string): never => {
    throw optionError(packageName, optionPath, message)
  }

// The options a table holds for credentials: `config` and the three other sources.
export type CredentialOptionNames = 'config' | 'secret' | 'internalData' | 'iam'

// Credentials come from the config, or from exactly one of `secret`, `internalData`, `iam`; the type
// says so, where the table alone would make every option optional. `Given` is what `config` may be
// when it is the only source (db-connection takes `process.env.DATABASE_URL`, string | undefined, and
// refuses an unset one at init).
export type CredentialOptions<Config, Given = Config> =
  | (Pick<CredentialFields<Given>, 'config'> &
      Partial<Pick<CredentialFields<Config>, 'iam'>> & { secret?: undefined; internalData?: undefined })
  | (Partial<Pick<CredentialFields<Config>, 'config'>> &
      Pick<CredentialFields<Config>, 'secret'> & { internalData?: undefined; iam?: undefined })
  | (Partial<Pick<CredentialFields<Config>, 'config'>> &
      Pick<CredentialFields<Config>, 'internalData'> & { secret?: undefined; iam?: undefined })

// The credential options, documented once: each member of CredentialOptions picks from here, and a
// Pick (a homomorphic mapped type) keeps the JSDoc an editor shows on hover.
interface CredentialFields<Config> {
  /**
   * The connection: a URL (mysql://user:password@host:3306/db, postgres://…) or the driver's own
   * config object (mysql2's PoolOptions, pg's ClientConfig with `max`). Required unless `secret` or
   * `internalData` gives the credentials; then it holds the rest (host, database, TLS).
   * @default none
   * @example dbConnection({ config: process.env.DATABASE_URL })
   */
  config: Config
  /**
   * A Secrets Manager secret in the RDS JSON shape (username, password; host, port, dbname), read once
   * per environment and again when the database refuses the password after a rotation.
   * @default none (credentials from config)
   * @example dbConnection({ config: 'mysql://db.example:3306/orders', secret: { secretId: 'orders/db', sdk: () => import('@aws-sdk/client-secrets-manager') } })
   */
  secret: SecretOptions
  /**
   * Connection option → request.internal key (dotted paths allowed), as @middy/rds's internalData:
   * credentials another middleware (@middy/secrets-manager) put there.
   * @default none
   * @example dbConnection({ config, internalData: { user: 'db.username', password: 'db.password' } })
   */
  internalData: InternalData
  /**
   * IAM authentication: a token from @aws-sdk/rds-signer (or getAuthToken) for each new connection;
   * needs TLS in config.
   * @default none
   * @example dbConnection({ config: { host, user: 'app', ssl: 'Amazon RDS' }, iam: { region: 'eu-west-1' } })
   */
  iam: IamOptions
}

// The options besides the credentials, with the context key's literal type.
export type DriverBaseOptions<Table extends OptionTable, TKey extends string> = Omit<
  OptionsOf<Table>,
  CredentialOptionNames | 'contextKey'
> & {
  /**
   * Where the middleware puts the connection on the context. Never a member of the Lambda context
   * (context.getRemainingTimeInMillis replaced would break Middy's timeout) or of Object.prototype.
   * @default 'db'
   * @example dbConnection({ config, contextKey: 'orders' }) // context.orders
   */
  contextKey?: TKey
}

// The defaults of the options that have one (credentials have none).
export const defaultsBesideCredentials = <Table extends OptionTable>(table: Table) => {
  const { config: _c, secret: _s, internalData: _i, iam: _a, ...defaults } = defaultsOf(table)
  return defaults as Omit<ReturnType<typeof defaultsOf<Table>>, CredentialOptionNames>
}

// Where an SDK module comes from (`sdk`) and whether it is loaded at init (`prefetch`) do not make
// another configuration: two middlewares with the same secret share one pool whatever loads the client.
export const keyIgnoredNames: ReadonlySet<string> = new Set(['sdk', 'prefetch'])

// What logs and errors may show of a configuration: its label, and the secret's id it reads.
export const configurationLabel = (label: string, credentials: CredentialSettings): string =>
  credentials.secret ? `${label} (secret ${credentials.secret.secretId})` : label

// `config`: a URL (the driver's parse) or the driver's own object, normalised to the object (a copy:
// the caller's object is never changed), and checked by the driver (check).
export const configOption = <Config extends object>(
  expected: string,
  parse: (text: string) => Config,
  check: (config: Record<string, unknown>) => void,
): OptionRule<string | Config, Config | undefined> => ({
  expected,
  default: undefined,
  normalise: (value, path, failWith) => {
    if (value === undefined) return undefined
    if (typeof value === 'string') {
      const parsed = parse(value)
      check(parsed as Record<string, unknown>)
      return parsed
    }
    if (!isPlainObject(value)) failWith(path, expected, value)
    const copy = { ...(value as Config) }
    check(copy as Record<string, unknown>)
    return copy
  },
})

// The URL `config` was given as, when it is one with a protocol the driver reads. The text itself
// never appears in an error: it may hold a password.
export const configUrl = (
  packageName: string,
  text: string,
  url: { kind: string; example: string; protocols: readonly [string, string] },
): URL => {
  const fail = failFor(packageName)
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    return fail('config', `option 'config' must be ${url.example}, got a string that is not a URL`)
  }
  const [protocol, alias] = url.protocols
  if (parsed.protocol !== `${protocol}:` && parsed.protocol !== `${alias}:`) {
    fail(
      'config',
      `option 'config' must be a ${protocol}:// (or ${alias}://) ${url.kind}, got the protocol '${parsed.protocol}'`,
    )
  }
  return parsed
}

// What the credential rules read of the settings and of the driver's config (after its defaults).
export interface CredentialChoice {
  readonly config: unknown
  readonly connect: 'init' | 'first-use'
  readonly secret: CredentialSettings['secret']
  readonly internalData: CredentialSettings['internalData']
  readonly iam: CredentialSettings['iam']
}
export interface ConfiguredConnection {
  readonly user?: unknown
  readonly host?: unknown
  readonly password?: unknown
  readonly ssl?: unknown
}

// The rules that span options: a config or another source is given, credentials come from one
// place and are resolved in the handler, and iam has what a token needs (a user, a host, a region,
// no password of its own, TLS: `tlsExample` says how the driver turns it on).
export const checkCredentials = (
  packageName: string,
  settings: CredentialChoice,
  config: ConfiguredConnection,
  driver: { configExpected: string; tlsExample: string },
): CredentialSettings => {
  const fail = failFor(packageName)
  const { secret, internalData, iam } = settings
  if (settings.config === undefined && secret === undefined && internalData === undefined) {
    fail('config', `option 'config' is required: ${driver.configExpected}`)
  }
  const given = (['secret', 'internalData', 'iam'] as const).filter((name) => settings[name] !== undefined)
  if (given.length > 1) {
    fail(
      given[1] as string,
      `options ${given.map((name) => `'${name}'`).join(' and ')} exclude each other: credentials come from one place`,
    )
  }
  if (given.length === 1 && settings.connect === 'init') {
    // A fetch or a token at init could be frozen in flight; credentials are resolved in the handler.
    fail(
      'connect',
      `option 'connect' must be 'first-use' with '${given[0]}': credentials are resolved in the handler`,
    )
  }
  if (secret) return { secret }
  // Only the keys given: request.internal is read at each one.
  if (internalData) {
    return {
      internalData: Object.fromEntries(
        Object.entries(internalData).filter(([, key]) => key !== undefined),
      ) as typeof internalData,
    }
  }
  if (iam) {
    if (!iam.username && !config.user)
      fail('iam.username', `option 'iam.username' (or 'config.user') is required with 'iam'`)
    if (!iam.hostname && !config.host)
      fail('iam.hostname', `option 'iam.hostname' (or 'config.host') is required with 'iam'`)
    if (!iam.getAuthToken && !iam.region && !process.env.AWS_REGION)
      fail('iam.region', `option 'iam.region' is required with 'iam' when AWS_REGION is not set`)
    if (config.password !== undefined) {
      fail(
        'config.password',
        `option 'config.password' must not be set with 'iam': the token is the password`,
      )
    }
    // The token goes to the server as a clear-text password (mysql_clear_password, PostgreSQL's
    // password message): only ever over TLS.
    if (!config.ssl) {
      fail(
        'config.ssl',
        `option 'config.ssl' is required with 'iam': the token is sent in clear text, so TLS must be on (e.g. ${driver.tlsExample})`,
      )
    }
    return { iam }
  }
  return {}
}

// The settings of a driver's table once the credentials are checked: everything but them.
export type SettingsBesideCredentials<Table extends OptionTable> = Omit<
  SettingsOf<Table>,
  CredentialOptionNames
>
