// A stable text key for a configuration, so that two middlewares (or a middleware and a handler)
// asking for the same thing share one resource (a pool, a client): plain objects and arrays by value
// with sorted keys, undefined values dropped (`{ region: undefined }` asks for what `{}` asks for),
// numbers, bytes (a CA certificate), dates and URLs by value and by type (1 is not '1', NaN is not
// null), and anything with an identity of its own (functions such as credential providers, class
// instances such as a request handler, an Agent or a logger) by that identity. Values under a secret
// name (a password) are keyed by an HMAC with a per-process random key, so the key tells passwords
// apart without being a guessable digest of one.
//
// @middy/util 7.9 has a stableStringify, but it is private to its module and skips functions, which
// would give one client to two different credential providers.
import { createHmac, randomBytes } from './node-builtins.ts'

// Each object, function or symbol gets a number of its own the first time it is keyed.
const identities = new WeakMap<object, number>()
const symbolIdentities = new Map<symbol, number>()
let nextIdentity = 1

const identityIn = <Key>(
  table: { get(key: Key): number | undefined; set(key: Key, value: number): unknown },
  key: Key,
) => {
  let identity = table.get(key)
  if (identity === undefined) {
    // Stryker disable next-line UpdateOperator: counting down gives every object, function and symbol a number of its own just as counting up does, and no number is ever shown
    identity = nextIdentity++
    table.set(key, identity)
  }
  return identity
}
const identityOf = (value: object): number => identityIn(identities, value)
const symbolIdentityOf = (value: symbol): number => identityIn(symbolIdentities, value)

const digestKey = randomBytes(32)
const digest = (value: unknown): string =>
  `#hmac${createHmac('sha256', digestKey).update(String(value)).digest('hex')}`

// A plain object: made by a literal, JSON.parse or Object.create(null), in this realm or another
// (structuredClone and a vm context make objects whose Object.prototype is not this one).
const isPlain = (value: object): boolean => {
  const prototype = Object.getPrototypeOf(value)
  return prototype === null || (Object.getPrototypeOf(prototype) === null && !Array.isArray(value))
}

interface Walk {
  path: Set<object>
  secretNames: ReadonlySet<string>
  ignoredNames: ReadonlySet<string>
}

const encode = (value: unknown, walk: Walk): string => {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
    case 'number':
      // JSON.stringify says null for NaN and both infinities: `{ timeoutMs: Infinity }` shared the
      // resource of `{ timeoutMs: null }` (found by mutation testing). Finite numbers read
      // as JSON does (-0 is 0).
      return Number.isFinite(value) ? JSON.stringify(value) : `#number${value}`
    case 'bigint':
      return `${value}n`
    case 'undefined':
      return 'undefined'
    case 'symbol':
      return `#symbol${symbolIdentityOf(value)}`
    // Stryker disable next-line ConditionalExpression: without this case a function falls through to the check below, which keys it by identity with the same #ref numbering
    case 'function':
      return `#ref${identityOf(value)}`
  }
  if (value === null) return 'null'
  const object = value as object
  // A URL, a Date or bytes say what they are by value.
  if (object instanceof URL) return `#url${JSON.stringify(object.href)}`
  if (object instanceof Date) return `#date${object.getTime()}`
  if (ArrayBuffer.isView(object)) {
    return `#bytes${Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString('base64')}`
  }
  // A cycle or a class instance is keyed by identity.
  if (walk.path.has(object) || !(Array.isArray(object) || isPlain(object))) return `#ref${identityOf(object)}`
  walk.path.add(object)
  let text: string
  if (Array.isArray(object)) {
    text = `[${object.map((item) => encode(item, walk)).join(',')}]`
  } else {
    const record = object as Record<string, unknown>
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined && !walk.ignoredNames.has(key))
      .sort()
    const entries = keys.map((key) => {
      const item = record[key]
      return `${JSON.stringify(key)}:${walk.secretNames.has(key) ? digest(item) : encode(item, walk)}`
    })
    // Stryker disable next-line StringLiteral: each entry starts with its JSON-quoted name and every value's text ends on its own (a quote, a bracket, or text without one), so entries stay apart without the comma
    text = `{${entries.join(',')}}`
  }
  walk.path.delete(object)
  return text
}

const noNames: ReadonlySet<string> = new Set()

/**
 * The one definition of "the same configuration": a string equal for two configurations that ask for
 * the same resource (values by value, functions and class instances by identity). `secretNames` are
 * keyed by a per-process digest, never by value; `ignoredNames` (how a thing is loaded rather than
 * what it is) are left out of the key.
 * @example configurationKey({ host: 'db', password: 'pw' }, new Set(['password'])) === configurationKey({ password: 'pw', host: 'db' }, new Set(['password'])) // true
 */
export const configurationKey = (
  value: unknown,
  secretNames: ReadonlySet<string> = noNames,
  ignoredNames: ReadonlySet<string> = noNames,
): string => encode(value, { path: new Set(), secretNames, ignoredNames })
