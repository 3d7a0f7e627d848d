// Bad values for each kind of option, and a generated check that drives a catalogue of them through a
// package's construction: every one must be refused there with a TypeError whose message names the
// option's path and whose cause says the same path (CONTRIBUTING.md: bad options fail at
// construction, naming the option). The catalogue of a package lists its option paths with the kind
// of value each takes; the values come from here, so every package is tried with the same hostile
// values (the wrong types, the edges of a range, look-alike strings, misspelt names).
import fc from 'fast-check'

// One bad option: its path and the value given there, and the other options it needs beside it
// (paths to values: a nested option's required neighbours), set first.
export type BadOption = readonly [path: string, value: unknown, alongside?: Readonly<Record<string, unknown>>]

const sample = {
  symbol: Symbol('bad'),
  fn: function notAnOption() {},
  date: new Date(0),
  regexp: /x/,
  map: new Map(),
  instance: new (class Thing {})(),
}

// Values of every type but strings ('' and look-alikes are added by the kinds that need them).
const nonStrings = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.bigInt({ min: -10n, max: 10n }),
    fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
    fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
    // Objects that are not plain ones, weighted so that each entry meets them.
    { arbitrary: fc.noBias(fc.constantFrom(...Object.values(sample))), weight: 3 },
  )

const isNot =
  (...kinds: string[]) =>
  (value: unknown): boolean =>
    !kinds.includes(value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value)

/** Bad values by the kind of value an option takes. */
export const badValues = {
  /** Anything but a non-empty string. */
  string: (): fc.Arbitrary<unknown> => fc.oneof(fc.constant(''), nonStrings()),

  /** Anything but true or false, the strings and numbers that look like them first. */
  boolean: (): fc.Arbitrary<unknown> =>
    fc.oneof(fc.constantFrom('true', 'false', 0, 1, 'yes'), nonStrings().filter(isNot('boolean'))),

  /**
   * Anything but an integer from `minimum` to `maximum` (Infinity: no bound above), the neighbours of
   * each bound, fractions between them, numeric strings and bigints among them.
   */
  integer: (minimum: number, maximum: number): fc.Arbitrary<unknown> => {
    const outside: fc.Arbitrary<number>[] = [
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
      fc.double({ min: minimum, max: maximum, noInteger: true, noNaN: true }),
    ]
    if (minimum > Number.MIN_SAFE_INTEGER)
      outside.push(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: minimum - 1 }), fc.constant(minimum - 1))
    // Up to the largest safe integer: the next ones are not safe. Infinity: no bound above.
    if (maximum === Number.MAX_SAFE_INTEGER) outside.push(fc.constant(Number.MAX_SAFE_INTEGER + 2))
    if (maximum < Number.MAX_SAFE_INTEGER)
      outside.push(fc.integer({ min: maximum + 1, max: Number.MAX_SAFE_INTEGER }), fc.constant(maximum + 1))
    return fc.oneof(
      ...outside,
      fc.constantFrom(String(minimum), String(maximum), BigInt(Math.max(minimum, 1))),
      nonStrings().filter(isNot('number')),
      fc.string(),
    )
  },

  /** Anything but one of `values`: other strings, the same ones in another case or padded. */
  oneOf: (values: readonly (string | number | boolean)[]): fc.Arbitrary<unknown> =>
    fc
      .oneof(
        fc.string(),
        fc.constantFrom(...values.map((value) => String(value).toUpperCase())),
        fc.constantFrom(...values.map((value) => ` ${String(value)}`)),
        nonStrings(),
      )
      .filter((value) => !values.includes(value as string)),

  /** Anything but a function. */
  function: (): fc.Arbitrary<unknown> => fc.oneof(fc.string(), nonStrings().filter(isNot('function'))),

  /**
   * A name that must not become a property of the Lambda context, or no string: Object.prototype's
   * names, 'prototype', and the context's members (the caller passes @thaw/util's list of them).
   */
  propertyKey: (contextMembers: readonly string[]): fc.Arbitrary<unknown> =>
    fc.oneof(
      fc.constantFrom('', 'prototype', ...Object.getOwnPropertyNames(Object.prototype), ...contextMembers),
      nonStrings(),
    ),

  /**
   * Anything but a plain object: arrays, dates, maps, class instances among them (null left out: a
   * nested table takes it as "all defaults").
   */
  object: (): fc.Arbitrary<unknown> =>
    fc.oneof(
      fc.string(),
      nonStrings().filter(
        (value) =>
          value !== null &&
          !(typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))),
      ),
    ),
}

