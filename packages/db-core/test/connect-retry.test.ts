import { describe, expect, it } from '@jest/globals'
import type { Request } from '@middy/core'
import fc from 'fast-check'
import { backOff, backoffDelay, type DbLogEvent, invocationDeadline } from '../src/index.ts'

// The back-off both drivers take while the server has too many connections, and the deadline it
// stops at. The drivers' too-many-connections tests prove it against real servers; here, its rule
// over generated settings.

const settings = (base: number, max: number) => ({
  baseDelayMs: base,
  maxDelayMs: max,
  deadlineMarginMs: 500,
  maxWaitMs: 10_000,
})

describe('backoffDelay', () => {
  it('waits a whole number of ms below min(maxDelayMs, baseDelayMs * 2^retries), and never up to the deadline', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: -1_000, max: 120_000 }),
        (base, max, retries, untilDeadline) => {
          const before = Date.now()
          const delay = backoffDelay(settings(base, max), retries, before + untilDeadline)
          const after = Date.now()
          if (delay === undefined) {
            // Given up only where some wait within the cap could reach the deadline.
            expect(untilDeadline).toBeLessThan(Math.min(max, base * 2 ** retries) + (after - before))
            return
          }
          expect(Number.isInteger(delay)).toBe(true)
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThan(Math.min(max, base * 2 ** retries))
          expect(before + delay).toBeLessThan(before + untilDeadline)
        },
      ),
    )
  })

  it('spreads the waits (full jitter): environments refused at once do not all come back at once', () => {
    const delays = new Set(
      Array.from({ length: 200 }, () => backoffDelay(settings(50, 1_000), 4, Date.now() + 60_000)),
    )
    // 200 draws below 800 ms: far more than a handful of distinct waits.
    expect(delays.size).toBeGreaterThan(50)
    expect(Math.max(...(delays as Set<number>))).toBeGreaterThanOrEqual(400)
  })
})

describe('backOff', () => {
  it('says the wait in the log with the refusal, then waits at least that long', async () => {
    const events: DbLogEvent[] = []
    const refusal = Object.assign(new Error('Too many connections'), { errno: 1040 })
    const started = Date.now()
    await backOff((event) => events.push(event), 'app@db:3306/test', 30, refusal)
    expect(Date.now() - started).toBeGreaterThanOrEqual(29)
    expect(events).toEqual([
      expect.objectContaining({
        level: 'info',
        event: 'backoff',
        pool: 'app@db:3306/test',
        message: 'too many connections: retrying in 30 ms',
      }),
    ])
  })
})

describe('invocationDeadline', () => {
  it("is the invocation's remaining time less deadlineMarginMs, and maxWaitMs outside an invocation", () => {
    const request = { context: { getRemainingTimeInMillis: () => 3_000 } } as unknown as Request
    const before = Date.now()
    const within = invocationDeadline(settings(50, 1_000), request)
    expect(within - before).toBeGreaterThanOrEqual(2_500)
    expect(within - Date.now()).toBeLessThanOrEqual(2_500)
    const outside = invocationDeadline(settings(50, 1_000), undefined)
    expect(outside - Date.now()).toBeLessThanOrEqual(10_000)
    expect(outside - before).toBeGreaterThanOrEqual(10_000)
  })
})
