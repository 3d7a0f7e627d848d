// The one rule for names that become properties (property-keys.ts), used by every package's
// contextKey and by sdk-clients' client names and configurations.
import { describe, expect, test } from '@jest/globals'
import type { Context } from 'aws-lambda'
import fc from 'fast-check'
import {
  isReservedKey,
  lambdaContextMembers,
  option,
  optionFailure,
  refuseReservedKeys,
  validateOptionTable,
} from '../src/index.ts'

// Every member @types/aws-lambda gives the context: a member added to the type and not to the list
// fails to compile here (a Record literal must name every key).
const contextMembers: Record<keyof Context, true> = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: true,
  functionVersion: true,
  invokedFunctionArn: true,
  memoryLimitInMB: true,
  awsRequestId: true,
  logGroupName: true,
  logStreamName: true,
  identity: true,
  clientContext: true,
  tenantId: true,
  getRemainingTimeInMillis: true,
  done: true,
  fail: true,
  succeed: true,
}

describe('reserved keys', () => {
  test("the Lambda context's members, Middy's lambdaContext, Object.prototype's names and 'prototype' are reserved", () => {
    expect([...lambdaContextMembers].sort()).toEqual([...Object.keys(contextMembers), 'lambdaContext'].sort())
    for (const key of [
      ...lambdaContextMembers,
      ...Object.getOwnPropertyNames(Object.prototype),
      '__proto__',
      'constructor',
      'prototype',
    ])
      expect({ key, reserved: isReservedKey(key) }).toEqual({ key, reserved: true })
  })

  test('any other name is free (by generators)', () => {
    const reserved = new Set([
      ...lambdaContextMembers,
      ...Object.getOwnPropertyNames(Object.prototype),
      'prototype',
    ])
    fc.assert(
      fc.property(
        fc.string().filter((key) => !reserved.has(key)),
        (key) => !isReservedKey(key),
      ),
    )
    for (const key of ['db', 'tmp', 'clients', '__proto', 'Constructor', 'proto'])
      expect(isReservedKey(key)).toBe(false)
  })

  test('option.propertyKey refuses a reserved contextKey at validation, naming the option and what it expects', () => {
    const table = { contextKey: option.propertyKey('tmp') }
    expect(validateOptionTable('@thaw/example', table, {})).toEqual({ contextKey: 'tmp' })
    expect(validateOptionTable('@thaw/example', table, { contextKey: 'cache' })).toEqual({
      contextKey: 'cache',
    })
    for (const contextKey of [
      '__proto__',
      'constructor',
      'prototype',
      'getRemainingTimeInMillis',
      'hasOwnProperty',
      '',
    ]) {
      const error = (() => {
        try {
          validateOptionTable('@thaw/example', table, { contextKey })
        } catch (thrown) {
          return thrown
        }
        return undefined
      })() as TypeError
      expect(error).toBeInstanceOf(TypeError)
      expect(error.message).toMatch(
        /^@thaw\/example: option 'contextKey' must be a non-empty string that is not a member of the Lambda context or of Object\.prototype/,
      )
      expect(error.cause).toEqual({ package: '@thaw/example', option: 'contextKey' })
    }
  })

  test("refuseReservedKeys names the key's path, own '__proto__' keys (JSON.parse makes them) included", () => {
    const fail = optionFailure('@thaw/example')
    expect(() => refuseReservedKeys({ s3: 1, secrets: 2 }, 'clients', fail)).not.toThrow()
    expect(() => refuseReservedKeys(JSON.parse('{"__proto__": {"region": "x"}}'), 'config', fail)).toThrow(
      "@thaw/example: option 'config.__proto__' is a reserved name: the keys of 'config' must not be members of the Lambda context or of Object.prototype",
    )
    expect(() => refuseReservedKeys({ constructor: 1 }, 'clients', fail)).toThrow(
      /option 'clients\.constructor' is a reserved name/,
    )
    // An inherited name is no key of the object: only own keys become properties when copied.
    expect(() =>
      refuseReservedKeys(Object.create({ __proto__: null, constructor: 1 }), 'clients', fail),
    ).not.toThrow()
  })
})
