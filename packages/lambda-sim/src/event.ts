// An event as Lambda takes it: JSON text. invoke() sends only an event that JSON carries faithfully,
// one the handler sees exactly as the caller built it; what JSON would drop, change or refuse is said
// before anything is dispatched, with where in the event it is.
import { isPlainObject } from '@thaw/util'
import { LambdaSimError, lambdaSimErrorCodes } from './errors.ts'
import { maxEventBytes } from './limits.ts'

const pathOf = (path: string, key: string) =>
  /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`

// Why JSON cannot carry `value` faithfully, naming where (event.items[2]), or undefined when it can:
// null, booleans, strings, finite numbers (-0 arrives as 0, as JSON has no -0), dense arrays of such,
// and plain objects of such with string keys. A property whose value is undefined is left out, as
// JSON leaves it out: the handler reads undefined either way.
const refusalOf = (value: unknown, path: string, open: Set<object>): string | undefined => {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON writes as null`
    case 'bigint':
      return `${path} is a BigInt, which JSON cannot write`
    case 'function':
      return `${path} is a function, which JSON leaves out`
    case 'symbol':
      return `${path} is a symbol, which JSON leaves out`
    case 'undefined':
      return `${path} is undefined, which JSON writes as null in an array and has no text for alone`
  }
  if (value === null) return undefined
  const object = value as object
  if (open.has(object)) return `${path} refers back to an object that contains it (a cycle)`
  open.add(object)
  try {
    if (Array.isArray(object)) {
      for (let index = 0; index < object.length; index++) {
        if (!(index in object)) return `${path}[${index}] is a hole, which JSON writes as null`
        const refusal = refusalOf(object[index], `${path}[${index}]`, open)
        if (refusal) return refusal
      }
      return undefined
    }
    if (object instanceof Number || object instanceof String || object instanceof Boolean)
      return `${path} is a boxed ${typeof object.valueOf()}, which JSON writes as its primitive value`
    if (!isPlainObject(object)) {
      const name = Object.getPrototypeOf(object)?.constructor?.name ?? 'an object'
      return `${path} is ${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}, which JSON turns into ${'toJSON' in object ? 'what its toJSON returns' : 'a plain object of its enumerable properties'}`
    }
    if (Object.getOwnPropertySymbols(object).length > 0)
      return `${path} has a symbol key, which JSON leaves out`
    for (const [key, item] of Object.entries(object)) {
      if (item === undefined) continue
      const refusal = refusalOf(item, pathOf(path, key), open)
      if (refusal) return refusal
    }
    return undefined
  } finally {
    open.delete(object)
  }
}

const refuse = (message: string, cause?: unknown): never => {
  throw new LambdaSimError(lambdaSimErrorCodes.eventRefused, `the event cannot be sent: ${message}`, {
    cause,
  })
}

/** The event's JSON text, or a LambdaSimError (THAW_LAMBDA_SIM_EVENT_REFUSED) saying why not. */
export const eventJsonOf = (event: unknown): string => {
  let refusal: string | undefined
  try {
    refusal = refusalOf(event, 'event', new Set())
  } catch (error) {
    // A nesting deeper than the stack (JSON.stringify would overflow it too), or a getter that throws.
    const why = error instanceof RangeError ? 'it is nested too deeply to write' : 'reading it threw'
    refuse(`${why} (${(error as Error)?.name ?? typeof error}); Lambda events are JSON`, error)
  }
  if (refusal) refuse(`${refusal}; Lambda events are JSON`)
  const json = JSON.stringify(event)
  const bytes = Buffer.byteLength(json)
  if (bytes > maxEventBytes)
    refuse(
      `it is ${bytes} bytes: Lambda refuses a synchronous request over ${maxEventBytes} bytes (RequestTooLargeException)`,
    )
  return json
}
