import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
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

const partialsIn = (dir: string) => listDir(dir).filter((name) => name.endsWith('-partial'))

describe('entries across invocations, freezes and resets of one environment', () => {
  it('keeps an entry through frozen warm invocations and serves it without fetching again', async () => {
    const environment = await startStoreEnvironment()
    const countFile = join(scratchDir('survive'), 'fetches')
    const first = await run(environment, { op: 'getOrFetch', key: 'models/v3.onnx', size: 70_000, countFile })
    expect(first).toMatchObject({ hit: false, size: 70_000 })
    expect(environment.isFrozen).toBe(true)
    await sleep(50)
    const second = await run(environment, {
      op: 'getOrFetch',
      key: 'models/v3.onnx',
      size: 70_000,
      countFile,
    })
    expect(second).toMatchObject({ hit: true, size: 70_000, path: first.path })
    expect(await run(environment, { op: 'get', key: 'models/v3.onnx' })).toEqual({
      found: true,
      intact: true,
      size: 70_000,
    })
    expect(environment.initCount).toBe(1)
    expect(countLines(countFile)).toBe(1)
  })

  it('after a SIGKILL mid-write, the next init leaves no partial file and serves no partial entry', async () => {
    const environment = await startStoreEnvironment({ timeoutMs: 10_000 })
    const storeDir = storeDirOf(environment.tmpDir)
    await run(environment, { op: 'put', key: 'kept', size: 1_000 })
    const slow = environment.invoke({
      op: 'getOrFetch',
      key: 'big',
      size: 400_000,
      chunks: 40,
      chunkDelayMs: 25,
    })
    // Wait until the download is visibly under way, then kill the process.
    await waitFor(() => (partialsIn(storeDir).length > 0 ? true : undefined), { what: 'the partial file' })
    expect(partialsIn(storeDir)).toHaveLength(1)
    await environment.crash()
    const outcome = await slow
    expect(outcome.ok).toBe(false)
    expect(partialsIn(storeDir)).toHaveLength(1) // the dead writer's leftover, until the next init

    const after = await run(environment, { op: 'has', key: 'big' })
    expect(environment.initCount).toBe(2)
    expect(after).toEqual({ has: false })
    expect(partialsIn(storeDir)).toEqual([])
    expect(listDir(storeDir).filter((name) => name.endsWith('.lock'))).toEqual([])
    expect(await run(environment, { op: 'get', key: 'kept' })).toEqual({
      found: true,
      intact: true,
      size: 1_000,
    })
    const refetched = await run(environment, { op: 'getOrFetch', key: 'big', size: 400_000 })
    expect(refetched).toMatchObject({ hit: false, size: 400_000 })
    expect(await run(environment, { op: 'get', key: 'big' })).toEqual({
      found: true,
      intact: true,
      size: 400_000,
    })
  })

  it("after Lambda's timeout mid-write (a reset), likewise", async () => {
    // Room for a loaded machine to start the download before Lambda's timeout (1.5 s), which comes
    // long before the download's end (50 chunks, 60 ms apart: 3 s).
    const environment = await startStoreEnvironment({
      timeoutMs: 1_500,
      env: { MIDDY_TIMEOUT_EARLY_MS: '0' },
    })
    const storeDir = storeDirOf(environment.tmpDir)
    const slow = { op: 'getOrFetch', key: 'slow', size: 100_000, chunks: 50, chunkDelayMs: 60 } as const
    const timedOut = await environment.invoke(slow)
    expect(timedOut.ok ? 'ok' : timedOut.error.name).toBe('Sandbox.Timedout')
    expect(partialsIn(storeDir)).toHaveLength(1)
    expect(await run(environment, { op: 'get', key: 'slow' })).toEqual({ found: false, intact: false })
    expect(environment.initCount).toBe(2)
    expect(partialsIn(storeDir)).toEqual([])
    expect(await run(environment, { op: 'getOrFetch', key: 'slow', size: 100_000 })).toMatchObject({
      hit: false,
    })
    expect(await run(environment, { op: 'get', key: 'slow' })).toEqual({
      found: true,
      intact: true,
      size: 100_000,
    })
  })

  it("after Middy's early timeout, the next invocation joins the download still in flight", async () => {
    // A wide margin: the simulator's timer and the handler's deadline start a few ms apart, and on a
    // loaded machine Middy's timer can fire late: it returns 1 s before Lambda's timeout. The handler
    // has 500 ms, the download takes about 600 ms, so the next invocation joins its last 100 ms.
    const environment = await startStoreEnvironment({
      timeoutMs: 1_500,
      env: { MIDDY_TIMEOUT_EARLY_MS: '1000' },
    })
    const countFile = join(scratchDir('early'), 'fetches')
    const slow = {
      op: 'getOrFetch',
      key: 'slow',
      size: 100_000,
      chunks: 15,
      chunkDelayMs: 40,
      countFile,
    } as const
    const timedOut = await environment.invoke(slow)
    expect(timedOut.ok ? 'ok' : timedOut.error.name).toBe('TimeoutError')
    // Same process (no reset): the download goes on when the environment thaws, and is shared.
    const joined = await run(environment, { ...slow, chunks: undefined })
    expect(joined).toMatchObject({ size: 100_000 })
    expect(environment.initCount).toBe(1)
    expect(countLines(countFile)).toBe(1)
    expect(await run(environment, { op: 'get', key: 'slow' })).toEqual({
      found: true,
      intact: true,
      size: 100_000,
    })
    expect(partialsIn(storeDirOf(environment.tmpDir))).toEqual([])
  })

  it('a failed fetch stores nothing and is not cached: the next call fetches again', async () => {
    const environment = await startStoreEnvironment()
    const countFile = join(scratchDir('fail'), 'fetches')
    const failed = await environment.invoke({
      op: 'getOrFetch',
      key: 'flaky',
      size: 10,
      countFile,
      failFetch: true,
    })
    expect(failed.ok ? 'ok' : failed.error.message).toBe('the download failed')
    expect(await run(environment, { op: 'has', key: 'flaky' })).toEqual({ has: false })
    expect(partialsIn(storeDirOf(environment.tmpDir))).toEqual([])
    expect(await run(environment, { op: 'getOrFetch', key: 'flaky', size: 10, countFile })).toMatchObject({
      hit: false,
      size: 10,
    })
    expect(countLines(countFile)).toBe(2)
  })
})
