import { afterAll, describe, expect, it } from '@jest/globals'
import { waitFor } from '@thaw/test-support'
import { settledProcessState, shutdownStartedEnvironments, startTestEnvironment } from './helpers.ts'

afterAll(shutdownStartedEnvironments)

interface ConcurrentResult {
  threadId: number
  pid: number
  initializedAt: number
  maxInFlight: number
  invocations: number
  tmpDir: string
}

describe('Managed-Instances mode', () => {
  it('inits each worker thread once and overlaps invocations in each thread, sharing one /tmp', async () => {
    const environment = await startTestEnvironment('concurrent', {
      workers: 2,
      concurrency: 4,
      timeoutMs: 5_000,
    })
    const outcomes = await Promise.all(
      Array.from({ length: 16 }, () => environment.invoke<ConcurrentResult>({ holdMs: 100 })),
    )
    const results = outcomes.map((outcome) => {
      if (!outcome.ok) throw new Error(outcome.error.message)
      return outcome.result
    })
    const threads = new Set(results.map((result) => result.threadId))
    expect(threads.size).toBe(2)
    expect(new Set(results.map((result) => result.pid)).size).toBe(1)
    // One init per thread: every result from a thread reports the same init time.
    for (const thread of threads) {
      const initTimes = new Set(
        results.filter((result) => result.threadId === thread).map((result) => result.initializedAt),
      )
      expect(initTimes.size).toBe(1)
    }
    expect(outcomes.filter((outcome) => outcome.coldStart)).toHaveLength(2)
    // Overlap within a thread, bounded by the concurrency per thread.
    const maxOverlap = Math.max(...results.map((result) => result.maxInFlight))
    expect(maxOverlap).toBeGreaterThan(1)
    expect(maxOverlap).toBeLessThanOrEqual(4)
    expect(new Set(results.map((result) => result.tmpDir))).toEqual(new Set([environment.tmpDir]))
  })

  it('is not frozen between invocations, as managed instances are not', async () => {
    const environment = await startTestEnvironment('concurrent', { workers: 1 })
    await environment.invoke({ holdMs: 1 })
    expect(environment.isFrozen).toBe(false)
  })

  it('never has more invocations in flight than its concurrency (AWS_LAMBDA_MAX_CONCURRENCY), across its threads', async () => {
    const environment = await startTestEnvironment('in-flight', {
      workers: 3,
      concurrency: 4,
      timeoutMs: 10_000,
    })
    const outcomes = await Promise.all(
      Array.from({ length: 24 }, () =>
        environment.invoke<{ threadId: number; seen: number }>({ holdMs: 150 }),
      ),
    )
    const results = outcomes.map((outcome) => {
      if (!outcome.ok) throw new Error(outcome.error.message)
      return outcome.result
    })
    const mostSeen = Math.max(...results.map((result) => result.seen))
    expect(mostSeen).toBeLessThanOrEqual(4)
    // Not vacuous: the slots were used at once, by more than one thread.
    expect(mostSeen).toBeGreaterThan(1)
    expect(new Set(results.map((result) => result.threadId)).size).toBeGreaterThan(1)
    // The simulator's thread numbers follow the runtime's threads one to one.
    const threadsBySimulatorId = new Map<number, Set<number>>()
    outcomes.forEach((outcome, index) => {
      const threads = threadsBySimulatorId.get(outcome.threadId as number) ?? new Set()
      threads.add((results[index] as { threadId: number }).threadId)
      threadsBySimulatorId.set(outcome.threadId as number, threads)
    })
    for (const threads of threadsBySimulatorId.values()) expect(threads.size).toBe(1)
    expect(outcomes.filter((outcome) => outcome.coldStart)).toHaveLength(threadsBySimulatorId.size)
  })
})

describe('Managed-Instances mode with freeze: true', () => {
  it('freezes once every thread is back and nothing waits, and thaws for the next', async () => {
    const environment = await startTestEnvironment('concurrent', { workers: 2, concurrency: 4, freeze: true })
    expect(environment.isFrozen).toBe(true)
    for (let round = 0; round < 2; round++) {
      const outcomes = await Promise.all(
        Array.from({ length: 4 }, () => environment.invoke<ConcurrentResult>({ holdMs: 20 })),
      )
      expect(outcomes.every((outcome) => outcome.ok)).toBe(true)
      await waitFor(() => (environment.isFrozen ? true : undefined), { what: 'the freeze after the round' })
      expect(await settledProcessState(environment.pid as number, 'T')).toBe('T')
    }
  })
})
