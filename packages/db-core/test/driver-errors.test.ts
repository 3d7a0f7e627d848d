// The run-time errors a driver raises through db-core: its codes say which package threw them (two
// drivers' codes never meet), and the too-many-connections error keeps the server's code, says what
// was tried, and shows the server's error only as its cause.

import { fc, test } from '@fast-check/jest'
import { describe, expect, it } from '@jest/globals'
import { ConnectionLimitError, driverErrorCodes } from '../src/index.ts'

describe('driverErrorCodes', () => {
  const prefix = fc.stringMatching(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/)

  test.prop([prefix, prefix])('two packages’ codes never meet, and each names its package', (one, other) => {
    fc.pre(one !== other)
    const mine = Object.values(driverErrorCodes(one))
    const theirs = new Set(Object.values(driverErrorCodes(other)))
    for (const code of mine) {
      expect(code.startsWith(`THAW_${one}_`)).toBe(true)
      // A prefix that is another's start ('DB' and 'DB_CONNECTION') could still make one code twice.
      expect(theirs.has(code)).toBe(false)
    }
    expect(new Set(mine).size).toBe(mine.length)
  })

  it('gives a driver the same names as every other driver', () => {
    expect(Object.keys(driverErrorCodes('DB_CONNECTION'))).toEqual(
      Object.keys(driverErrorCodes('PG_CONNECTION')),
    )
  })
})

describe('ConnectionLimitError', () => {
  class DemoLimitError extends ConnectionLimitError {
    override name = 'DemoLimitError'
    readonly thawCode = 'THAW_DEMO_TOO_MANY_CONNECTIONS'
  }
  const server = Object.assign(new Error('too many connections'), { code: '53300', errno: 1040 })

  it('keeps the server’s code, says how long it tried, and keeps the server’s error as its cause', () => {
    const error = new DemoLimitError('@thaw/demo', server, 3, 1_250)
    expect(error).toBeInstanceOf(ConnectionLimitError)
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('DemoLimitError')
    expect(error.code).toBe('53300')
    expect(error.package).toBe('@thaw/demo')
    expect(error.cause).toBe(server)
    expect(error.message).toBe(
      "@thaw/demo: the server refused a new connection for too many connections (53300: too many connections); 3 retries over 1250 ms did not get one before the invocation's deadline",
    )
    expect(String(error)).toMatch(/^DemoLimitError: @thaw\/demo: /)
  })
})
