// The rule builders packages share (options.ts): texts of nested objects derived from their tables,
// optional nested objects, a required option's reason, and the suggestion for a misspelt name.
import { describe, expect, test } from '@jest/globals'
import fc from 'fast-check'
import {
  nearestName,
  objectExpected,
  objectShape,
  option,
  optionFailure,
  refuseUnknownName,
  validateOptionTable,
} from '../src/index.ts'

const thrownBy = (run: () => unknown): TypeError => {
  try {
    run()
  } catch (error) {
    return error as TypeError
  }
  throw new Error('nothing was thrown')
}

describe("a nested table's expected text", () => {
  const iamTable = {
    region: option.string(),
    username: option.required(option.string()),
    sdk: option.function(),
  }

  test('is derived from the table: every option in order, a ? after each that may be left out', () => {
    expect(objectShape(iamTable)).toBe('{ region?, username, sdk? }')
    expect(objectExpected(iamTable)).toBe('an object { region?, username, sdk? }')
    expect(option.nested(iamTable).expected).toBe('an object { region?, username, sdk? }')
    expect(option.optionalNested(iamTable).expected).toBe('an object { region?, username, sdk? }')
    expect(() =>
      validateOptionTable('@thaw/example', { iam: option.nested(iamTable) }, { iam: 'x' }),
    ).toThrow(
      '@thaw/example: option \'iam\' must be an object { region?, username, sdk? }, got the string "x"',
    )
  })

  test('names every option of any table (by generators)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({ name: fc.stringMatching(/^[a-z][A-Za-z]{0,8}$/), required: fc.boolean() }),
          {
            selector: (entry) => entry.name,
            maxLength: 8,
          },
        ),
        (entries) => {
          const table = Object.fromEntries(
            entries.map(({ name, required }) => [
              name,
              required ? option.required(option.string()) : option.string(),
            ]),
          )
          const names = objectShape(table).slice(1, -1).trim()
          expect(names === '' ? [] : names.split(', ')).toEqual(
            entries.map(({ name, required }) => (required ? name : `${name}?`)),
          )
        },
      ),
    )
  })
})

describe('option.optionalNested', () => {
  const table = {
    secret: option.optionalNested({
      secretId: option.required(option.string()),
      maxAgeMs: option.duration(1, 60),
    }),
  }

  test('is undefined when left out, and checked with its defaults when given', () => {
    expect(validateOptionTable('@thaw/example', table, {})).toEqual({ secret: undefined })
    expect(validateOptionTable('@thaw/example', table, { secret: { secretId: 's' } })).toEqual({
      secret: { secretId: 's', maxAgeMs: 60 },
    })
    expect(() => validateOptionTable('@thaw/example', table, { secret: {} })).toThrow(
      "@thaw/example: option 'secret.secretId' must be a non-empty string, got undefined",
    )
    expect(() => validateOptionTable('@thaw/example', table, { secret: null })).toThrow(
      "option 'secret' must be an object { secretId, maxAgeMs? }, got null",
    )
  })
})

describe('option.required with a reason', () => {
  test('says why the option is required when it is left out, and what it expects when it is wrong', () => {
    const table = { password: option.required(option.string(), 'the request.internal key of the password') }
    const missing = thrownBy(() => validateOptionTable('@thaw/example', table, {}))
    expect(missing).toBeInstanceOf(TypeError)
    expect(missing.message).toBe(
      "@thaw/example: option 'password' is required: the request.internal key of the password",
    )
    expect(missing.cause).toEqual({ package: '@thaw/example', option: 'password' })
    expect(() => validateOptionTable('@thaw/example', table, { password: 3 })).toThrow(
      "option 'password' must be a non-empty string, got number 3",
    )
  })
})

describe('a misspelt name', () => {
  test('an unknown option that is a near miss names the one it was probably meant to be', () => {
    const table = {
      region: option.string(),
      endpoint: option.string(),
      maxAttempts: option.integer({ minimum: 1, maximum: 10 }),
    }
    const error = thrownBy(() => validateOptionTable('@thaw/example', table, { regoin: 'eu-west-1' }))
    expect(error.message).toBe(
      "@thaw/example: unknown option 'regoin' (expected one of region, endpoint, maxAttempts): did you mean 'region'?",
    )
    expect(error.cause).toEqual({ package: '@thaw/example', option: 'regoin' })
    // Nothing near: no guess.
    expect(thrownBy(() => validateOptionTable('@thaw/example', table, { colour: 1 })).message).toBe(
      "@thaw/example: unknown option 'colour' (expected one of region, endpoint, maxAttempts)",
    )
    expect(() =>
      refuseUnknownName(
        optionFailure('@thaw/example'),
        'config.maxAttemps',
        'maxAttemps',
        ['maxAttempts', 'region'],
        'not a key of the client configuration',
      ),
    ).toThrow(
      "@thaw/example: unknown option 'config.maxAttemps' (not a key of the client configuration): did you mean 'maxAttempts'?",
    )
  })

  test('nearestName: a swap, a missing or an extra letter, a case; never a far name nor a tie', () => {
    const known = ['region', 'endpoint', 'maxAttempts', 'credentials', 'timeoutMs']
    expect(nearestName('regoin', known)).toBe('region')
    expect(nearestName('endpiont', known)).toBe('endpoint')
    expect(nearestName('maxAttempt', known)).toBe('maxAttempts')
    expect(nearestName('MAXATTEMPTS', known)).toBe('maxAttempts')
    expect(nearestName('timeout', known)).toBe('timeoutMs')
    expect(nearestName('colour', known)).toBeUndefined()
    expect(nearestName('a', ['b'])).toBeUndefined()
    expect(nearestName('ab', ['ac', 'ad'])).toBeUndefined()
  })

  test('every name one edit away from a longer known name is traced back to it (by generators)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{6,12}$/), fc.nat(), (name, at) => {
        const position = at % name.length
        const misspelt = name.slice(0, position) + name.slice(position + 1) // one letter left out
        return nearestName(misspelt, [name, 'zzzzzzzzzzzzzzzzzzzzzzzz']) === name
      }),
    )
  })
})
