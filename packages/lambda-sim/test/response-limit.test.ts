// Lambda's synchronous response limit is 6,291,556 bytes of the answer's JSON ("Response payload size
// exceeded maximum allowed payload size (6291556 bytes)."): an answer of exactly that many bytes comes
// back, one byte more fails with Function.ResponseSizeTooLarge, and the environment carries on. Counted
// in bytes, not characters: the answers here are mostly three-byte characters.
import { afterAll, describe, expect, it } from '@jest/globals'
import { maxResponseBytes } from '../src/index.ts'
import { shutdownStartedEnvironments, startTestEnvironment } from './helpers.ts'

afterAll(shutdownStartedEnvironments)

// 3 x 2,097,184 bytes of '水', `ascii` bytes of 'a' and the JSON string's two quotes.
const answerOf = (ascii: number) => ({
  action: 'text',
  parts: [
    ['a', ascii],
    ['水', 2_097_184],
  ],
})
const bytesOf = (ascii: number) => 3 * 2_097_184 + ascii + 2

describe("Lambda's response limit", () => {
  it('takes an answer of exactly 6,291,556 bytes and fails one a byte longer, as Lambda does', async () => {
    expect(maxResponseBytes).toBe(6_291_556)
    expect(bytesOf(2)).toBe(maxResponseBytes)
    const environment = await startTestEnvironment('clients', { timeoutMs: 20_000, memoryMb: 512 })
    const atLimit = await environment.invoke<string>(answerOf(2))
    expect(atLimit.ok).toBe(true)
    expect(atLimit.ok && Buffer.byteLength(JSON.stringify(atLimit.result))).toBe(maxResponseBytes)
    const over = await environment.invoke(answerOf(3))
    expect(over).toMatchObject({
      ok: false,
      error: {
        name: 'Function.ResponseSizeTooLarge',
        message: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
      },
    })
    // The same runtime answers the next one: a refused answer is not a crash.
    const next = await environment.invoke({ action: 'echo', value: 1 })
    expect(next).toMatchObject({ ok: true, coldStart: false })
  })
})
