import { type OptionSchema, validateOptions } from '@middy/util'
import type { AssumeRole, Capture, ClientClass, ClientSpec } from './types.ts'

export const packageName = '@thaw/sdk-clients'

export interface SdkClientsOptions<
  TClients extends Record<string, ClientSpec> = Record<string, ClientSpec>,
  TKey extends string = 'clients',
> {
  // name → client class, or { client, config?, capture?, assumeRole? }
  clients: TClients
  // Shared by every client, under each client's own config (merged key by key): region,
  // credentials, endpoint, maxAttempts, requestHandler, …
  config?: object
  // Where the clients go on the Lambda context.
  contextKey?: TKey
  // Wraps each client once, when it is built.
  capture?: Capture
  // Every client signs with this role's temporary credentials (fromTemporaryCredentials).
  assumeRole?: AssumeRole
}

export const defaults = {
  clients: {},
  config: {},
  contextKey: 'clients',
  capture: undefined,
  assumeRole: undefined,
}

// The shape of the options; each client entry is checked by hand below, because a schema can only
// say "invalid option" where a user needs to hear what a client class is.
const optionSchema: OptionSchema = {
  type: 'object',
  required: ['clients'],
  properties: {
    clients: { type: 'object' },
    config: { type: 'object' },
    contextKey: { type: 'string', minLength: 1 },
    capture: { instanceof: 'Function' },
    assumeRole: {
      oneOf: [
        { type: 'string', minLength: 1 },
        {
          type: 'object',
          required: ['RoleArn'],
          properties: { RoleArn: { type: 'string', minLength: 1 } },
          additionalProperties: true,
        },
      ],
    },
  },
  additionalProperties: false,
}

const clientDefinitionKeys = new Set(['client', 'config', 'capture', 'assumeRole'])

const describe = (value: unknown): string => {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') {
    const name = Object.getPrototypeOf(value)?.constructor?.name
    return name && name !== 'Object' ? `an instance of ${name}` : 'an object'
  }
  if (typeof value === 'function') return `the function ${value.name || '(anonymous)'}`
  return `a ${typeof value}`
}

const fail = (message: string): never => {
  throw new TypeError(`${packageName}: ${message}`, { cause: { package: packageName } })
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (value === null || typeof value !== 'object') return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

// A generated client class has send and destroy on its prototype (inherited from @smithy's Client).
export const isClientClass = (value: unknown): value is ClientClass =>
  typeof value === 'function' &&
  typeof value.prototype?.send === 'function' &&
  typeof value.prototype?.destroy === 'function'

const isAssumeRole = (value: unknown): value is AssumeRole =>
  (typeof value === 'string' && value.length > 0) ||
  (isPlainObject(value) && typeof value.RoleArn === 'string' && value.RoleArn.length > 0)

export const assertClientClass = (value: unknown, path: string): ClientClass => {
  if (isClientClass(value)) return value
  const hint =
    value !== null && typeof value === 'object' && typeof (value as { send?: unknown }).send === 'function'
      ? ': pass the class itself, thaw constructs it once per execution environment'
      : ''
  return fail(
    `option '${path}' must be an AWS SDK v3 client class (such as S3Client from @aws-sdk/client-s3), got ${describe(value)}${hint}`,
  )
}

export const assertConfig = (value: unknown, path: string): Record<string, unknown> => {
  if (value === undefined) return {}
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return value as Record<string, unknown>
  return fail(`option '${path}' must be an object (the client configuration), got ${describe(value)}`)
}

export const assertCapture = (value: unknown, path: string): Capture | undefined => {
  if (value === undefined || typeof value === 'function') return value as Capture | undefined
  return fail(
    `option '${path}' must be a function that takes a client and returns it, got ${describe(value)}`,
  )
}

export const assertAssumeRole = (value: unknown, path: string): AssumeRole | undefined => {
  if (value === undefined || isAssumeRole(value)) return value
  return fail(
    `option '${path}' must be a role ARN or AssumeRole parameters with a RoleArn, got ${describe(value)}`,
  )
}

// One client entry, in its normal form.
export interface ClientEntryOptions {
  name: string
  path: string
  clientClass: ClientClass
  config: Record<string, unknown>
  capture: Capture | undefined
  assumeRole: AssumeRole | undefined
}

export const normaliseClientEntry = (
  name: string,
  spec: unknown,
): Omit<ClientEntryOptions, 'capture' | 'assumeRole'> & {
  capture?: Capture
  assumeRole?: AssumeRole
} => {
  const path = `clients.${name}`
  if (typeof spec === 'function')
    return { name, path, clientClass: assertClientClass(spec, path), config: {} }
  if (!isPlainObject(spec) || !('client' in spec)) {
    return fail(`option '${path}' must be a client class or { client, config? }, got ${describe(spec)}`)
  }
  for (const key of Object.keys(spec)) {
    if (!clientDefinitionKeys.has(key)) {
      fail(`unknown option '${path}.${key}' (expected client, config, capture or assumeRole)`)
    }
  }
  const entry: ReturnType<typeof normaliseClientEntry> = {
    name,
    path,
    clientClass: assertClientClass(spec.client, `${path}.client`),
    config: assertConfig(spec.config, `${path}.config`),
  }
  const capture = assertCapture(spec.capture, `${path}.capture`)
  if (capture) entry.capture = capture
  const assumeRole = assertAssumeRole(spec.assumeRole, `${path}.assumeRole`)
  if (assumeRole) entry.assumeRole = assumeRole
  return entry
}

// Throws a TypeError naming the option at fault; returns the client entries in their normal form.
export const sdkClientsValidateOptions = (options: unknown): ClientEntryOptions[] => {
  if (!isPlainObject(options)) return fail(`options must be an object, got ${describe(options)}`)
  // Top-level types and unknown keys, with Middy's own validator (its messages name the option).
  try {
    validateOptions(packageName, optionSchema, options)
  } catch (error) {
    if (error instanceof TypeError) {
      fail(
        `${error.message}${/assumeRole/.test(error.message) ? ': expected a role ARN or { RoleArn, … }' : ''}`,
      )
    }
    throw error
  }
  assertConfig(options.config, 'config')
  const clients = options.clients as Record<string, unknown>
  const names = Object.keys(clients)
  if (names.length === 0) fail(`option 'clients' must name at least one client`)
  const capture = options.capture as Capture | undefined
  const assumeRole = options.assumeRole as AssumeRole | undefined
  return names.map((name) => {
    const entry = normaliseClientEntry(name, clients[name])
    return {
      ...entry,
      capture: entry.capture ?? capture,
      assumeRole: entry.assumeRole ?? assumeRole,
    }
  })
}
