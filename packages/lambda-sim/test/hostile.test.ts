// A handler cannot hurt the simulator: what it throws, returns, logs, allocates or spawns ends as a
// clear outcome of its own invocation, and the environment or the next one carries on.
import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from '@jest/globals'
import { LambdaSimError, lambdaSimErrorCodes, lambdaSimStats, maxResponseBytes } from '../src/index.ts'
import { shutdownStartedEnvironments, startTestEnvironment } from './helpers.ts'

afterAll(shutdownStartedEnvironments)

describe('an event that JSON cannot carry', () => {
  it.each([
    ['a BigInt', { id: 1n }],
    [
      'a cycle',
      (() => {
        const cycle: Record<string, unknown> = {}
        cycle.self = cycle
        return cycle
      })(),
    ],
    ['a function', () => 'not data'],
    ['a symbol', Symbol('not data')],
  ])('is refused by invoke() before anything is dispatched: %s', async (_, event) => {
    const environment = await startTestEnvironment('counter')
    const first = await environment.invoke<{ invocationCount: number }>({})
    const pid = environment.pid
    const before = lambdaSimStats()
    const refusal = environment.invoke(event)
    await expect(refusal).rejects.toBeInstanceOf(LambdaSimError)
    await expect(refusal).rejects.toMatchObject({ code: lambdaSimErrorCodes.eventRefused })
    await expect(refusal).rejects.toThrow(/^@thaw\/lambda-sim: the event cannot be sent/)
    // The environment is as it was: same process, still frozen, and the next invocation is its second.
    expect(environment.pid).toBe(pid)
    expect(environment.isFrozen).toBe(true)
    expect(lambdaSimStats()).toEqual({ ...before, eventsRefused: before.eventsRefused + 1 })
    const next = await environment.invoke<{ invocationCount: number }>({})
    expect(first.ok && first.result.invocationCount).toBe(1)
    expect(next).toMatchObject({ ok: true, coldStart: false, result: { invocationCount: 2 } })
  })

  it("refuses an event over Lambda's 6 MB synchronous request limit, and takes one at it", async () => {
    const environment = await startTestEnvironment('echo', { timeoutMs: 10_000 })
    // The event's JSON text is the string plus its two quotes.
    const atLimit = 'e'.repeat(6_291_456 - 2)
    await expect(environment.invoke(`${atLimit}e`)).rejects.toThrow(
      /6291457 bytes: Lambda refuses a synchronous request over 6291456 bytes/,
    )
    const outcome = await environment.invoke<null>({ value: null, padding: atLimit.slice(30) })
    expect(outcome.ok).toBe(true)
  })
})

