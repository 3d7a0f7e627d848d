// Where a new connection's user and password come from: the configuration, a Secrets Manager secret
// (RDS JSON shape), values another middleware left in request.internal, or an IAM token. Each source
// returns a promise whose identity stands for the credentials it holds, so that a refused connect
// can ask for newer ones without two invocations fetching twice.
//
// Driver-agnostic: the driver package says who it is (DbDriver: its name, its error for unreadable
// credentials, the server's default port an IAM token is signed for).
import type { Request } from '@middy/core'
import { clearCache, getCache, getInternal, processCache } from '@middy/util'
import { getClient } from '@thaw/sdk-clients'
import { loadOptionalPeer } from './optional-peer.ts'
import type {
  AuthTokenParams,
  CredentialSettings,
  IamOptions,
  InternalData,
  SecretOptions,
} from './options.ts'
import type { Credentials, DbDriver } from './types.ts'

export type { Credentials }

export interface CredentialSource {
  readonly kind: 'secret' | 'internal' | 'iam'
  // The credentials for the next new connection.
  get(request: Request | undefined): Promise<Credentials>
  // Called once after the server refused `refused` for its password (MySQL's ER_ACCESS_DENIED_ERROR,
  // PostgreSQL's 28P01): newer credentials, or
  // undefined when this source has nothing newer to offer (the refusal then surfaces as it is).
  refresh(refused: Promise<Credentials>, request: Request | undefined): Promise<Credentials> | undefined
}

// Counted here per driver package (each package's stats say what it did), read by their stats.ts.
export interface CredentialCounters {
  secretFetches: number
  tokensSigned: number
}
const countersByPackage = new Map<string, CredentialCounters>()
const countersOf = (driver: DbDriver): CredentialCounters => {
  let counters = countersByPackage.get(driver.packageName)
  if (!counters) {
    counters = { secretFetches: 0, tokensSigned: 0 }
    countersByPackage.set(driver.packageName, counters)
  }
  return counters
}
export const credentialCounters = (packageName: string): Readonly<CredentialCounters> =>
  countersByPackage.get(packageName) ?? { secretFetches: 0, tokensSigned: 0 }

// A credentials failure, as the driver's own error (one process may use both drivers).
const fail = (driver: DbDriver, message: string, cause?: unknown): never => {
  throw driver.credentialsError(message, cause ? { cause } : undefined)
}

// The secret's JSON, in the shape RDS-managed and rotated secrets use. Nothing of the value appears
// in an error: only the names of the fields at fault.
export const parseRdsSecret = (driver: DbDriver, secretId: string, text: string | undefined): Credentials => {
  if (typeof text !== 'string') return fail(driver, `the secret '${secretId}' has no SecretString`)
  let value: Record<string, unknown>
  try {
    value = JSON.parse(text)
  } catch {
    return fail(driver, `the secret '${secretId}' is not JSON (expected {"username", "password", …})`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail(
      driver,
      `the secret '${secretId}' is not a JSON object (expected {"username", "password", …})`,
    )
  }
  const missing = ['username', 'password'].filter((name) => typeof value[name] !== 'string')
  if (missing.length > 0) fail(driver, `the secret '${secretId}' has no string ${missing.join(' and ')}`)
  const credentials: Credentials = { user: value.username as string, password: value.password as string }
  if (typeof value.host === 'string' && value.host) credentials.host = value.host
  const port = typeof value.port === 'string' ? Number.parseInt(value.port, 10) : value.port
  if (Number.isInteger(port)) credentials.port = port as number
  if (typeof value.dbname === 'string' && value.dbname) credentials.database = value.dbname
  return credentials
}

type SecretsManagerModule = typeof import('@aws-sdk/client-secrets-manager')
interface SecretsManager {
  client: InstanceType<SecretsManagerModule['SecretsManagerClient']>
  GetSecretValueCommand: SecretsManagerModule['GetSecretValueCommand']
}

// The Secrets Manager client is an optional peer, needed only with `secret`: its module loaded and
// the client built (no request) at init with `secret.prefetch`, else on first use.
const loadSecretsManager = async (driver: DbDriver, secret: SecretOptions): Promise<SecretsManager> => {
  // The option's type is the structural one (types.ts); the module it returns is the SDK's.
  const { SecretsManagerClient, GetSecretValueCommand } = secret.sdk
    ? ((await secret.sdk()) as SecretsManagerModule)
    : loadOptionalPeer<SecretsManagerModule>(driver, '@aws-sdk/client-secrets-manager', 'secret')
  return { client: getClient(SecretsManagerClient, secret.clientConfig ?? {}), GetSecretValueCommand }
}

const fetchSecret = async (
  driver: DbDriver,
  secret: SecretOptions,
  secretsManager: () => Promise<SecretsManager>,
): Promise<Credentials> => {
  const { client, GetSecretValueCommand } = await secretsManager()
  countersOf(driver).secretFetches++
  let output: { SecretString?: string }
  try {
    output = await client.send(
      new GetSecretValueCommand({
        SecretId: secret.secretId,
        ...(secret.versionStage ? { VersionStage: secret.versionStage } : {}),
      }),
    )
  } catch (error) {
    const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } }
    return fail(
      driver,
      `reading the secret '${secret.secretId}' failed: ${name ?? 'Error'}${$metadata?.httpStatusCode ? ` (HTTP ${$metadata.httpStatusCode})` : ''}`,
      error,
    )
  }
  return parseRdsSecret(driver, secret.secretId, output.SecretString)
}

