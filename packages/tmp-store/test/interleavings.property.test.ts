// Every get returns what a put stored, across threads and processes, by generators: two worker
// threads of one Managed Instance and a second execution environment (another process) share one
// /tmp; batches of put / getOrFetch / get / delete run at the same time in them, under a budget
// small enough to evict all the time. Whatever the interleaving, a get of a key returns the bytes
// of one version some put or fetch of that key stored (never another key's, never a mix), or
// nothing; ill-formed keys are refused.
import { createHash } from 'node:crypto'
import { afterAll, describe, expect, it } from '@jest/globals'
import type { LambdaEnvironment } from '@thaw/lambda-sim'
import fc from 'fast-check'
import { bytesFor, type StepOutcome, type StoreEvent } from './fixtures/store-handler.ts'
import { cleanUp, scratchDir, startStoreEnvironment } from './helpers.ts'

afterAll(cleanUp)

const maxBytes = 12_000
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const isWellFormed = (key: string) => (key as unknown as { isWellFormed(): boolean }).isWellFormed()

const keyArbitrary = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\uD800', '\uDC00', '\uFFFD', '/', 'a'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 4,
})

interface Step {
  op: 'put' | 'getOrFetch' | 'get' | 'delete'
  key: number
  size: number
  /** Which of the three runners: 0 and 1 go to the two-thread environment, 2 to the other process. */
  runner: number
}

const stepArbitrary: fc.Arbitrary<Step> = fc.record({
  op: fc.constantFrom('put' as const, 'getOrFetch' as const, 'get' as const, 'delete' as const),
  key: fc.nat(3),
  size: fc.integer({ min: 0, max: 5_000 }),
  runner: fc.nat(2),
})

// One step in one environment, its outcome (an error as its name and code) read back.
const perform = async (environment: LambdaEnvironment, event: StoreEvent): Promise<StepOutcome> => {
  const outcome = await environment.invoke<StepOutcome[]>({ op: 'script', steps: [event] })
  if (!outcome.ok)
    throw new Error(`${event.op} failed in Lambda: ${outcome.error.name}: ${outcome.error.message}`)
  return outcome.result[0] as StepOutcome
}

describe('interleavings across two threads and two processes, by generators', () => {
  it('get(k) returns one stored version of k, or nothing, whatever runs at the same time', async () => {
    const tmpDir = scratchDir('interleavings')
    const [threads, process] = await Promise.all([
      startStoreEnvironment({ tmpDir, maxBytes, workers: 2, concurrency: 2, timeoutMs: 10_000 }),
      startStoreEnvironment({ tmpDir, maxBytes, timeoutMs: 10_000 }),
    ])
    const runners = [threads, threads, process] as LambdaEnvironment[]
    let salt = 0
    let gets = 0
    let found = 0
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(keyArbitrary, { minLength: 1, maxLength: 4 }),
        fc.array(fc.array(stepArbitrary, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        async (keys, batches) => {
          // Every version of every key ever stored or being stored (by digest): a get may see any of them.
          const versions = new Map<string, Set<string>>()
          const round = `${++salt}`
          // Each run starts with one read that must find what was stored, in the other process: the
          // generated batches may all miss (evicted, deleted, never stored), and the property must
          // still have looked at real bytes.
          const anchor = { op: 'put' as const, key: `${round}|anchor`, size: 1_000, salt: `${round}.anchor` }
          versions.set(
            anchor.key,
            new Set([sha256(bytesFor(`${anchor.key}\u0000${anchor.salt}`, anchor.size))]),
          )
          expect(await perform(runners[0] as LambdaEnvironment, anchor)).toMatchObject({ ok: true })
          const anchorRead = await perform(runners[2] as LambdaEnvironment, { ...anchor, op: 'get' })
          gets++
          const anchorResult = (anchorRead.ok ? anchorRead.result : {}) as {
            found?: boolean
            sha256?: string
          }
          expect(anchorResult.found).toBe(true)
          found++
          expect(versions.get(anchor.key)?.has(anchorResult.sha256 as string)).toBe(true)
          for (const batch of batches) {
            const events = batch.map((step, index) => {
              const key = `${round}|${keys[step.key % keys.length]}`
              const event: StoreEvent = {
                op: step.op,
                key,
                size: step.size,
                salt: `${round}.${index}.${salt++}`,
              }
              if ((step.op === 'put' || step.op === 'getOrFetch') && isWellFormed(key)) {
                const digests = versions.get(key) ?? new Set()
                digests.add(sha256(bytesFor(`${key}\u0000${event.salt}`, step.size)))
                versions.set(key, digests)
              }
              return { step, key, event }
            })
            const outcomes = await Promise.all(
              events.map(({ step, event }) => perform(runners[step.runner] as LambdaEnvironment, event)),
            )
            for (const [index, outcome] of outcomes.entries()) {
              const { step, key } = events[index] as (typeof events)[number]
              if (!isWellFormed(key)) {
                expect(outcome).toMatchObject({ ok: false, code: 'THAW_TMP_STORE_INVALID_KEY' })
                continue
              }
              expect({ key, step, outcome: outcome.ok ? 'ok' : outcome }).toEqual({
                key,
                step,
                outcome: 'ok',
              })
              if (step.op !== 'get') continue
              gets++
              const result = outcome.result as { found: boolean; sha256: string | null }
              if (!result.found) continue
              found++
              expect({ key, version: versions.get(key)?.has(result.sha256 as string) }).toEqual({
                key,
                version: true,
              })
            }
          }
        },
      ),
      { numRuns: 15 },
    )
    // The property looked at real reads, not only misses.
    expect(gets).toBeGreaterThan(5)
    expect(found).toBeGreaterThan(0)
  })
})
