import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { TmpStore } from '../src/index.ts'
import {
  cleanUp,
  countLines,
  listDir,
  run,
  scratchDir,
  sleep,
  startStoreEnvironment,
  storeDirOf,
  waitFor,
} from './helpers.ts'

afterAll(cleanUp)

// A slow download (about 300 ms), so that every caller arrives while the first one is fetching.
const slowFetch = {
  op: 'getOrFetch',
  key: 'shared/model.bin',
  size: 300_000,
  chunks: 15,
  chunkDelayMs: 20,
} as const

// Two execution environments (two processes) whose /tmp is the same directory.
const twoEnvironmentsSharingTmp = async (label: string) => {
  const tmpDir = scratchDir(label)
  const [one, two] = await Promise.all([1, 2].map(() => startStoreEnvironment({ tmpDir, timeoutMs: 10_000 })))
  if (!one || !two) throw new Error('two environments expected')
  return { tmpDir, one, two }
}

describe('getOrFetch of one key fetches once', () => {
  it('across the worker threads of a Managed Instance (workers: 3, concurrency: 4)', async () => {
    const environment = await startStoreEnvironment({ workers: 3, concurrency: 4, timeoutMs: 10_000 })
    const countFile = join(scratchDir('threads'), 'fetches')
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, () => run(environment, { ...slowFetch, countFile })),
    )
    expect(new Set(outcomes.map((outcome) => outcome.threadId)).size).toBe(3)
    expect(countLines(countFile)).toBe(1)
    expect(outcomes.every((outcome) => outcome.size === 300_000)).toBe(true)
    expect(outcomes.filter((outcome) => outcome.hit === false).length).toBeGreaterThanOrEqual(1)
    expect(await run(environment, { op: 'get', key: slowFetch.key })).toEqual({
      found: true,
      intact: true,
      size: 300_000,
    })
    expect(
      listDir(storeDirOf(environment.tmpDir)).filter(
        (name) => !/\.(data|meta)$/.test(name) && name !== '.budget',
      ),
    ).toEqual([])
  })

  it('across two execution environments (processes) sharing one directory', async () => {
    const { tmpDir, one, two } = await twoEnvironmentsSharingTmp('processes')
    const countFile = join(tmpDir, 'fetches')
    const outcomes = await Promise.all(
      [one, two].map((environment) => run(environment, { ...slowFetch, countFile })),
    )
    expect(new Set(outcomes.map((outcome) => outcome.pid)).size).toBe(2)
    expect(countLines(countFile)).toBe(1)
    expect(outcomes.map((outcome) => outcome.hit).sort()).toEqual([false, true])
    expect(await run(two, { op: 'get', key: slowFetch.key })).toEqual({
      found: true,
      intact: true,
      size: 300_000,
    })
  })

  it('after the fetching process is killed, the other takes the lock over and fetches', async () => {
    const { tmpDir, one, two } = await twoEnvironmentsSharingTmp('takeover')
    const countFile = join(tmpDir, 'fetches')
    const killed = one.invoke({ ...slowFetch, countFile })
    await waitFor(() => (countLines(countFile) > 0 ? true : undefined), { what: 'the first fetch' })
    const waiting = run(two, { ...slowFetch, countFile })
    await one.crash()
    expect((await killed).ok).toBe(false)
    // The dead owner's lock is taken over at once (its pid is gone), not after lockStaleMs (10 s).
    expect(await waiting).toMatchObject({ hit: false, size: 300_000 })
    expect(countLines(countFile)).toBe(2)
  })
})

describe('getOrFetch within one thread', () => {
  it('shares one fetch among concurrent callers in a thread: every caller gets its result, none waits on the lock', async () => {
    // Without the in-thread single flight the file lock still fetches once, but the later callers
    // wait for the lock and then find the entry (hit: true).
    const store = new TmpStore({ dir: scratchDir('single-flight') })
    let fetches = 0
    const entries = await Promise.all(
      Array.from({ length: 5 }, () =>
        store.getOrFetch('k', async () => {
          fetches++
          await sleep(20)
          return 'value'
        }),
      ),
    )
    expect(fetches).toBe(1)
    expect(entries.map((entry) => entry.hit)).toEqual([false, false, false, false, false])
  })
})
