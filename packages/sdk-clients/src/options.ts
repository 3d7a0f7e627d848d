// The options table: the options type, the defaults, the checks and the messages follow from it.
// `clients` has a rule of its own (a map of client classes or definitions); the rest are @thaw/util's.
import {
  defaultsOf,
  describeValue,
  isPlainObject,
  type OptionsOf,
  objectShape,
  option,
  optionError,
  optionFailure,
  refuseReservedKeys,
  type SettingsOf,
  validateOptionTable,
} from '@thaw/util'
import { checkClientConfig, checkSharedConfig } from './client-config.ts'
import { packageName } from './errors.ts'
import { refuseAgentsWithoutKeepAlive } from './keep-alive.ts'
import type { AssumeRole, Capture, ClientClass, ClientSpec } from './types.ts'

const fail = optionFailure(packageName)

// A generated client class has send and destroy on its prototype (inherited from @smithy's Client,
// checked against @aws-sdk/client-s3 3.1175 and client-secrets-manager 3.1164).
export const isClientClass = (value: unknown): value is ClientClass =>
  typeof value === 'function' &&
  typeof value.prototype?.send === 'function' &&
  typeof value.prototype.destroy === 'function'

const clientClassExpected = 'an AWS SDK v3 client class (such as S3Client from @aws-sdk/client-s3)'

export const clientClassRule = option.rule<ClientClass, ClientClass>(
  clientClassExpected,
  undefined,
  (value, path, fail) => {
    if (isClientClass(value)) return value
    // A client instance is the likeliest mistake: say what to do instead.
    if (
      value !== null &&
      typeof value === 'object' &&
      typeof (value as { send?: unknown }).send === 'function'
    ) {
      throw optionError(
        packageName,
        path,
        `option '${path}' must be ${clientClassExpected}, got ${describeValue(value)}: pass the class itself, thaw constructs it once per execution environment`,
      )
    }
    return fail(path, clientClassExpected, value)
  },
)

// A client configuration, with the keys whose value is undefined left out: `{ region: undefined }`
// asks for what `{}` asks for (the SDK reads both as "not set"), so it must neither get a client of
// its own nor hide a region given in the shared `config`.
const definedEntries = (value: object): Record<string, unknown> => {
  const config: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) if (item !== undefined) config[key] = item
  return config
}

// Its keys become properties of the configuration the client is built from: an own '__proto__' key
// (JSON.parse makes one) would be dropped by the copy, and the first request would fail far from here
// ("Region is missing"), so it is refused by name, as every reserved key is.
const configExpected = 'an object (the client configuration)'

export const configRule = option.rule<object, Record<string, unknown>>(
  configExpected,
  {},
  (value, path, fail) => {
    if (value === undefined) return {}
    // A plain object only: a Map, a Date or a class instance passed here holds no keys the SDK reads,
    // and the client failed at its first request ("Region is missing").
    if (!isPlainObject(value)) return fail(path, configExpected, value)
    refuseReservedKeys(value, path, fail)
    return definedEntries(value)
  },
)

export const captureRule = option.function<Capture>('a function that takes a client and returns it')

const isAssumeRole = (value: unknown): value is AssumeRole =>
  (typeof value === 'string' && value.length > 0) ||
  (isPlainObject(value) &&
    typeof value.RoleArn === 'string' &&
    value.RoleArn.length > 0 &&
    (value.sdk === undefined || typeof value.sdk === 'function'))

export const assumeRoleRule = option.custom<AssumeRole>(
  'a role ARN or AssumeRole parameters with a RoleArn (and sdk, if given, a function)',
  isAssumeRole,
)

const definitionTable = {
  client: option.required(clientClassRule),
  config: configRule,
  capture: captureRule,
  assumeRole: assumeRoleRule,
}

// One `{ client, config?, capture?, assumeRole? }` definition; unknown keys are refused by name.
const definitionRule = option.nested(definitionTable, `a client class or ${objectShape(definitionTable)}`)

// One client, in its normal form: what the middleware builds it from. `config` is the shared
// config with the client's own merged over it key by key; `capture` and `assumeRole` are the
// client's own, or else the shared ones.
export interface ClientEntry {
  readonly name: string
  // The option path named in errors: 'clients.s3'.
  readonly path: string
  readonly clientClass: ClientClass
  readonly config: Readonly<Record<string, unknown>>
  readonly capture: Capture | undefined
  readonly assumeRole: AssumeRole | undefined
}

const clientsExpected = `an object naming at least one client (name → ${definitionRule.expected})`

// name → spec, normalised to entries; the shared options are applied in sdkClientsValidateOptions.
// A name becomes a property of `context.clients`: a reserved one ('__proto__' would become its
// prototype) is refused.
const clientsRule = option.rule<Record<string, ClientSpec>, readonly ClientEntry[]>(
  clientsExpected,
  undefined,
  (value, path, fail) => {
    if (!isPlainObject(value) || Object.keys(value).length === 0) return fail(path, clientsExpected, value)
    refuseReservedKeys(value, path, fail)
    return Object.entries(value).map(([name, spec]): ClientEntry => {
      const entryPath = `${path}.${name}`
      // A class, or a client instance (refused with a hint by the class rule).
      if (typeof spec === 'function' || typeof (spec as { send?: unknown } | null)?.send === 'function') {
        const clientClass = clientClassRule.normalise(spec, entryPath, fail)
        return { name, path: entryPath, clientClass, config: {}, capture: undefined, assumeRole: undefined }
      }
      if (!isPlainObject(spec)) return fail(entryPath, definitionRule.expected, spec)
      const definition = definitionRule.normalise(spec, entryPath, fail)
      checkClientConfig(definition.client, definition.config, `${entryPath}.config`, fail)
      return {
        name,
        path: entryPath,
        clientClass: definition.client,
        config: definition.config,
        capture: definition.capture,
        assumeRole: definition.assumeRole,
      }
    })
  },
)

