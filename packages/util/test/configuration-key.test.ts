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

  // Found by mutation testing: random pairs almost always differ in several places at once, so a
  // key that ignored one kind of difference still told them apart. Here the values come from a
  // small domain, so that pairs often differ in one place only (an array item, a separator, a type),
  // and the key must be equal exactly when the configurations are.
  test('two configurations get one key exactly when they are the same, down to one value (generated)', () => {
    const { small } = fc.letrec((tie) => ({
      small: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom<unknown>(0, 1, 11, '', '1', 'a', true, false, null),
        fc.constantFrom<unknown>(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
        fc.array(tie('small'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b'), tie('small'), { maxKeys: 2 }),
      ),
    }))
    // Typed: 1 is not '1', NaN is not null (JSON.stringify would say null for both).
    const typed = (value: unknown): string =>
      JSON.stringify(value, (_key, item) =>
        typeof item === 'number' && !Number.isFinite(item)
          ? `#number ${item}`
          : item !== null && typeof item === 'object' && !Array.isArray(item)
            ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
            : item,
      )
    fc.assert(
      fc.property(small, small, (a, b) => {
        expect(configurationKey(a) === configurationKey(b)).toBe(typed(a) === typed(b))
      }),
      { numRuns: 2_000 },
    )
  })

  test('a value of another type is another configuration, whatever it looks like', () => {
    const distinct = [
      '1',
      1,
      1n,
      true,
      'true',
      null,
      'null',
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      // Bytes whose base64 ("1234") reads as a number.
      Buffer.from('d76df8', 'hex'),
      1234,
      new Date(0),
      0,
      new URL('http://127.0.0.1:4566/'),
      'http://127.0.0.1:4566/',
      [],
      [null],
      [undefined],
      [1, 1],
      [11],
      {},
    ]
    const keys = distinct.map((value) => configurationKey({ value }))
    expect(new Set(keys).size).toBe(distinct.length)
  })

  test('bytes, dates and URLs by value: equal values, one key; another value, another key', () => {
    expect(configurationKey({ ca: new Uint8Array([1, 2, 3]) })).toBe(
      configurationKey({ ca: Buffer.from([1, 2, 3]) }),
    )
    expect(configurationKey({ ca: Buffer.from([1, 2, 3]) })).not.toBe(
      configurationKey({ ca: Buffer.from([1, 2, 4]) }),
    )
    expect(configurationKey({ since: new Date(5) })).toBe(configurationKey({ since: new Date(5) }))
    expect(configurationKey({ since: new Date(5) })).not.toBe(configurationKey({ since: new Date(6) }))
    expect(configurationKey({ endpoint: new URL('http://a.test') })).toBe(
      configurationKey({ endpoint: new URL('http://a.test/') }),
    )
    expect(configurationKey({ endpoint: new URL('http://a.test') })).not.toBe(
      configurationKey({ endpoint: new URL('http://b.test') }),
    )
  })

  test('bigints by value', () => {
    expect(configurationKey({ size: 10n })).toBe(configurationKey({ size: 10n }))
    expect(configurationKey({ size: 10n })).not.toBe(configurationKey({ size: 11n }))
  })

  test('symbols by identity: the same symbol, one key; two symbols, two keys', () => {
    const shared = Symbol.for('thaw.test')
    const local = Symbol('thaw.test')
    expect(configurationKey({ tag: shared })).toBe(configurationKey({ tag: Symbol.for('thaw.test') }))
    expect(configurationKey({ tag: local })).toBe(configurationKey({ tag: local }))
    expect(configurationKey({ tag: local })).not.toBe(configurationKey({ tag: Symbol('thaw.test') }))
    expect(configurationKey({ tag: local })).not.toBe(configurationKey({ tag: shared }))
  })

  // Functions, class instances and symbols are numbered as they are first seen; whatever order they
  // come in, no two get the same number.
  test('things keyed by identity never share a key, whatever order they are first seen in (generated)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('function', 'instance', 'symbol'), { maxLength: 12 }), (kinds) => {
        const things = kinds.map((kind) =>
          kind === 'function' ? () => kind : kind === 'instance' ? new (class Agent {})() : Symbol(kind),
        )
        const keys = things.map((thing) => configurationKey({ thing }))
        expect(new Set(keys).size).toBe(things.length)
        // And each keeps its key.
        expect(things.map((thing) => configurationKey({ thing }))).toEqual(keys)
      }),
    )
  })

  test('an object met twice without a cycle counts by value both times', () => {
    const tls = { ca: 'certificate', rejectUnauthorized: true }
    expect(configurationKey({ a: tls, b: tls })).toBe(
      configurationKey({ a: { ...tls }, b: { rejectUnauthorized: true, ca: 'certificate' } }),
    )
    expect(configurationKey([tls, [tls]])).toBe(configurationKey([{ ...tls }, [{ ...tls }]]))
  })

  test('a cycle does not recurse forever', () => {
    const value: Record<string, unknown> = { a: 1 }
    value.self = value
    expect(configurationKey(value)).toMatch(/#ref/)
  })
})
