// The JavaScript Runtime API client (src/runtime-client) against aws-lambda-ric's native one, the
// reference: the same fixtures, invoked alike on both, must end alike (results, error shapes, log
// lines, streamed answers, Managed Instances' threads). The native client exists only where
// aws-lambda-ric's install scripts were allowed to build it (`pnpm --filter @thaw/lambda-sim
// build:native-reference`, cmake and a C toolchain); elsewhere these tests are skipped, saying so.
import { afterAll, describe, expect, it } from '@jest/globals'
import type { InvocationResult, LambdaEnvironment, LambdaSimOptions } from '../src/index.ts'
import { nativeRuntimeClient, nativeRuntimeClientIsBuilt } from '../src/runtime-client/location.ts'
import { shutdownStartedEnvironments, startTestEnvironment } from './helpers.ts'

afterAll(shutdownStartedEnvironments)

const built = nativeRuntimeClientIsBuilt()
if (!built)
  console.warn(
    `runtime-clients.test.ts SKIPPED: aws-lambda-ric's native client is not built (${nativeRuntimeClient} is missing); ` +
      '`pnpm --filter @thaw/lambda-sim build:native-reference` builds it (cmake, a C toolchain, about 5 minutes)',
  )
const describeWhereBuilt = built ? describe : describe.skip

// What may differ between two runs of the same invocation: ids, times.
const comparable = (outcome: InvocationResult) => {
  const { requestId, durationMs, initDurationMs, ...rest } = outcome
  return JSON.parse(JSON.stringify(rest).replaceAll(requestId, '<request id>'))
}

const both = async (fixture: string, options: Omit<LambdaSimOptions, 'entry'> = {}) => {
  const javascript = await startTestEnvironment(fixture, { ...options, runtimeClient: 'javascript' })
  const native = await startTestEnvironment(fixture, { ...options, runtimeClient: 'native' })
  return [javascript, native] as const
}

const sameOutcome = async (environments: readonly LambdaEnvironment[], event: unknown) => {
  const [javascript, native] = await Promise.all(environments.map((environment) => environment.invoke(event)))
  expect(comparable(javascript as InvocationResult)).toEqual(comparable(native as InvocationResult))
  return javascript as InvocationResult
}

describeWhereBuilt('the JavaScript Runtime API client, against the native one', () => {
  it('gives the same results, error shapes and log lines', async () => {
    const environments = await both('clients', { timeoutMs: 10_000, memoryMb: 512 })
    const events = [
      { action: 'echo', value: { id: 42, tags: ['a', 'ß'] } },
      { action: 'levels' },
      { action: 'type-error' },
      { action: 'custom-error' },
      { action: 'string' },
      { action: 'bigint' },
      { action: 'undefined' },
      { action: 'echo', value: 'after the errors' },
    ]
    const outcomes = []
    for (const event of events) outcomes.push(await sameOutcome(environments, event))
    // The comparison is not between two empty things: what each case gave.
    expect(outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error.name))).toEqual([
      'ok',
      'ok',
      'TypeError',
      'OrderRejected',
      'string',
      'Runtime.JSONStringifyError',
      'ok',
      'ok',
    ])
    expect(outcomes[1]?.logs.map((line) => line.level)).toEqual([
      'INFO',
      'INFO',
      'WARN',
      'ERROR',
      'DEBUG',
      'TRACE',
    ])
  })

  it("takes an answer of Lambda's 6,291,556 bytes and refuses one byte more, alike", async () => {
    const environments = await both('clients', { timeoutMs: 20_000, memoryMb: 512 })
    // The answer's JSON is the string and its two quotes.
    const atLimit = await sameOutcome(environments, { action: 'big-result', bytes: 6_291_556 - 2 })
    expect(atLimit.ok).toBe(true)
    const over = await sameOutcome(environments, { action: 'big-result', bytes: 6_291_556 - 1 })
    expect(over).toMatchObject({ ok: false, error: { name: 'Function.ResponseSizeTooLarge' } })
  })

  it('ends alike when the runtime itself cannot report what was thrown', async () => {
    const environments = await both('clients')
    const outcome = await sameOutcome(environments, { action: 'null-prototype' })
    expect(outcome).toMatchObject({ ok: false, error: { name: 'Runtime.ExitError' } })
  })

  it('streams a response alike', async () => {
    const environments = await both('clients', { exportName: 'streaming' })
    const outcome = await sameOutcome(environments, { chunks: ['one ', 'two ', 'three'] })
    expect(outcome).toMatchObject({ ok: true, result: 'one two three' })
  })

  it("runs Managed Instances' worker threads alike, one connection each", async () => {
    const environments = await both('concurrent', { workers: 2, concurrency: 4 })
    const results = await Promise.all(
      environments.map((environment) =>
        Promise.all(
          Array.from({ length: 8 }, () => environment.invoke<{ threadId: number }>({ holdMs: 100 })),
        ),
      ),
    )
    for (const outcomes of results) {
      expect(outcomes.every((outcome) => outcome.ok)).toBe(true)
      expect(new Set(outcomes.map((outcome) => outcome.threadId))).toEqual(new Set([1, 2]))
      expect(outcomes.filter((outcome) => outcome.coldStart)).toHaveLength(2)
    }
  })
})