export const sdkClientsOptionTable = {
  // name → client class, or { client, config?, capture?, assumeRole? } (documented on SdkClientsOptions)
  clients: option.required(clientsRule),
  /**
   * Shared by every client, under each client's own `config` (merged key by key): region,
   * credentials, endpoint, maxAttempts, requestHandler, …
   * @default {} (each client's own configuration, else the SDK's defaults)
   * @example sdkClients({ clients: { s3: S3Client, sqs: SQSClient }, config: { region: 'eu-west-1', maxAttempts: 2 } })
   */
  config: configRule,
  // Where the clients go on the Lambda context (documented on SdkClientsOptions).
  contextKey: option.propertyKey('clients'),
  /**
   * Wraps each client once, when it is built (AWSXRay.captureAWSv3Client, an OpenTelemetry hook);
   * returns the client to hand out. A client's own `capture` overrides it.
   * @default undefined (the clients as the SDK builds them)
   * @example sdkClients({ clients: { s3: S3Client }, capture: (client) => AWSXRay.captureAWSv3Client(client) })
   */
  capture: captureRule,
  /**
   * Every client signs with this role's temporary credentials (fromTemporaryCredentials): a role ARN,
   * or AssumeRole parameters with a RoleArn. A client's own `assumeRole` overrides it.
   * @default undefined (the Lambda role's credentials)
   * @example sdkClients({ clients: { s3: S3Client }, assumeRole: 'arn:aws:iam::123456789012:role/reader' })
   */
  assumeRole: assumeRoleRule,
}

type TableOptions = OptionsOf<typeof sdkClientsOptionTable>

// What a user passes. `clients` and `contextKey` keep their literal types, so that the context a
// handler sees names each client with its own class, under the key asked for.
export type SdkClientsOptions<
  TClients extends Record<string, ClientSpec> = Record<string, ClientSpec>,
  TKey extends string = 'clients',
> = Omit<TableOptions, 'clients' | 'contextKey'> & {
  /**
   * The clients to build, by the name they get on the context: a client class, or `{ client, config?,
   * capture?, assumeRole? }`. Each is built once per execution environment and shared by every
   * middleware that asks for the same class and configuration.
   * @default none (required)
   * @example sdkClients({ clients: { s3: S3Client, secrets: { client: SecretsManagerClient, config: { maxAttempts: 2 } } } })
   */
  clients: TClients
  /**
   * Where the clients go on the Lambda context: never one of its members nor Object.prototype's.
   * @default 'clients'
   * @example sdkClients({ clients: { s3: S3Client }, contextKey: 'aws' }) // context.aws.s3
   */
  contextKey?: TKey
}

// What the middleware works with: every client an entry with its effective config, capture and role.
export type SdkClientsSettings = SettingsOf<typeof sdkClientsOptionTable>

export const sdkClientsDefaults = defaultsOf(sdkClientsOptionTable)

/**
 * Throws a TypeError naming the option at fault; returns the settings, each client in its normal form.
 * @example const settings = sdkClientsValidateOptions({ clients: { s3: S3Client } }) // settings.clients[0].name === 's3'
 */
export const sdkClientsValidateOptions = (options: unknown): SdkClientsSettings => {
  const settings = validateOptionTable(packageName, sdkClientsOptionTable, options)
  checkSharedConfig(
    settings.clients.map((entry) => entry.clientClass),
    settings.config,
    'config',
    fail,
  )
  return {
    ...settings,
    clients: settings.clients.map((entry) => {
      const config = { ...settings.config, ...entry.config }
      refuseAgentsWithoutKeepAlive(config, `${entry.path}.config`)
      return {
        ...entry,
        config,
        capture: entry.capture ?? settings.capture,
        assumeRole: entry.assumeRole ?? settings.assumeRole,
      }
    }),
  }
}

// getClient's arguments, checked by the same rules (the path names the argument).
export const validateGetClientArguments = (
  clientClass: unknown,
  config: unknown,
  options: unknown,
): {
  clientClass: ClientClass
  config: Record<string, unknown>
  capture?: Capture
  assumeRole?: AssumeRole
} => {
  const checked = {
    clientClass: clientClassRule.normalise(clientClass, 'clientClass', fail),
    config: configRule.normalise(config, 'config', fail),
  }
  checkClientConfig(checked.clientClass, checked.config, 'config', fail)
  refuseAgentsWithoutKeepAlive(checked.config, 'config')
  // getClient defaults its options to {}: undefined is refused here as any other non-object.
  if (!isPlainObject(options)) return fail('options', 'an object ({ capture?, assumeRole? })', options)
  return {
    ...checked,
    capture: captureRule.normalise(options.capture, 'capture', fail),
    assumeRole: assumeRoleRule.normalise(options.assumeRole, 'assumeRole', fail),
  }
}
