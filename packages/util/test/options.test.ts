import { runInNewContext } from 'node:vm'
import { describe, expect, test } from '@jest/globals'
import fc from 'fast-check'
import {
  defaultsOf,
  maxTimerMs,
  type OptionFailure,
  type OptionsOf,
  option,
  type SettingsOf,
  validateOptionTable,
} from '../src/index.ts'

const table = {
  contextKey: option.string('a non-empty string', 'db'),
  mode: option.oneOf(['auto', 'always', 'never'] as const, 'auto'),
  timeoutMs: option.duration(1, 1_000),
  logger: option.function<(line: string) => void>(),
  retry: option.nested({ baseDelayMs: option.duration(1, 50), maxWaitMs: option.duration(1, 10_000) }),
}

const validate = (options: unknown) => validateOptionTable('@thaw/example', table, options)

describe('validateOptionTable', () => {
  test('applies every default, nested ones too', () => {
    expect(validate({})).toEqual({
      contextKey: 'db',
      mode: 'auto',
      timeoutMs: 1_000,
      logger: undefined,
      retry: { baseDelayMs: 50, maxWaitMs: 10_000 },
    })
    expect(defaultsOf(table)).toEqual({
      contextKey: 'db',
      mode: 'auto',
      timeoutMs: 1_000,
      logger: undefined,
      retry: { baseDelayMs: 50, maxWaitMs: 10_000 },
    })
  })

  test('keeps what is given', () => {
    const logger = () => {}
    const settings: SettingsOf<typeof table> = validate({ mode: 'never', logger, retry: { maxWaitMs: 5 } })
    expect(settings.mode).toBe('never')
    expect(settings.logger).toBe(logger)
    expect(settings.retry).toEqual({ baseDelayMs: 50, maxWaitMs: 5 })
  })

  test('names the option, what it expects and what it got, with the package first', () => {
    expect(() => validate({ mode: 'sometimes' })).toThrow(
      "@thaw/example: option 'mode' must be 'auto', 'always' or 'never', got the string \"sometimes\"",
    )
    expect(() => validate({ retry: { maxWaitMs: 0 } })).toThrow(
      "@thaw/example: option 'retry.maxWaitMs' must be an integer from 1 to 2147483647 (milliseconds), got number 0",
    )
    expect(() => validate({ retry: 'soon' })).toThrow("option 'retry' must be an object")
    expect(() => validate({ colour: 'red' })).toThrow(
      "@thaw/example: unknown option 'colour' (expected one of contextKey, mode, timeoutMs, logger, retry)",
    )
    expect(() => validate(null)).toThrow("option 'options' must be an object, got null")
    const error = (() => {
      try {
        validate({ retry: { baseDelayMs: -1 } })
      } catch (caught) {
        return caught as TypeError
      }
    })()
    expect(error).toBeInstanceOf(TypeError)
    expect(error?.cause).toEqual({ package: '@thaw/example', option: 'retry.baseDelayMs' })
  })

  test('options that are not a plain object are refused with what they are', () => {
    for (const [options, got] of [
      [undefined, 'undefined'],
      ['db', 'the string "db"'],
      [42, 'number 42'],
      [[], 'an array'],
      [() => ({}), 'the function (anonymous)'],
      [new Map(), 'an instance of Map'],
      [new Date(0), 'an instance of Date'],
    ] as const) {
      expect(() => validate(options)).toThrow(`@thaw/example: option 'options' must be an object, got ${got}`)
      expect(() => validate({ retry: options === undefined ? 'soon' : options })).toThrow(
        "@thaw/example: option 'retry' must be an object",
      )
    }
  })

  test('a plain object from anywhere is accepted: a literal, no prototype, another realm', () => {
    const bare = Object.assign(Object.create(null), { mode: 'never' })
    expect(validate(bare).mode).toBe('never')
    expect(validate(runInNewContext('({ mode: "always", retry: { maxWaitMs: 7 } })'))).toMatchObject({
      mode: 'always',
      retry: { maxWaitMs: 7 },
    })
    expect(validate(JSON.parse('{"timeoutMs": 9}')).timeoutMs).toBe(9)
  })

  test('an unknown option names itself in the cause too, nested ones with their path', () => {
    const causeOf = (options: unknown) => {
      try {
        validate(options)
      } catch (caught) {
        return (caught as TypeError).cause
      }
      return undefined
    }
    expect(causeOf({ colour: 'red' })).toEqual({ package: '@thaw/example', option: 'colour' })
    expect(causeOf({ retry: { colour: 'red' } })).toEqual({
      package: '@thaw/example',
      option: 'retry.colour',
    })
    expect(() => validate({ retry: { colour: 'red' } })).toThrow(
      "@thaw/example: unknown option 'retry.colour' (expected one of baseDelayMs, maxWaitMs)",
    )
  })

  test("a rule used with a failure function of one's own still refuses an unknown option, as @thaw", () => {
    const ownFailure: OptionFailure = (path, expected) => {
      throw new TypeError(`${path}: ${expected}`)
    }
    expect(() => table.retry.normalise({ colour: 'red' }, 'retry', ownFailure)).toThrow(
      /^@thaw: unknown option 'retry\.colour'/,
    )
    expect(() => table.retry.normalise({ maxWaitMs: 0 }, 'retry', ownFailure)).toThrow(
      'retry.maxWaitMs: an integer from 1 to 2147483647 (milliseconds)',
    )
  })

  test('an integer or a duration takes both its bounds and nothing beyond them', () => {
    const bounded = {
      count: option.integer({ minimum: 3, maximum: 9, unit: 'items' }),
      waitMs: option.duration(5),
    }
    const check = (options: unknown) => validateOptionTable('@thaw/example', bounded, options)
    expect(check({ count: 3, waitMs: 5 })).toEqual({ count: 3, waitMs: 5 })
    expect(check({ count: 9, waitMs: maxTimerMs })).toEqual({ count: 9, waitMs: maxTimerMs })
    expect(() => check({ count: 2 })).toThrow(
      "option 'count' must be an integer from 3 to 9 (items), got number 2",
    )
    expect(() => check({ count: 10 })).toThrow(
      "option 'count' must be an integer from 3 to 9 (items), got number 10",
    )
    expect(() => check({ waitMs: 4 })).toThrow("option 'waitMs' must be an integer from 5 to 2147483647")
    expect(() => check({ waitMs: maxTimerMs + 1 })).toThrow("option 'waitMs' must be an integer from 5")
  })

  test('refuses every duration a Node timer cannot wait, and accepts every one it can', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: maxTimerMs + 1, max: Number.MAX_SAFE_INTEGER }),
          fc.double({ noInteger: true }),
          fc.constantFrom(Number.POSITIVE_INFINITY, Number.NaN, 2 ** 53, -0.5),
        ),
        (value) => {
          expect(() => validate({ timeoutMs: value })).toThrow("option 'timeoutMs' must be an integer")
        },
      ),
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: maxTimerMs }), (value) => {
        expect(validate({ timeoutMs: value }).timeoutMs).toBe(value)
      }),
    )
  })

  test('never shows the contents of what it refuses', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 41 }), (secret) => {
        expect(() => validate({ contextKey: { secret } })).toThrow(/got an object$/)
        expect(() => validate({ mode: secret })).toThrow(`got a string of ${secret.length} characters`)
      }),
    )
  })

  test('an options type follows from the table', () => {
    const options: OptionsOf<typeof table> = { mode: 'always', retry: { maxWaitMs: 3 } }
    expect(validate(options).retry.maxWaitMs).toBe(3)
  })
})
