import { runInNewContext } from 'node:vm'
import { describe, expect, test } from '@jest/globals'
import fc from 'fast-check'
import { describeValue } from '../src/index.ts'

// describeValue is what every option message says about a value it refuses: its kind, and the value
// itself only when it is a short scalar (an object or a long string may hold a secret).
describe('describeValue', () => {
  test.each([
    [null, 'null'],
    [undefined, 'undefined'],
    [[], 'an array'],
    [['secret'], 'an array'],
    [42, 'number 42'],
    [Number.NaN, 'number NaN'],
    [false, 'boolean false'],
    [12n, 'bigint 12n'],
    ['', 'the string ""'],
    ['x'.repeat(40), `the string "${'x'.repeat(40)}"`],
    ['x'.repeat(41), 'a string of 41 characters'],
    [Symbol('secret'), 'a symbol'],
    [function credentials() {}, 'the function credentials'],
    [{}, 'an object'],
    [Object.create(null), 'an object'],
    // A prototype without a constructor: nothing to name.
    [Object.create(Object.create(null)), 'an object'],
    [{ constructor: 'not a class' }, 'an object'],
    [new Map(), 'an instance of Map'],
    [new (class Agent {})(), 'an instance of Agent'],
    [runInNewContext('({ password: "secret" })'), 'an object'],
  ])('%p is %s', (value, description) => {
    expect(describeValue(value)).toBe(description)
  })

  test('an anonymous function says so', () => {
    const anonymous = [() => 1][0] as () => number
    expect(describeValue(anonymous)).toBe('the function (anonymous)')
  })

  test('never shows a string longer than 40 characters, alone or inside anything (generated)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 41 }), fc.anything(), (secret, other) => {
        for (const value of [secret, { secret }, [secret], new Map([[secret, other]]), { other, secret }]) {
          expect(describeValue(value)).not.toContain(secret)
        }
      }),
    )
  })
})