// Cached with @middy/util's processCache for the life of the environment, or until `maxAgeMs` has
// passed since the fetch. The promise is cached as soon as the fetch starts, so concurrent invocations
// (Managed Instances) share one GetSecretValue; a failed fetch leaves the cache so the next invocation
// tries again. Credentials matter only when a connection is opened, so the age is checked there and
// never on a warm invocation that reuses its connection.
//
// Prefetch (Middy's convention, without its request: AWS advises against network calls at init, which
// provisioned concurrency can freeze in flight): the client's module is evaluated and the client built
// while the module initialises, so the first invocation only sends GetSecretValue, as a hand-written
// handler with a module-scope client does. A failure there is not kept: the first fetch tries again
// and reports it.
const secretSource = (driver: DbDriver, secret: SecretOptions, cacheKey: string): CredentialSource => {
  const cacheOptions = { cacheKey, cacheExpiry: -1 }
  const fetchedAt = new WeakMap<Promise<Credentials>, number>()
  let secretsManager: Promise<SecretsManager> | undefined
  const prepare = (): Promise<SecretsManager> => {
    if (!secretsManager) {
      const loading = loadSecretsManager(driver, secret)
      secretsManager = loading
      loading.catch(() => {
        if (secretsManager === loading) secretsManager = undefined
      })
    }
    return secretsManager
  }
  if (secret.prefetch !== false) prepare().catch(() => {})
  const load = (): Promise<Credentials> => {
    const { value } = processCache(cacheOptions, () => fetchSecret(driver, secret, prepare)) as {
      value: Promise<Credentials>
    }
    if (!fetchedAt.has(value)) fetchedAt.set(value, Date.now())
    value.catch(() => {
      if ((getCache(cacheKey) as { value?: unknown }).value === value) clearCache(cacheKey)
    })
    return value
  }
  const isStale = (value: unknown): boolean => {
    if (secret.maxAgeMs === undefined) return false
    const at = fetchedAt.get(value as Promise<Credentials>)
    return at !== undefined && Date.now() - at > secret.maxAgeMs
  }
  return {
    kind: 'secret',
    get() {
      const cached = (getCache(cacheKey) as { value?: unknown }).value
      if (isStale(cached)) clearCache(cacheKey)
      return load()
    },
    refresh(refused) {
      // Only the first invocation to see the refused version fetches anew; the others join it.
      if ((getCache(cacheKey) as { value?: unknown }).value === refused) clearCache(cacheKey)
      return load()
    },
  }
}

const internalSource = (driver: DbDriver, internalData: InternalData): CredentialSource => ({
  kind: 'internal',
  async get(request) {
    if (!request)
      return fail(driver, `option 'internalData' needs an invocation: credentials come from request.internal`)
    const values = (await getInternal(internalData, request)) as Record<string, unknown>
    const credentials: Credentials = {}
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined || value === null) {
        fail(
          driver,
          `option 'internalData.${name}': request.internal has nothing at '${internalData[name as keyof InternalData]}'`,
        )
      }
      if (name === 'port') credentials.port = Number(value)
      else (credentials as Record<string, unknown>)[name] = String(value)
    }
    return credentials
  },
  // What another middleware left in request.internal is its own to refresh.
  refresh: () => undefined,
})

// What an IAM token is signed for when the iam options do not say: the configuration's own.
export interface ConfiguredEndpoint {
  host?: string | undefined
  port?: number | undefined
  user?: string | undefined
}

const iamSource = (driver: DbDriver, iam: IamOptions, configured: ConfiguredEndpoint): CredentialSource => {
  const params: AuthTokenParams = {
    hostname: iam.hostname ?? (configured.host as string),
    port: iam.port ?? configured.port ?? driver.defaultPort,
    username: iam.username ?? (configured.user as string),
    region: iam.region ?? process.env.AWS_REGION,
  }
  const { getAuthToken } = iam
  let signing: Promise<(p: AuthTokenParams) => string | Promise<string>> | undefined
  const signer = () => {
    signing ??= getAuthToken
      ? Promise.resolve(getAuthToken)
      : // Loaded on first use: the RDS signer is an optional peer, needed only with `iam`. Signing is
        // local (SigV4 presigning with the role's credentials): no network call.
        Promise.resolve(
          iam.sdk
            ? iam.sdk()
            : loadOptionalPeer<typeof import('@aws-sdk/rds-signer')>(driver, '@aws-sdk/rds-signer', 'iam'),
        ).then(({ Signer }) => {
          const instance = new Signer({
            hostname: params.hostname,
            port: params.port,
            username: params.username,
            region: params.region as string,
            ...(iam.credentials ? { credentials: iam.credentials as never } : {}),
          })
          return () => instance.getAuthToken()
        })
    return signing
  }
  return {
    kind: 'iam',
    // A token lives 15 minutes and matters only at connect: one for each new connection.
    async get() {
      const token = await (await signer())(params)
      countersOf(driver).tokensSigned++
      if (typeof token !== 'string' || token === '')
        fail(driver, `option 'iam': the token source returned no token`)
      return { user: params.username, password: token }
    },
    // Every new connection is signed afresh already.
    refresh: () => undefined,
  }
}

// The source for a configuration's credentials; `key` (the registry key, which never holds a
// password) names the secret's cache entry.
export const credentialSource = (
  driver: DbDriver,
  settings: { credentials: CredentialSettings; endpoint: ConfiguredEndpoint; key: string },
): CredentialSource | undefined => {
  const { credentials } = settings
  if (credentials.secret) {
    return secretSource(
      driver,
      credentials.secret as SecretOptions,
      `${driver.packageName}:secret:${settings.key}`,
    )
  }
  if (credentials.internalData) return internalSource(driver, credentials.internalData as InternalData)
  if (credentials.iam) return iamSource(driver, credentials.iam as IamOptions, settings.endpoint)
  return undefined
}
