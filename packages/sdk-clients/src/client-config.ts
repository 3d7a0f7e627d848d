// What thaw checks of an AWS SDK client configuration before any client is built: its keys, and the
// values of the few keys whose mistakes the SDK accepts at construction and reports only at the
// first request, far from the option (checked against @aws-sdk/client-s3 3.1175 and
// client-secrets-manager 3.1164: `maxAttempts: -1` and `endpoint: 42` construct a client; a key
// the client does not know, `regoin`, is kept and ignored, and the first request fails "Region is
// missing").
import { type OptionFailure, refuseUnknownName } from '@thaw/util'
import type { ClientClass } from './types.ts'

// Keys a client takes that its resolved `config` does not list: read once while it resolves the
// others (keyof S3ClientConfig and SecretsManagerClientConfig, less the keys of a default client's
// config, in the versions above).
const inputOnlyKeys = ['profile', 'cacheMiddleware', 'signingRegion', 'signerConstructor']

const knownKeysByClass = new WeakMap<ClientClass, ReadonlySet<string> | undefined>()

// The keys a client class takes: those of the configuration a client built with none resolves to
// (every generated client resolves each key it knows, its own ones included: forcePathStyle for S3),
// and the input-only ones. A client is built for it once per class and destroyed (building one opens
// no connection). Undefined for a class that does not build that way (a hand-made client): its keys
// are then its own business.
const knownKeysOf = (clientClass: ClientClass): ReadonlySet<string> | undefined => {
  if (knownKeysByClass.has(clientClass)) return knownKeysByClass.get(clientClass)
  let known: ReadonlySet<string> | undefined
  try {
    const client = new clientClass({})
    const config = (client as { config?: unknown }).config
    if (config !== null && typeof config === 'object')
      known = new Set([...Object.keys(config), ...inputOnlyKeys])
    client.destroy()
  } catch {
    known = undefined
  }
  knownKeysByClass.set(clientClass, known)
  return known
}

const isUrlString = (value: string): boolean => {
  try {
    const { protocol } = new URL(value)
    return protocol === 'http:' || protocol === 'https:'
  } catch {
    return false
  }
}

// The SDK takes a value or a provider (a function) for each of these.
const valueChecks: Record<string, { expected: string; isValid: (value: unknown) => boolean }> = {
  region: {
    expected: "a non-empty string (such as 'eu-west-1') or a function returning one",
    isValid: (value) => (typeof value === 'string' && value.length > 0) || typeof value === 'function',
  },
  maxAttempts: {
    expected: 'an integer of 1 or more (attempts, the first one included) or a function returning one',
    isValid: (value) =>
      (Number.isSafeInteger(value) && (value as number) >= 1) || typeof value === 'function',
  },
  endpoint: {
    expected:
      'an http(s) URL (a string or a URL), an endpoint object ({ url } or { hostname, protocol }) or a function returning one',
    isValid: (value) =>
      (typeof value === 'string' && isUrlString(value)) ||
      value instanceof URL ||
      typeof value === 'function' ||
      (value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        ('url' in value || 'hostname' in value)),
  },
  retryMode: {
    expected: "'standard' or 'adaptive', or a function returning one",
    isValid: (value) => value === 'standard' || value === 'adaptive' || typeof value === 'function',
  },
  credentials: {
    expected: 'AWS credentials ({ accessKeyId, secretAccessKey }) or a credential provider',
    isValid: (value) => typeof value === 'function' || (value !== null && typeof value === 'object'),
  },
}

const checkValues = (config: Record<string, unknown>, path: string, fail: OptionFailure): void => {
  for (const [key, { expected, isValid }] of Object.entries(valueChecks)) {
    if (Object.hasOwn(config, key) && !isValid(config[key])) fail(`${path}.${key}`, expected, config[key])
  }
}

const checkKeys = (
  config: Record<string, unknown>,
  known: ReadonlySet<string>,
  path: string,
  fail: OptionFailure,
  what: string,
): void => {
  for (const key of Object.keys(config)) {
    if (!known.has(key)) refuseUnknownName(fail, `${path}.${key}`, key, [...known], what)
  }
}

/** Checks one client's configuration against its class: unknown keys by name, and the values above. */
export const checkClientConfig = (
  clientClass: ClientClass,
  config: Record<string, unknown>,
  path: string,
  fail: OptionFailure,
): void => {
  const known = knownKeysOf(clientClass)
  if (known)
    checkKeys(config, known, path, fail, `not a configuration key of ${clientClass.name || 'the client'}`)
  checkValues(config, path, fail)
}

/** The shared configuration: each key must be one that at least one of the clients takes. */
export const checkSharedConfig = (
  clientClasses: readonly ClientClass[],
  config: Record<string, unknown>,
  path: string,
  fail: OptionFailure,
): void => {
  const sets = clientClasses.map(knownKeysOf)
  if (sets.every((known) => known !== undefined)) {
    const known = new Set(sets.flatMap((set) => [...(set as ReadonlySet<string>)]))
    checkKeys(config, known, path, fail, 'not a configuration key of any of the clients')
  }
  checkValues(config, path, fail)
}
