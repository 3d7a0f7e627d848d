import { afterAll, describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { cleanUp, dataBytesIn, scratchDir, startStoreEnvironment, storeDirOf } from './helpers.ts'

afterAll(cleanUp)

const maxBytes = 200_000

describe('the byte budget', () => {
  it('holds across many invocations of random sizes, in two environments sharing the directory', async () => {
    const tmpDir = scratchDir('budget')
    const environments = await Promise.all([
      startStoreEnvironment({ tmpDir, maxBytes }),
      startStoreEnvironment({ tmpDir, maxBytes }),
    ])
    const storeDir = storeDirOf(tmpDir)
    let round = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            size: fc.integer({ min: 0, max: maxBytes + 20_000 }),
            key: fc.integer({ min: 0, max: 30 }),
          }),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        async (writes) => {
          round++
          // Pairs of invocations run at once, one in each environment.
          for (let i = 0; i < writes.length; i += 2) {
            const outcomes = await Promise.all(
              writes
                .slice(i, i + 2)
                .map(({ size, key }, j) =>
                  environments[j]?.invoke({ op: 'getOrFetch', key: `r${round % 3}/k${key}`, size }),
                ),
            )
            for (const [j, outcome] of outcomes.entries()) {
              const size = writes[i + j]?.size ?? 0
              if (size > maxBytes)
                expect(outcome?.ok ? 'stored' : outcome?.error.name).toBe('TmpStoreEntryTooLargeError')
              // Lambda's error in the failure message: a timeout under load reads otherwise like a refusal.
              else
                expect(outcome?.ok ? 'stored' : `${outcome?.error.name}: ${outcome?.error.message}`).toBe(
                  'stored',
                )
            }
            expect(dataBytesIn(storeDir)).toBeLessThanOrEqual(maxBytes)
          }
        },
      ),
      { numRuns: 12, seed: 6 },
    )
    let evictions = 0
    for (const environment of environments) {
      const outcome = await environment.invoke<{
        stats: { bytes: number; maxBytes: number; evictions: number }
      }>({
        op: 'stats',
      })
      expect(outcome.ok && outcome.result.stats.maxBytes).toBe(maxBytes)
      expect(outcome.ok && outcome.result.stats.bytes).toBeLessThanOrEqual(maxBytes)
      evictions += outcome.ok ? outcome.result.stats.evictions : 0
    }
    // The sizes overflow the budget many times over: it held because entries were evicted.
    expect(evictions).toBeGreaterThan(10)
  })
})
