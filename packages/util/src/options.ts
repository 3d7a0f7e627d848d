// The options table: each package describes its options once, as a table of rules, and the options
// type, the defaults, the validation and the error messages all follow from it. Adding an option is
// one entry in one table.
//
// Why not @middy/util's validateOptions (7.9): its JSON schema carries no TypeScript type, so the type
// and the schema were written twice, and its messages say only that an option is invalid; thaw had to
// rewrite them by matching their wording. A rule here knows what it expects, says it, and types itself.

import { optionError } from './errors.ts'
import { type OptionFailure, optionFailure, packageOf, refuseUnknownName } from './failure.ts'
import { isReservedKey, propertyKeyExpected } from './property-keys.ts'
import { maxTimerMs } from './timers.ts'

// One option: `In` is what a user may pass, `Out` what the settings hold after the default is applied.
export interface OptionRule<In, Out = In> {
  // What a valid value is, as the error message says it: "an integer from 1 to 2147483647 (milliseconds)".
  readonly expected: string
  // The value used when the option is left out (undefined when the option has none).
  readonly default: Out | undefined
  // Returns the value in its normal form, or calls fail.
  readonly normalise: (value: unknown, path: string, fail: OptionFailure) => Out
  // Type-only: what a user may pass.
  readonly _in?: In
  // Whether leaving the option out is an error (option.required): the shape of a nested table's
  // object (objectShape) writes the others with a '?'.
  readonly required?: boolean
}

// biome-ignore lint/suspicious/noExplicitAny: a table holds rules of every type
export type OptionTable = Record<string, OptionRule<any, any>>

/**
 * What a user may pass: every option optional, typed by its rule (the rule's `In`).
 *
 * @example
 * const table = { contextKey: option.string('a non-empty string', 'db'), timeoutMs: option.duration(1, 1000) }
 * type Options = OptionsOf<typeof table> // { contextKey?: string; timeoutMs?: number }
 * // (checked in typetests/options.tst.ts)
 */
export type OptionsOf<Table extends OptionTable> = {
  [Name in keyof Table]?: Table[Name] extends OptionRule<infer In, unknown> ? In : never
}

/**
 * What the package works with after validation: every option present, defaults applied (the rule's
 * `Out`; an option without a default keeps `undefined` in its type).
 *
 * @example
 * const table = { contextKey: option.string('a non-empty string', 'db'), logger: option.function<(line: string) => void>() }
 * type Settings = SettingsOf<typeof table>
 * // { readonly contextKey: string; readonly logger: ((line: string) => void) | undefined }
 */
export type SettingsOf<Table extends OptionTable> = {
  readonly [Name in keyof Table]: Table[Name] extends OptionRule<unknown, infer Out> ? Out : never
}

// A rule written out: what it expects, its default, and how a value becomes its normal form (a rule
// whose normal form differs from what a user passes, or whose check is a package's own).
const rule = <In, Out = In>(
  expected: string,
  defaultValue: Out | undefined,
  normalise: (value: unknown, path: string, fail: OptionFailure) => Out,
): OptionRule<In, Out> => ({ expected, default: defaultValue, normalise })

/**
 * The shape of the object a table accepts, as messages say it: `{ secretId, versionStage?, sdk? }`,
 * each option in the table's order, '?' after those that may be left out. Derived, never typed by
 * hand: a hand-written copy drifts from its table.
 * @example objectShape({ secretId: option.required(option.string()), versionStage: option.string() }) // '{ secretId, versionStage? }'
 */
export const objectShape = (table: OptionTable): string =>
  `{ ${Object.entries(table)
    .map(([name, optionRule]) => (optionRule.required ? name : `${name}?`))
    .join(', ')} }`

/**
 * What a nested table expects: `an object { a, b?, … }`.
 * @example objectExpected({ secretId: option.required(option.string()) }) // 'an object { secretId }'
 */
export const objectExpected = (table: OptionTable): string => `an object ${objectShape(table)}`

// A rule whose value is kept as given once `isValid` accepts it; undefined takes the default.
const simple = <T, D extends T | undefined>(
  expected: string,
  isValid: (value: unknown) => boolean,
  defaultValue: D,
): OptionRule<T, D extends undefined ? T | undefined : T> =>
  rule(expected, defaultValue as never, (value, path, fail) => {
    if (value === undefined) return defaultValue as never
    if (!isValid(value)) fail(path, expected, value)
    return value as never
  })

/**
 * A plain object: made by a literal, JSON.parse or Object.create(null), in this realm or another
 * (structuredClone and a vm context make objects whose Object.prototype is not this one).
 * @example isPlainObject(JSON.parse('{}')) // true; isPlainObject(new Date()) // false
 */
export const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === null || Object.getPrototypeOf(prototype) === null
}

const isInteger = (value: unknown, minimum: number, maximum: number): value is number =>
  Number.isSafeInteger(value) && (value as number) >= minimum && (value as number) <= maximum

