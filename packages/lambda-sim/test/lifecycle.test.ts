import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { liveEnvironmentProcessCount } from '../src/index.ts'
import { settledProcessState, shutdownStartedEnvironments, sleep, startTestEnvironment } from './helpers.ts'

afterAll(shutdownStartedEnvironments)

interface CounterResult {
  invocationCount: number
  initializedAt: number
  pid: number
  echo: unknown
  requestId: string
  remainingMs: number
  tmpDir: string
}

describe('an execution environment', () => {
  it('keeps module state across its invocations, and the first one is the cold start', async () => {
    const environment = await startTestEnvironment('counter')
    const outcomes = []
    for (let index = 0; index < 5; index++)
      outcomes.push(await environment.invoke<CounterResult>({ echo: index }))
    const results = outcomes.map((outcome) => (outcome.ok ? outcome.result : undefined))
    expect(results.map((result) => result?.invocationCount)).toEqual([1, 2, 3, 4, 5])
    expect(results.map((result) => result?.echo)).toEqual([0, 1, 2, 3, 4])
    expect(new Set(results.map((result) => result?.pid)).size).toBe(1)
    expect(outcomes.map((outcome) => outcome.coldStart)).toEqual([true, false, false, false, false])
    expect(outcomes[0]?.initDurationMs).toBeGreaterThan(0)
    expect(outcomes[1]?.initDurationMs).toBeUndefined()
    expect(outcomes[0]?.logs).toEqual([{ level: 'INFO', message: 'invocation 1' }])
    expect(outcomes[4]?.logs).toEqual([{ level: 'INFO', message: 'invocation 5' }])
  })

  it('does not share module state or /tmp with another environment', async () => {
    const first = await startTestEnvironment('counter')
    const second = await startTestEnvironment('counter')
    await first.invoke()
    await first.invoke()
    const fromSecond = await second.invoke<CounterResult>()
    expect(fromSecond.ok && fromSecond.result.invocationCount).toBe(1)
    expect(first.tmpDir).not.toBe(second.tmpDir)
    expect(fromSecond.ok && fromSecond.result.tmpDir).toBe(second.tmpDir)
  })

  it('gives the handler a Lambda context and Lambda environment variables', async () => {
    const environment = await startTestEnvironment('counter', {
      functionName: 'orders-api',
      memoryMb: 256,
      timeoutMs: 2_000,
      env: { STAGE: 'test' },
    })
    const outcome = await environment.invoke<CounterResult>()
    if (!outcome.ok) throw new Error(outcome.error.message)
    expect(outcome.result.requestId).toBe(outcome.requestId)
    expect(outcome.result.requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(outcome.result.remainingMs).toBeLessThanOrEqual(2_000)
    expect(outcome.result.remainingMs).toBeGreaterThan(1_000)
  })

  it('freezes its process between invocations, so timers stop while frozen', async () => {
    const environment = await startTestEnvironment('ticker')
    const pid = environment.pid as number
    expect(await settledProcessState(pid, 'T')).toBe('T')
    const first = await environment.invoke<{ ticks: number }>()
    await sleep(300)
    expect(await settledProcessState(pid, 'T')).toBe('T')
    const second = await environment.invoke<{ ticks: number }>()
    // 300 ms of wall time at one tick per 10 ms would be ~30 ticks; frozen, barely any.
    expect(first.ok && second.ok).toBe(true)
    if (first.ok && second.ok) expect(second.result.ticks - first.result.ticks).toBeLessThan(5)
  })

  it('keeps running between invocations with freeze: false', async () => {
    const environment = await startTestEnvironment('ticker', { freeze: false })
    const first = await environment.invoke<{ ticks: number }>()
    await sleep(300)
    const second = await environment.invoke<{ ticks: number }>()
    if (first.ok && second.ok) expect(second.result.ticks - first.result.ticks).toBeGreaterThan(10)
    else throw new Error('an invocation failed')
  })

  it('returns the handler error as name and message', async () => {
    const environment = await startTestEnvironment('tmp-writer')
    const outcome = await environment.invoke({ throwMessage: 'no order 42' })
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(outcome.error).toMatchObject({ name: 'OrderNotFound', message: 'no order 42' })
    const next = await environment.invoke({})
    expect(next.ok).toBe(true)
  })

  it('returns a handler error whose message is not Latin-1 (… and emoji) as it was thrown', async () => {
    const environment = await startTestEnvironment('tmp-writer')
    const message = 'put .use(dbConnection(…)) first — ✓ 🧊'
    const outcome = await environment.invoke({ throwMessage: message })
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(outcome.error).toMatchObject({ name: 'OrderNotFound', message })
    expect((await environment.invoke({})).coldStart).toBe(false)
  })

  it('fails a timed-out invocation, resets the environment and keeps its /tmp', async () => {
    const environment = await startTestEnvironment('tmp-writer', { timeoutMs: 300 })
    const first = await environment.invoke<{ pid: number }>({ write: 'kept' })
    const timedOut = await environment.invoke({ hangMs: 5_000 })
    expect(timedOut.ok).toBe(false)
    if (!timedOut.ok) expect(timedOut.error.name).toBe('Sandbox.Timedout')
    expect(timedOut.durationMs).toBeLessThan(2_000)
    const afterReset = await environment.invoke<{ before: string; pid: number }>({})
    expect(afterReset.coldStart).toBe(true)
    expect(afterReset.ok && afterReset.result.before).toBe('kept')
    expect(afterReset.ok && first.ok && afterReset.result.pid !== first.result.pid).toBe(true)
    expect(environment.initCount).toBe(2)
  })

  it('surfaces a crash mid-invocation as an error and inits afresh on the next invocation', async () => {
    const environment = await startTestEnvironment('tmp-writer', { timeoutMs: 5_000 })
    const inFlight = environment.invoke({ hangMs: 2_000 })
    await sleep(100)
    await environment.crash()
    const crashed = await inFlight
    expect(crashed.ok).toBe(false)
    if (!crashed.ok)
      expect(crashed.error).toMatchObject({
        name: 'Runtime.ExitError',
        message: expect.stringContaining('SIGKILL'),
      })
    const next = await environment.invoke({})
    expect(next).toMatchObject({ ok: true, coldStart: true })
  })

  it('surfaces a process.exit inside the handler as Runtime.ExitError', async () => {
    const environment = await startTestEnvironment('tmp-writer')
    const outcome = await environment.invoke({ exit: true })
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(outcome.error.message).toContain('exit status 3')
  })

  it('runs SIGTERM listeners at shutdown and exits within the grace period', async () => {
    const environment = await startTestEnvironment('graceful', {
      tmpDir: join(await makeTemporaryDirectory(), 'tmp'),
      noOpExtension: true,
    })
    await environment.invoke()
    const pid = environment.pid
    expect(await environment.shutdown()).toEqual({ exitedWithinGracePeriod: true })
    expect(readFileSync(join(environment.tmpDir, 'sigterm.log'), 'utf8').trim()).toBe(String(pid))
    await expect(environment.invoke()).rejects.toThrow(/shut down/)
  })

  it('sends SIGKILL when the process outlives the grace period', async () => {
    const environment = await startTestEnvironment('stubborn', { shutdownGraceMs: 200, noOpExtension: true })
    await environment.invoke()
    expect(await environment.shutdown()).toEqual({ exitedWithinGracePeriod: false })
    expect(existsSync(environment.tmpDir)).toBe(false)
  })

  it('leaves no process behind once shut down', async () => {
    await shutdownStartedEnvironments()
    expect(liveEnvironmentProcessCount()).toBe(0)
  })
})

const makeTemporaryDirectory = async () => {
  const { mkdtemp } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  return mkdtemp(join(tmpdir(), 'thaw-sim-test-'))
}

describe('the environment output', () => {
  it('keeps what the process wrote outside invocations, up to its last 4 MiB', async () => {
    // Not frozen, so the process's writes drain while the test waits for the last line.
    const environment = await startTestEnvironment('chatty', { freeze: false })
    await environment.invoke({ lines: 1 })
    expect(environment.output.join('')).toContain('INFO\tinit says hello')
    await environment.invoke({ lines: 6_000 })
    for (let waited = 0; waited < 5_000 && !environment.output.join('').includes('line 5999'); waited += 50)
      await sleep(50)
    const kept = environment.output.join('')
    expect(kept.length).toBeLessThanOrEqual(4 * 1024 * 1024)
    expect(kept.length).toBeGreaterThan(3 * 1024 * 1024)
    expect(kept).toContain('line 5999')
    expect(kept).not.toContain('init says hello')
  })
})
