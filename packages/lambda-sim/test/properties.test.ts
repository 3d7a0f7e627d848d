// Guarantees stated for every input, checked by generators (fast-check 4) through a real runtime.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import type { LambdaEnvironment } from '../src/index.ts'
import { lambdaSimErrorCodes } from '../src/index.ts'
import { shutdownStartedEnvironments, startTestEnvironment } from './helpers.ts'

let environment: LambdaEnvironment
beforeAll(async () => {
  environment = await startTestEnvironment('echo', { timeoutMs: 10_000, maxLogBytesPerInvocation: 4_096 })
})
afterAll(shutdownStartedEnvironments)

describe('through the Runtime API and aws-lambda-ric', () => {
  it('a JSON value arrives as the event and comes back as the result, as JSON carries it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const outcome = await environment.invoke({ value })
        expect(outcome.ok).toBe(true)
        // Lambda's answer for a handler's undefined (value null here) is null, and -0 travels as 0.
        if (outcome.ok) expect(outcome.result).toEqual(JSON.parse(JSON.stringify(value ?? null)))
      }),
      { numRuns: 40 },
    )
  })

  it('an event holding a BigInt anywhere is refused before dispatch, and the environment carries on', async () => {
    const withBigInt = fc
      .jsonValue()
      .chain((value) => fc.bigInt().map((big) => ({ value, nested: [{ big }] })))
    await fc.assert(
      fc.asyncProperty(withBigInt, async (event) => {
        await expect(environment.invoke(event)).rejects.toMatchObject({
          code: lambdaSimErrorCodes.eventRefused,
        })
        const outcome = await environment.invoke({ value: 'still here' })
        expect(outcome).toMatchObject({ ok: true, coldStart: false, result: 'still here' })
      }),
      { numRuns: 15 },
    )
  })

  it('the log capture keeps lines in order up to its limit and counts every line past it', async () => {
    const lines = fc.array(
      fc.string({ unit: 'grapheme-ascii', maxLength: 300 }).map((text) => text.replaceAll('\n', ' ')),
      {
        maxLength: 80,
      },
    )
    await fc.assert(
      fc.asyncProperty(lines, async (log) => {
        const outcome = await environment.invoke({ log })
        const dropped = outcome.logsDropped?.lines ?? 0
        const kept = dropped > 0 ? outcome.logs.slice(0, -1) : outcome.logs
        expect(kept.length + dropped).toBe(log.length)
        expect(kept.map((line) => line.message)).toEqual(log.slice(0, kept.length))
        expect(kept.every((line) => line.level === 'INFO')).toBe(true)
      }),
      { numRuns: 25 },
    )
  })
})
