// Options that pass construction and cannot work: refused at construction, naming the option and
// what it expects (one rule with every package: @thaw/util's option.propertyKey).
import { describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import { isReservedKey, lambdaContextMembers } from '@thaw/util'
import fc from 'fast-check'
import tmpStore, { tmpStoreOptionTable, tmpStoreValidateOptions } from '../src/index.ts'
import { scratchDir } from './helpers.ts'

const refusalOf = (options: unknown): TypeError => {
  try {
    tmpStoreValidateOptions(options)
  } catch (error) {
    return error as TypeError
  }
  throw new Error('accepted')
}

describe('contextKey', () => {
  it("refuses '__proto__' (the store became the Lambda context's prototype) and every reserved name", () => {
    for (const contextKey of ['__proto__', 'constructor', 'prototype', 'toString', ...lambdaContextMembers]) {
      const error = refusalOf({ contextKey })
      expect(error).toBeInstanceOf(TypeError)
      expect(error.message).toMatch(
        /^@thaw\/tmp-store: option 'contextKey' must be a non-empty string that is not a member of the Lambda context or of Object\.prototype/,
      )
      expect(error.cause).toEqual({ package: '@thaw/tmp-store', option: 'contextKey' })
      // The middleware is refused at construction, before any directory is opened.
      expect(() => tmpStore({ dir: scratchDir('reserved'), contextKey })).toThrow(TypeError)
    }
  })

  it('takes any other non-empty name, and the store is then an own property of the context, its prototype untouched (by generators)', async () => {
    const dir = scratchDir('context-keys')
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 12 }).filter((key) => !isReservedKey(key)),
        async (contextKey) => {
          let seen: { own: boolean; prototype: unknown } | undefined
          const handler = middy()
            .use(tmpStore({ dir, contextKey }))
            .handler(async (_event: unknown, context: object) => {
              seen = { own: Object.hasOwn(context, contextKey), prototype: Object.getPrototypeOf(context) }
            })
          await handler({}, { getRemainingTimeInMillis: () => 1_000 } as never)
          expect(seen).toEqual({ own: true, prototype: Object.prototype })
        },
      ),
      { numRuns: 30 },
    )
  })

  it('is one entry of the exported options table', () => {
    expect(Object.keys(tmpStoreOptionTable)).toEqual([
      'dir',
      'maxBytes',
      'contextKey',
      'checksum',
      'fsync',
      'lockStaleMs',
      'lockWaitMs',
    ])
    expect(tmpStoreOptionTable.contextKey.default).toBe('tmp')
  })
})
