// What a refused option throws: the failure function of a package (the TypeError that names the
// option, what was expected and what was given), and the refusals of names: unknown ones (with the
// nearest known one) and reserved ones.
import { describeValue } from './describe.ts'
import { optionError } from './errors.ts'
import { nearestName } from './near-name.ts'
import { isReservedKey } from './property-keys.ts'

// Throws the TypeError for the option at `path`: what was expected, and what was given.
export type OptionFailure = (path: string, expected: string, value: unknown) => never

// The package a failure function throws for (kept beside the function, not in a global).
const packages = new WeakMap<OptionFailure, string>()
export const packageOf = (fail: OptionFailure): string => packages.get(fail) ?? '@thaw'

/**
 * The failure function of one package: it throws "option 'path' must be <expected>, got <value's kind>".
 * @example const fail = optionFailure('@thaw/orders'); fail('retries', 'an integer', 'three') // throws
 */
export const optionFailure = (packageName: string): OptionFailure => {
  const fail: OptionFailure = (path, expected, value) => {
    throw optionError(packageName, path, `option '${path}' must be ${expected}, got ${describeValue(value)}`)
  }
  packages.set(fail, packageName)
  return fail
}

// "did you mean 'region'?" when an unknown name is a near miss of a known one.
const suggestion = (name: string, known: Iterable<string>): string => {
  const near = nearestName(name, known)
  return near === undefined ? '' : `: did you mean '${near}'?`
}

/**
 * Refuses a name that is not one of `known`: "unknown option 'config.regoin' (expected one of …):
 * did you mean 'region'?". `what` says what the known names are, when they are not all listed.
 * @example refuseUnknownName(fail, 'config.regoin', 'regoin', ['region', 'endpoint']) // throws, suggesting 'region'
 */
export const refuseUnknownName = (
  fail: OptionFailure,
  path: string,
  name: string,
  known: readonly string[],
  what = `expected one of ${known.join(', ')}`,
): never => {
  throw optionError(packageOf(fail), path, `unknown option '${path}' (${what})${suggestion(name, known)}`)
}

/**
 * Refuses a key of `object` that must never become a property (isReservedKey: '__proto__',
 * 'constructor', the Lambda context's members), for an object whose keys become properties
 * elsewhere (client names, a configuration copied into another). Own keys only, and '__proto__'
 * as an own key too (JSON.parse makes one).
 * @example refuseReservedKeys(JSON.parse('{"__proto__": {}}'), 'clients', fail) // throws: a reserved name
 */
export const refuseReservedKeys = (object: object, path: string, fail: OptionFailure): void => {
  for (const key of Object.keys(object)) {
    if (isReservedKey(key)) {
      const keyPath = `${path}.${key}`
      throw optionError(
        packageOf(fail),
        keyPath,
        `option '${keyPath}' is a reserved name: the keys of '${path}' must not be members of the Lambda context or of Object.prototype`,
      )
    }
  }
}
