// The bad-options check fails on each way a package can get an option wrong: a bad value accepted,
// refused with another class, without the option's path, or with another path in its cause; and it
// passes for a construction that refuses every bad value as the packages must.
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { assertBadOptionsRefused, badOption, badValues, misspeltOption, withOption } from '../src/index.ts'

const packageName = '@thaw/example'

// A construction that checks `limit` (an integer from 1 to 10) and `name` (the only other option),
// refusing as `refuse` says.
const construct =
  (
    refuse: (path: string) => Error = (path) =>
      Object.assign(new TypeError(`${packageName}: option '${path}' is bad`), {
        cause: { package: packageName, option: path },
      }),
  ) =>
  (options: unknown) => {
    for (const key of Object.keys(options as object)) if (key !== 'limit' && key !== 'name') throw refuse(key)
    const { limit, name } = options as { limit?: unknown; name?: unknown }
    if (!(Number.isSafeInteger(limit) && (limit as number) >= 1 && (limit as number) <= 10))
      throw refuse('limit')
    if (name !== undefined && (typeof name !== 'string' || name === '')) throw refuse('name')
  }

const catalogue = [
  badOption('limit', badValues.integer(1, 10)),
  badOption('name', badValues.string()),
  misspeltOption('', ['limit', 'name']),
]

describe('assertBadOptionsRefused', () => {
  it('passes when every bad value is refused by a TypeError naming its path', () => {
    assertBadOptionsRefused({ packageName, construct: construct(), valid: { limit: 5 } }, catalogue, 200)
  })

  it('fails when a bad value is accepted (an integer range one too wide)', () => {
    const lenient = (options: unknown) => {
      const { limit } = options as { limit?: unknown }
      if (limit === 11) return
      construct()(options)
    }
    expect(() =>
      assertBadOptionsRefused({ packageName, construct: lenient, valid: { limit: 5 } }, catalogue, 500),
    ).toThrow(/option 'limit' accepted/)
  })

  it('fails on a refusal that is not a TypeError, that does not name the path, or whose cause names another', () => {
    const wrongs: ((path: string) => Error)[] = [
      (path) =>
        Object.assign(new Error(`${packageName}: option '${path}'`), {
          cause: { package: packageName, option: path },
        }),
      () =>
        Object.assign(new TypeError(`${packageName}: a bad option`), {
          cause: { package: packageName, option: 'limit' },
        }),
      (path) =>
        Object.assign(new TypeError(`${packageName}: option '${path}'`), {
          cause: { package: packageName, option: 'options' },
        }),
      (path) =>
        Object.assign(new TypeError(`@thaw/other: option '${path}'`), {
          cause: { package: packageName, option: path },
        }),
    ]
    for (const refuse of wrongs)
      expect(() =>
        assertBadOptionsRefused(
          { packageName, construct: construct(refuse), valid: { limit: 5 } },
          catalogue,
          50,
        ),
      ).toThrow(/option '[^']+' (accepted|refused)/)
  })

  it('refuses to start when the valid options are refused themselves', () => {
    expect(() =>
      assertBadOptionsRefused({ packageName, construct: construct(), valid: {} }, catalogue),
    ).toThrow(/the valid options were refused/)
  })

  it('sets a value at a path as an own property, copying each object on the way', () => {
    const valid = { a: { b: 1 }, c: 2 }
    const changed = withOption(valid, 'a.__proto__', { region: 'x' })
    expect(Object.keys(changed.a as object)).toEqual(['b', '__proto__'])
    expect(Object.getPrototypeOf(changed.a)).toBe(Object.prototype)
    expect(valid).toEqual({ a: { b: 1 }, c: 2 })
    expect(withOption(valid, 'd.e', 3)).toEqual({ a: { b: 1 }, c: 2, d: { e: 3 } })
  })

  it('makes bad values only: none of them is a valid integer of the range (by generators)', () => {
    fc.assert(
      fc.property(
        badValues.integer(1, 10),
        (value) => !(Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= 10),
      ),
    )
    fc.assert(
      fc.property(badValues.oneOf(['auto', 'never']), (value) => value !== 'auto' && value !== 'never'),
    )
    fc.assert(fc.property(badValues.boolean(), (value) => typeof value !== 'boolean'))
    fc.assert(fc.property(badValues.function(), (value) => typeof value !== 'function'))
  })
})
