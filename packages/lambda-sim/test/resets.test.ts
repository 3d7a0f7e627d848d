// A reset (a timeout, a crash, a full heap, memory over the limit) ends what was running with a clear
// outcome, and what comes next gets a new process: the invocation's own logs, name, message and
// duration; an init that exits says how; Managed Instances hand what waited to the next process, or
// fail it when that process cannot init.
import { afterAll, describe, expect, it } from '@jest/globals'
import { shutdownStartedEnvironments, startTestEnvironment } from './helpers.ts'

afterAll(shutdownStartedEnvironments)

describe('an invocation ended by a reset', () => {
  it('keeps its logs, and is not a cold start, when it times out', async () => {
    const environment = await startTestEnvironment('spawner', { timeoutMs: 1_000 })
    await environment.invoke({ action: 'ok' })
    const outcome = await environment.invoke({ action: 'hang' })
    expect(outcome).toMatchObject({ ok: false, coldStart: false, error: { name: 'Sandbox.Timedout' } })
    expect(outcome.logs.map((log) => log.message)).toContain('before the hang')
    // The next invocation, at once, gets a new process: the timed-out one is no longer the environment's.
    const next = await environment.invoke({ action: 'ok' })
    expect(next).toMatchObject({ ok: true, result: 'ok', coldStart: true })
  })

  it("says the runtime's last error when it crashes, with its own duration", async () => {
    const environment = await startTestEnvironment('spawner')
    await environment.invoke({ action: 'ok' })
    const before = performance.now()
    const outcome = await environment.invoke({ action: 'crash' })
    const elapsedMs = performance.now() - before
    expect(outcome).toMatchObject({
      ok: false,
      coldStart: false,
      error: {
        name: 'Runtime.ExitError',
        message:
          "Runtime exited with error: exit status 1 (the runtime's last error: RangeError [ERR_THE_REAL_ONE]: this one)",
      },
    })
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0)
    expect(outcome.durationMs).toBeLessThanOrEqual(elapsedMs)
  })
})

describe('an environment whose init exits', () => {
  it('fails to start with the exit code and the last five lines of output', async () => {
    await expect(startTestEnvironment('init-exits')).rejects.toThrow(
      "the environment's process exited during init (code 3):\nINFO\tinit line 3\nINFO\tinit line 4\nINFO\tinit line 5\nINFO\tinit line 6\nINFO\tinit line 7",
    )
  })

  it('fails to start with Runtime.OutOfMemory when init runs out of memory', async () => {
    await expect(startTestEnvironment('init-fills-heap', { memoryMb: 128 })).rejects.toThrow(
      /^@thaw\/lambda-sim: the environment's process exited during init \([^)]+\) Runtime\.OutOfMemory: /,
    )
  })

  it('fails to start with the exit code alone when init printed nothing', async () => {
    await expect(startTestEnvironment('init-exits-silently')).rejects.toThrow(
      /^@thaw\/lambda-sim: the environment's process exited during init \(code 4\)$/,
    )
  })
})

describe('Managed-Instances mode', () => {
  it('hands what waited for a slot to a new process when the process ends', async () => {
    const environment = await startTestEnvironment('spawner', { workers: 1, concurrency: 1, memoryMb: 128 })
    const [hog, waiting] = await Promise.all([
      environment.invoke({ action: 'hog' }),
      environment.invoke({ action: 'ok' }),
    ])
    expect(hog).toMatchObject({ ok: false, error: { name: 'Runtime.OutOfMemory' } })
    expect(waiting).toMatchObject({ ok: true, result: 'ok' })
  })

  it('fails what waited for a slot when the next process cannot init', async () => {
    const environment = await startTestEnvironment('second-init-fails', {
      workers: 1,
      concurrency: 1,
      memoryMb: 128,
    })
    const [hog, waiting] = await Promise.all([
      environment.invoke({ action: 'hog' }),
      environment.invoke({ action: 'ok' }),
    ])
    expect(hog).toMatchObject({ ok: false, error: { name: 'Runtime.OutOfMemory' } })
    expect(waiting).toMatchObject({
      ok: false,
      coldStart: true,
      error: { message: expect.stringContaining('failed: Error: this environment inits only once') },
    })
  })
})

describe('a handler that fills its V8 heap', () => {
  it('ends with Runtime.OutOfMemory, saying the heap ran out', async () => {
    // At 1024 MB the heap limit (0.9 x memoryMb) is reached while the resident size is still under
    // memoryMb, so V8 aborts before the memory watch kills the process (checked with Node 24).
    const environment = await startTestEnvironment('spawner', { memoryMb: 1024, timeoutMs: 20_000 })
    const outcome = await environment.invoke({ action: 'fill-heap' })
    expect(outcome).toMatchObject({
      ok: false,
      error: {
        name: 'Runtime.OutOfMemory',
        message: 'Runtime exited with error: signal: SIGABRT (JavaScript heap out of memory at 1024 MB)',
      },
    })
  }, 30_000)
})