describe('a thrown value that is not an Error', () => {
  it.each([
    // aws-lambda-ric names a thrown non-Error by its typeof (formatError).
    ['a string', 'string', { name: 'string', message: 'a plain string' }],
    ['undefined', 'undefined', { name: 'undefined', message: 'undefined' }],
    [
      'an Error whose name getter throws',
      'name-getter',
      {
        name: 'handled',
        message: expect.stringContaining(
          'a problem while retrieving one or more of its message, name, and stack',
        ),
      },
    ],
  ])('ends its invocation with an error outcome: %s', async (_, kind, error) => {
    const environment = await startTestEnvironment('hostile')
    const outcome = await environment.invoke({ throw: kind })
    expect(outcome).toMatchObject({ ok: false, error })
    const next = await environment.invoke<{ invocations: number }>({})
    expect(next).toMatchObject({ ok: true, coldStart: false, result: { invocations: 2 } })
  })

  // aws-lambda-ric 4.0.2 itself cannot format these (String() of them throws inside its error path),
  // so its process dies, as it would on Lambda; the outcome says so, and the next invocation inits anew.
  it.each([
    ['an object without a prototype', 'null-prototype'],
    ['a Proxy whose every trap throws', 'proxy'],
  ])('ends its invocation with a Runtime.ExitError that says why: %s', async (_, kind) => {
    const environment = await startTestEnvironment('hostile')
    const outcome = await environment.invoke({ throw: kind })
    expect(outcome).toMatchObject({
      ok: false,
      error: {
        name: 'Runtime.ExitError',
        message: expect.stringMatching(
          /^Runtime exited with error: exit status 1 \(the runtime's last error: \w*Error: /,
        ),
      },
    })
    const next = await environment.invoke<{ invocations: number }>({})
    expect(next).toMatchObject({ ok: true, coldStart: true, result: { invocations: 1 } })
  })
})

describe("Lambda's limits", () => {
  it(`fails an answer over ${maxResponseBytes} bytes with Function.ResponseSizeTooLarge, and takes one at it`, async () => {
    // 512 MB: at 128 a 20 MiB string, its JSON copy and the native client's copy run out of memory first.
    const environment = await startTestEnvironment('hostile', { timeoutMs: 10_000, memoryMb: 512 })
    // The answer's JSON text is the string plus its two quotes.
    const atLimit = await environment.invoke<string>({ resultBytes: maxResponseBytes - 2 })
    expect(atLimit.ok && atLimit.result.length).toBe(maxResponseBytes - 2)
    const overLimit = await environment.invoke({ resultBytes: maxResponseBytes - 1 })
    expect(overLimit).toMatchObject({
      ok: false,
      error: {
        name: 'Function.ResponseSizeTooLarge',
        message: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
      },
    })
    const twentyMiB = await environment.invoke({ resultBytes: 20 * 1024 * 1024 })
    expect(twentyMiB).toMatchObject({ ok: false, error: { name: 'Function.ResponseSizeTooLarge' } })
    // The runtime carries on: the environment is the same.
    const next = await environment.invoke<{ invocations: number }>({})
    expect(next).toMatchObject({ ok: true, coldStart: false, result: { invocations: 4 } })
  })

  it('fails an answer JSON cannot carry with the runtime’s Runtime.JSONStringifyError', async () => {
    const environment = await startTestEnvironment('hostile')
    const outcome = await environment.invoke({ resultBigInt: true })
    expect(outcome).toMatchObject({ ok: false, error: { name: 'Runtime.JSONStringifyError' } })
  })

  it('ends a handler that holds 600 MiB outside the V8 heap at 128 MB with Runtime.OutOfMemory', async () => {
    const environment = await startTestEnvironment('hostile', { memoryMb: 128, timeoutMs: 20_000 })
    const first = await environment.invoke<{ pid: number }>({})
    const outcome = await environment.invoke({ nativeMiB: 600 })
    expect(outcome).toMatchObject({
      ok: false,
      error: {
        name: 'Runtime.OutOfMemory',
        message: expect.stringMatching(
          /^Runtime exited with error: signal: killed \(the environment used \d+ MB of its 128 MB\)$/,
        ),
      },
    })
    const next = await environment.invoke<{ pid: number }>({})
    expect(next).toMatchObject({ ok: true, coldStart: true })
    expect(next.ok && first.ok && next.result.pid !== first.result.pid).toBe(true)
  })

  it('ends a handler that fills its V8 heap with Runtime.OutOfMemory', async () => {
    const environment = await startTestEnvironment('hostile', { memoryMb: 128, timeoutMs: 20_000 })
    const outcome = await environment.invoke({ heapMiB: 400 })
    expect(outcome).toMatchObject({ ok: false, error: { name: 'Runtime.OutOfMemory' } })
  })

  it('keeps a bounded part of a 400,000-line flood, and counts and says what it dropped', async () => {
    const environment = await startTestEnvironment('hostile', {
      timeoutMs: 120_000,
      maxLogBytesPerInvocation: 64 * 1024,
    })
    const lines = 400_000
    const outcome = await environment.invoke<{ logged: number }>({ logLines: lines })
    if (!outcome.ok) throw new Error(`${outcome.error.name}: ${outcome.error.message}`)
    expect(outcome.result.logged).toBe(lines)
    const kept = outcome.logs.slice(0, -1)
    expect(kept.map((line) => line.message)).toEqual(kept.map((_, index) => `flood line ${index}`))
    expect(outcome.logsDropped?.lines).toBe(lines - kept.length)
    expect(lambdaSimStats().logLinesDropped).toBeGreaterThanOrEqual(lines - kept.length)
    expect(outcome.logs.at(-1)).toEqual({
      level: 'WARN',
      message: `@thaw/lambda-sim: ${lines - kept.length} more log lines (${outcome.logsDropped?.bytes} bytes) were dropped: the capture keeps 65536 bytes per invocation (maxLogBytesPerInvocation)`,
    })
    const next = await environment.invoke({})
    expect(next).toMatchObject({ ok: true, coldStart: false, logs: [] })
  }, 180_000)
})

describe('shutdown', () => {
  it('sends no SIGTERM without an extension, as Lambda does not, and kills the runtime', async () => {
    const environment = await startTestEnvironment('graceful', {
      tmpDir: `${(await import('node:os')).tmpdir()}/thaw-sim-no-ext-${process.pid}`,
    })
    await environment.invoke()
    expect(await environment.shutdown()).toEqual({ exitedWithinGracePeriod: false })
    expect(() => readFileSync(`${environment.tmpDir}/sigterm.log`, 'utf8')).toThrow(/ENOENT/)
    expect(environment.output.join('')).not.toContain('closing on SIGTERM')
  })

  it('keeps what a SIGTERM listener logs on its way out', async () => {
    const environment = await startTestEnvironment('graceful', { noOpExtension: true })
    await environment.invoke()
    expect(await environment.shutdown()).toEqual({ exitedWithinGracePeriod: true })
    expect(environment.output.join('')).toContain('INFO\tclosing on SIGTERM')
  })

  it('sends SIGTERM when the function registered an extension of its own through the Extensions API', async () => {
    const environment = await startTestEnvironment('own-extension', {
      tmpDir: `${(await import('node:os')).tmpdir()}/thaw-sim-own-ext-${process.pid}`,
    })
    const outcome = await environment.invoke<{ status: number; extensionId: string }>()
    expect(outcome).toMatchObject({
      ok: true,
      result: { status: 200, extensionId: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    })
    expect(await environment.shutdown()).toEqual({ exitedWithinGracePeriod: true })
    expect(readFileSync(`${environment.tmpDir}/sigterm.log`, 'utf8')).toBe('own-extension\n')
  })
})
