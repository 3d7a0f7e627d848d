// A stable text key for a client configuration, so that two middlewares (or a middleware and a
// handler) asking for the same thing get the same client: plain objects and arrays by value with
// sorted keys, undefined values dropped (`{ region: undefined }` asks for what `{}` asks for), and
// anything with an identity of its own (functions such as credential providers, class instances
// such as a request handler, an Agent or a logger) by that identity.
//
// @middy/util has a stableStringify, but it is private to its module and skips functions, which
// would give one client to two different credential providers.

const identities = new WeakMap<object, number>()
let nextIdentity = 1

const identityOf = (value: object): number => {
  let identity = identities.get(value)
  if (identity === undefined) {
    identity = nextIdentity++
    identities.set(value, identity)
  }
  return identity
}

const symbolIdentities = new Map<symbol, number>()

const isPlain = (value: object): boolean => {
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

const encode = (value: unknown, path: Set<object>): string => {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return JSON.stringify(value)
    case 'bigint':
      return `${value}n`
    case 'undefined':
      return 'undefined'
    case 'symbol': {
      let identity = symbolIdentities.get(value)
      if (identity === undefined) {
        identity = nextIdentity++
        symbolIdentities.set(value, identity)
      }
      return `#symbol${identity}`
    }
    case 'function':
      return `#ref${identityOf(value)}`
  }
  if (value === null) return 'null'
  const object = value as object
  // A URL or a Date says what it is by value.
  if (object instanceof URL) return `#url${JSON.stringify(object.href)}`
  if (object instanceof Date) return `#date${object.getTime()}`
  // A cycle or a class instance is keyed by identity.
  if (path.has(object) || !(Array.isArray(object) || isPlain(object))) return `#ref${identityOf(object)}`
  path.add(object)
  let text: string
  if (Array.isArray(object)) {
    text = `[${object.map((item) => encode(item, path)).join(',')}]`
  } else {
    const record = object as Record<string, unknown>
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
    text = `{${keys.map((key) => `${JSON.stringify(key)}:${encode(record[key], path)}`).join(',')}}`
  }
  path.delete(object)
  return text
}

export const configKey = (value: unknown): string => encode(value, new Set())