// The rules a table is written with. Each takes its default last; without one the setting is
// undefined when the option is left out.
export const option = {
  string: <D extends string | undefined = undefined>(expected = 'a non-empty string', defaultValue?: D) =>
    simple<string, D>(expected, (value) => typeof value === 'string' && value.length > 0, defaultValue as D),

  boolean: <D extends boolean | undefined = undefined>(defaultValue?: D) =>
    simple<boolean, D>('true or false', (value) => typeof value === 'boolean', defaultValue as D),

  oneOf: <const Values extends readonly (string | number | boolean)[], D extends Values[number] | undefined>(
    values: Values,
    defaultValue?: D,
  ) =>
    simple<Values[number], D>(
      values
        .map((value) => JSON.stringify(value).replaceAll('"', "'"))
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1'),
      (value) => values.includes(value as Values[number]),
      defaultValue as D,
    ),

  integer: <D extends number | undefined = undefined>(
    { minimum, maximum, unit }: { minimum: number; maximum: number; unit?: string },
    defaultValue?: D,
  ) =>
    simple<number, D>(
      `an integer from ${minimum} to ${maximum}${unit ? ` (${unit})` : ''}`,
      (value) => isInteger(value, minimum, maximum),
      defaultValue as D,
    ),

  // Milliseconds that a timer can wait: Node turns a longer delay into 1 ms (see timers.ts).
  duration: <D extends number | undefined = undefined>(minimum: number, defaultValue?: D) =>
    simple<number, D>(
      `an integer from ${minimum} to ${maxTimerMs} (milliseconds)`,
      (value) => isInteger(value, minimum, maxTimerMs),
      defaultValue as D,
    ),

  // biome-ignore lint/suspicious/noExplicitAny: any function signature the option's type names
  function: <T extends (...args: any[]) => unknown>(expected = 'a function') =>
    simple<T, undefined>(expected, (value) => typeof value === 'function', undefined),

  // A value checked by a predicate of the package's own; kept as given.
  custom: <T, D extends T | undefined = undefined>(
    expected: string,
    isValid: (value: unknown) => boolean,
    defaultValue?: D,
  ) => simple<T, D>(expected, isValid, defaultValue as D),

  // A rule of the package's own, written out (see `rule` above).
  rule,

  // A name that becomes a property of the Lambda context (a middleware's `contextKey`): a non-empty
  // string that isReservedKey refuses nowhere ('__proto__' would replace the context's prototype,
  // 'getRemainingTimeInMillis' Middy's deadline).
  propertyKey: <const D extends string>(defaultValue: D, expected = propertyKeyExpected) =>
    simple<string, D>(
      expected,
      (value) => typeof value === 'string' && value.length > 0 && !isReservedKey(value),
      defaultValue,
    ),

  // An object option with options of its own: validated by its own table, the path names the inner
  // option ('connectRetry.maxWaitMs'), and its defaults fill what is left out. What it expects is
  // derived from the table (objectExpected) unless a text of the package's own is given.
  nested: <Table extends OptionTable>(table: Table, expected = objectExpected(table)) =>
    rule<OptionsOf<Table>, SettingsOf<Table>>(
      expected,
      defaultsOf(table) as SettingsOf<Table>,
      (value, path, fail) => normaliseTable(table, value ?? {}, path, expected, fail) as SettingsOf<Table>,
    ),

  // A nested object that may be left out: its settings are then undefined (no defaults applied), as
  // for a source of credentials that is one of several.
  optionalNested: <Table extends OptionTable>(
    table: Table,
    expected = objectExpected(table),
  ): OptionRule<OptionsOf<Table>, SettingsOf<Table> | undefined> =>
    rule(expected, undefined, (value, path, fail) =>
      value === undefined
        ? undefined
        : (normaliseTable(table, value, path, expected, fail) as SettingsOf<Table>),
    ),

  // An option that must be given: leaving it out fails with what it expects, or with `why` it is
  // required ("option 'password' is required: the request.internal key of the password").
  required: <In, Out>(
    optionRule: OptionRule<In, Out>,
    why?: string,
  ): OptionRule<In, Exclude<Out, undefined>> => ({
    ...rule<In, Exclude<Out, undefined>>(optionRule.expected, undefined, (value, path, fail) => {
      if (value === undefined) {
        if (why === undefined) fail(path, optionRule.expected, value)
        throw optionError(packageOf(fail), path, `option '${path}' is required: ${why}`)
      }
      return optionRule.normalise(value, path, fail) as Exclude<Out, undefined>
    }),
    required: true,
  }),
} as const

const normaliseTable = (
  table: OptionTable,
  options: unknown,
  path: string,
  expected: string,
  fail: OptionFailure,
): Record<string, unknown> => {
  const prefix = path ? `${path}.` : ''
  if (!isPlainObject(options)) fail(path || 'options', expected, options)
  const given = options as Record<string, unknown>
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(table, name)) refuseUnknownName(fail, `${prefix}${name}`, name, Object.keys(table))
  }
  const settings: Record<string, unknown> = {}
  for (const [name, optionRule] of Object.entries(table)) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined
    settings[name] = optionRule.normalise(value, `${prefix}${name}`, fail)
  }
  return settings
}

/**
 * Validates `options` against the table: throws a TypeError naming the first option at fault;
 * returns the settings with every default applied.
 * @example validateOptionTable('@thaw/orders', { retries: option.integer({ minimum: 0 }, 2) }, {}) // { retries: 2 }
 */
export const validateOptionTable = <Table extends OptionTable>(
  packageName: string,
  table: Table,
  options: unknown,
): SettingsOf<Table> =>
  normaliseTable(table, options, '', 'an object', optionFailure(packageName)) as SettingsOf<Table>

/**
 * The defaults a table applies, for the package's exported `xxxDefaults`.
 * @example defaultsOf({ retries: option.integer({ minimum: 0 }, 2) }) // { retries: 2 }
 */
export function defaultsOf<Table extends OptionTable>(
  table: Table,
): { readonly [Name in keyof Table]: Table[Name]['default'] } {
  return Object.fromEntries(
    Object.entries(table).map(([name, optionRule]) => [name, optionRule.default]),
  ) as never
}
