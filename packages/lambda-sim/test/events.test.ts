// An event is accepted exactly when JSON carries it faithfully: the handler then sees it as the caller
// built it; anything else is refused before dispatch, saying what and where. Checked by generators
// against an oracle of its own (a JSON round trip compared with the original), without a runtime and
// through one.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { eventJsonOf } from '../src/event.ts'
import { type LambdaEnvironment, LambdaSimError, lambdaSimErrorCodes } from '../src/index.ts'
import { shutdownStartedEnvironments, startTestEnvironment } from './helpers.ts'

// The oracle: does JSON.parse(JSON.stringify(value)) give the same value back? The same kinds of thing
// (a plain object for a plain object, an array for an array), the same numbers (-0 and 0 alike: JSON
// has no -0), every element, and every property but those whose value is undefined (a handler reads
// undefined for a property JSON left out).
const same = (original: unknown, copy: unknown): boolean => {
  if (typeof original === 'number') return typeof copy === 'number' && original === copy
  if (original === null || typeof original === 'string' || typeof original === 'boolean')
    return Object.is(original, copy)
  if (typeof original !== 'object') return false
  if (Array.isArray(original)) {
    if (!Array.isArray(copy) || copy.length !== original.length) return false
    for (let index = 0; index < original.length; index++)
      if (!(index in original) || !same(original[index], copy[index])) return false
    return true
  }
  const prototype = Object.getPrototypeOf(original)
  if (
    (prototype !== Object.prototype && prototype !== null) ||
    Object.getOwnPropertySymbols(original).length > 0
  )
    return false
  if (copy === null || typeof copy !== 'object' || Array.isArray(copy)) return false
  const entries = Object.entries(original).filter(([, item]) => item !== undefined)
  const copied = copy as Record<string, unknown>
  return (
    entries.length === Object.keys(copied).length &&
    entries.every(([key, item]) => Object.hasOwn(copied, key) && same(item, copied[key]))
  )
}

const roundTrips = (value: unknown): boolean => {
  try {
    const text = JSON.stringify(value)
    return text !== undefined && same(value, JSON.parse(text))
  } catch {
    return false
  }
}

const accepted = (value: unknown): boolean => {
  try {
    eventJsonOf(value)
    return true
  } catch (error) {
    expect(error).toBeInstanceOf(LambdaSimError)
    expect(error).toMatchObject({ code: lambdaSimErrorCodes.eventRefused })
    expect((error as Error).message).toMatch(/^@thaw\/lambda-sim: the event cannot be sent: event\S* /)
    return false
  }
}

// Values JSON carries, values it cannot (functions, symbols as values and keys, NaN and the infinities,
// undefined and holes in arrays, BigInt, cycles, Dates, Maps, Sets, typed arrays, boxed values), and
// mixtures of both.
const anything = fc.anything({
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  withUnicodeString: true,
})
const oddLeaf = fc.oneof(
  fc.func(fc.nat()),
  fc.string().map((description) => Symbol(description)),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, undefined),
)
const { event } = fc.letrec((tie) => ({
  event: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    anything,
    oddLeaf,
    fc.array(tie('event'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('event'), { maxKeys: 4 }),
    fc
      .tuple(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }), fc.nat(2))
      .map(([object, twist]) => {
        // A symbol key, or a cycle, on an object that is otherwise JSON.
        if (twist === 1) return { ...object, [Symbol('key')]: 1 }
        if (twist === 2) return Object.assign(object, { self: object })
        return object
      }),
  ),
}))

describe('an event', () => {
  it('is accepted exactly when a JSON round trip gives it back as it was', () => {
    fc.assert(
      fc.property(event, (value) => accepted(value) === roundTrips(value)),
      { numRuns: 2_000 },
    )
  })

  it('is refused naming what JSON would do to it and where', () => {
    const refusal = (value: unknown) => {
      try {
        eventJsonOf(value)
      } catch (error) {
        return (error as Error).message.replace('@thaw/lambda-sim: the event cannot be sent: ', '')
      }
      return 'accepted'
    }
    expect(refusal({ order: { handler: () => 1 } })).toBe(
      'event.order.handler is a function, which JSON leaves out; Lambda events are JSON',
    )
    expect(refusal({ totals: [1, Number.NaN] })).toBe(
      'event.totals[1] is NaN, which JSON writes as null; Lambda events are JSON',
    )
    expect(refusal({ [Symbol('id')]: 1 })).toBe(
      'event has a symbol key, which JSON leaves out; Lambda events are JSON',
    )
    expect(refusal({ 'a key': [undefined] })).toBe(
      'event["a key"][0] is undefined, which JSON writes as null in an array and has no text for alone; Lambda events are JSON',
    )
    expect(refusal({ at: new Date(0) })).toBe(
      'event.at is a Date, which JSON turns into what its toJSON returns; Lambda events are JSON',
    )
    expect(refusal({ id: 1, note: undefined })).toBe('accepted')
  })
})

describe('through the runtime', () => {
  let environment: LambdaEnvironment
  beforeAll(async () => {
    environment = await startTestEnvironment('echo', { timeoutMs: 10_000 })
  })
  afterAll(shutdownStartedEnvironments)

  it('an accepted event arrives as it was built; a refused one never leaves, and the environment carries on', async () => {
    const seen = { accepted: 0, refused: 0 }
    await fc.assert(
      fc.asyncProperty(event, async (value) => {
        const before = environment.pid
        const wrapped = { value }
        if (roundTrips(wrapped)) {
          seen.accepted++
          const outcome = await environment.invoke(wrapped)
          expect(outcome).toMatchObject({ ok: true })
          // The echo handler gives back event.value, null for undefined (Lambda's answer for undefined).
          expect(same(value ?? null, outcome.ok && outcome.result)).toBe(true)
        } else {
          seen.refused++
          await expect(environment.invoke(wrapped)).rejects.toMatchObject({
            code: lambdaSimErrorCodes.eventRefused,
          })
          expect(environment.pid).toBe(before)
          expect(environment.isFrozen).toBe(true)
        }
      }),
      { numRuns: 60 },
    )
    // Both ways were taken.
    expect(seen.accepted).toBeGreaterThan(5)
    expect(seen.refused).toBeGreaterThan(5)
  })
})
