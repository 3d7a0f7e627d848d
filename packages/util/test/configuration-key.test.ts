import { describe, expect, test } from '@jest/globals'
import fc from 'fast-check'
import { configurationKey } from '../src/index.ts'

// Plain JSON-like configurations: what a user writes by hand.
const configuration = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 })

const shuffled = (record: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).reverse())

// Two configurations are the same when they hold the same keys and values, whatever the order of the
// keys and whatever the prototype of the objects (a literal, or one with no prototype).
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, item) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  )

describe('configurationKey', () => {
  test('the same configuration gives the same key whatever the order of its keys', () => {
    fc.assert(
      fc.property(configuration, (value) => {
        expect(configurationKey(shuffled(value))).toBe(configurationKey(value))
        expect(configurationKey(structuredClone(value))).toBe(configurationKey(value))
      }),
    )
  })

  test('different configurations give different keys', () => {
    fc.assert(
      fc.property(configuration, configuration, (a, b) => {
        fc.pre(canonical(a) !== canonical(b))
        expect(configurationKey(a)).not.toBe(configurationKey(b))
      }),
    )
  })

  test('undefined values ask for what leaving them out asks for', () => {
    expect(configurationKey({ region: undefined, a: 1 })).toBe(configurationKey({ a: 1 }))
  })

  test('functions and class instances by identity, bytes by value', () => {
    const provider = async () => ({ accessKeyId: 'a', secretAccessKey: 'b' })
    const twin = async () => ({ accessKeyId: 'a', secretAccessKey: 'b' })
    expect(configurationKey({ credentials: provider })).toBe(configurationKey({ credentials: provider }))
    expect(configurationKey({ credentials: provider })).not.toBe(configurationKey({ credentials: twin }))
    class Agent {}
    expect(configurationKey({ agent: new Agent() })).not.toBe(configurationKey({ agent: new Agent() }))
    expect(configurationKey({ ca: Buffer.from('cert') })).toBe(configurationKey({ ca: Buffer.from('cert') }))
  })

  test('a secret is keyed by digest: told apart, never shown', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 4 }), fc.string({ minLength: 4 }), (a, b) => {
        fc.pre(a !== b)
        const secretNames = new Set(['password'])
        const keyA = configurationKey({ password: a }, secretNames)
        expect(keyA).not.toContain(JSON.stringify(a))
        expect(keyA).toBe(configurationKey({ password: a }, secretNames))
        expect(keyA).not.toBe(configurationKey({ password: b }, secretNames))
      }),
    )
  })

  test('ignored names are left out of the key', () => {
    const ignored = new Set(['sdk'])
    expect(configurationKey({ secretId: 'a', sdk: () => 1 }, undefined, ignored)).toBe(
      configurationKey({ secretId: 'a', sdk: () => 2 }, undefined, ignored),
    )
    expect(configurationKey({ secretId: 'a', sdk: () => 1 })).not.toBe(
      configurationKey({ secretId: 'a', sdk: () => 2 }),
    )
  })

  test('a cycle does not recurse forever', () => {
    const value: Record<string, unknown> = { a: 1 }
    value.self = value
    expect(configurationKey(value)).toMatch(/#ref/)
  })
})