// One slip of the keyboard in `name`: two neighbours swapped, a letter left out or doubled, or the
// case changed.
const typoOf = (name: string): fc.Arbitrary<string> =>
  fc
    .integer({ min: 0, max: name.length - 1 })
    .chain((at) =>
      fc.constantFrom(
        name.slice(0, at) + (name[at + 1] ?? '') + (name[at] ?? '') + name.slice(at + 2),
        name.slice(0, at) + name.slice(at + 1),
        name.slice(0, at + 1) + name.slice(at),
        name.toUpperCase(),
        name.toLowerCase(),
      ),
    )

/** The bad values of one option, as catalogue entries, with the options it needs beside it. */
export const badOption = (
  path: string,
  values: fc.Arbitrary<unknown>,
  alongside: Readonly<Record<string, unknown>> = {},
): fc.Arbitrary<BadOption> => values.map((value) => [path, value, alongside] as const)

/**
 * A misspelt name of an object whose names are `known` (at `parent`, '' for the options
 * themselves), given `value`: the path is the misspelt name's.
 */
export const misspeltOption = (
  parent: string,
  known: readonly string[],
  value: unknown = 1,
): fc.Arbitrary<BadOption> =>
  fc
    .constantFrom(...known)
    .chain(typoOf)
    .filter((name) => name.length > 0 && !known.includes(name))
    .map((name) => [parent ? `${parent}.${name}` : name, value] as const)

/**
 * A copy of `options` with `value` at `path` (dotted), as an own property at every step: the objects
 * on the way are copied, never changed, and created where missing; '__proto__' becomes an own key,
 * as JSON.parse makes it.
 */
export const withOption = (options: object, path: string, value: unknown): Record<string, unknown> => {
  const [name, ...rest] = path.split('.') as [string, ...string[]]
  const copy: Record<string, unknown> = { ...options }
  const inner = Object.hasOwn(copy, name) ? copy[name] : undefined
  const next =
    rest.length === 0
      ? value
      : withOption(inner !== null && typeof inner === 'object' ? inner : {}, rest.join('.'), value)
  Object.defineProperty(copy, name, { value: next, enumerable: true, writable: true, configurable: true })
  return copy
}

/** What `construct` threw for `options` (undefined when it accepted them). */
export const refusalOf = (construct: (options: unknown) => unknown, options: unknown): unknown => {
  try {
    construct(options)
  } catch (error) {
    return error
  }
  return undefined
}

/**
 * Drives each entry of the catalogue through `construct`, `runsPerEntry` values each, every bad
 * option set on top of `valid` (options taken as they are; checked first by `validate`, so no
 * refusal is the valid part's): each must throw a TypeError whose message starts with the package's
 * name and quotes the path, with `{ package, option: path }` as its cause. Throws naming the first
 * option accepted or refused wrongly (shrunk), with fast-check's seed; returns how many were tried.
 */
export const assertBadOptionsRefused = (
  {
    packageName,
    construct,
    validate = construct,
    valid,
  }: {
    packageName: string
    construct: (options: unknown) => unknown
    // What checks `valid` (the package's xxxValidateOptions where building a middleware opens a pool).
    validate?: (options: unknown) => unknown
    valid: object
  },
  catalogue: readonly fc.Arbitrary<BadOption>[],
  runsPerEntry = 100,
): number => {
  const before = refusalOf(validate, valid)
  if (before !== undefined) throw new Error(`the valid options were refused: ${String(before)}`)
  const refused = ([path, value, alongside = {}]: BadOption): void => {
    const around = Object.entries(alongside).reduce<object>(
      (options, [at, item]) => withOption(options, at, item),
      valid,
    )
    const error = refusalOf(construct, withOption(around, path, value))
    if (!(error instanceof TypeError))
      throw new Error(
        `option '${path}' accepted or not a TypeError: ${String(error)} (value ${fc.stringify(value)})`,
      )
    if (!error.message.startsWith(`${packageName}: `) || !error.message.includes(`'${path}'`))
      throw new Error(`option '${path}' refused with a message that does not name it: ${error.message}`)
    const cause = error.cause as { package?: unknown; option?: unknown } | undefined
    if (cause?.package !== packageName || cause.option !== path)
      throw new Error(`option '${path}' refused with the cause ${JSON.stringify(cause)}`)
  }
  for (const entry of catalogue) {
    const details = fc.check(fc.property(entry, refused), { numRuns: runsPerEntry })
    // fast-check 4 keeps the property's own error as the cause of its report: say it first.
    if (details.failed) {
      const why =
        details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
      throw new Error(`${why} (fast-check seed ${details.seed}, path ${details.counterexamplePath})`)
    }
  }
  return catalogue.length * runsPerEntry
}
