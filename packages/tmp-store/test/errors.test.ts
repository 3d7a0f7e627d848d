// What the file system refuses reaches the caller as a TmpStoreError with a
// code, the key and the path (never a bare errno), the store stays usable for other keys, and every
// wait the store does ends by its deadline.
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { TmpStore, TmpStoreError } from '../src/index.ts'
import { canMountTmpfs, cleanUp, scratchDir, waitFor, withDeadline } from './helpers.ts'

afterAll(cleanUp)

const rejectionOf = async (promise: Promise<unknown>): Promise<TmpStoreError> => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(TmpStoreError)
  return error as TmpStoreError
}

// A read-only file system needs a mount of the test's own: that needs root. Where it is not allowed,
// jest reports the case as skipped rather than passing it without a check.
const canMount = canMountTmpfs()
const itWithMount = canMount ? it : it.skip

describe('file-system errors', () => {
  itWithMount(
    'a directory made read-only after the store opened: coded errors, reads still served',
    async () => {
      const mountPoint = scratchDir('readonly')
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'thaw-tmp-store-ro', mountPoint])
      try {
        const dir = join(mountPoint, 'store')
        mkdirSync(dir, { mode: 0o700 })
        const store = new TmpStore({ dir, maxBytes: 1024 * 1024 })
        await store.put('kept', 'kept bytes')
        execFileSync('mount', ['-o', 'remount,ro', mountPoint])
        for (const [operation, call] of [
          ['put', () => store.put('new', 'new bytes')],
          ['getOrFetch', () => store.getOrFetch('new', () => 'new bytes')],
          ['delete', () => store.delete('kept')],
        ] as Array<[string, () => Promise<unknown>]>) {
          const error = await rejectionOf(withDeadline(call(), 10_000, operation))
          expect({ operation, code: error.code, key: error.key }).toEqual({
            operation,
            code: 'THAW_TMP_STORE_FILE_SYSTEM',
            key: operation === 'delete' ? 'kept' : 'new',
          })
          expect(error.path?.startsWith(`${store.dir}/`)).toBe(true)
          expect(error.message).toMatch(/^@thaw\/tmp-store: could not .* for key "(new|kept)" \(.*\): EROFS$/)
          expect((error.cause as NodeJS.ErrnoException).code).toBe('EROFS')
        }
        // Reads need nothing written: still served.
        expect((await store.get('kept'))?.toString()).toBe('kept bytes')
        expect(await store.has('kept')).toBe(true)
        execFileSync('mount', ['-o', 'remount,rw', mountPoint])
        // Nothing was left locked or half-counted: the same keys work again.
        expect(await store.put('new', 'new bytes')).toMatchObject({ size: 9 })
        expect(await store.delete('kept')).toBe(true)
        expect((await store.get('new'))?.toString()).toBe('new bytes')
      } finally {
        execFileSync('umount', [mountPoint])
      }
    },
  )

  it('waiting for a lock ends at lockWaitMs with THAW_TMP_STORE_LOCK_TIMEOUT, and the key works after', async () => {
    const dir = scratchDir('lock-wait')
    const holder = new TmpStore({ dir })
    const waiter = new TmpStore({ dir, lockWaitMs: 300 })
    let finishFetch: ((value: string) => void) | undefined
    const fetching = holder.getOrFetch('k', () => new Promise<string>((resolve) => (finishFetch = resolve)))
    // The holder has the key's lock once its fetch has started.
    const finish = await waitFor(() => finishFetch, { what: 'the fetch to start' })
    const started = Date.now()
    const error = await rejectionOf(withDeadline(waiter.put('k', 'other'), 10_000, 'the waiting put'))
    expect(error).toMatchObject({ code: 'THAW_TMP_STORE_LOCK_TIMEOUT', key: 'k' })
    expect(error.message).toMatch(/lockWaitMs \(300 ms\)/)
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    finish('fetched')
    expect(await fetching).toMatchObject({ hit: false, size: 7 })
    expect(await waiter.put('k', 'other')).toMatchObject({ size: 5 })
    expect((await holder.get('k'))?.toString()).toBe('other')
  })

  it('a bad ttlMs is refused naming the option', async () => {
    const store = new TmpStore({ dir: scratchDir('ttl') })
    await expect(store.put('k', 'v', { ttlMs: -1 })).rejects.toThrow(/option 'ttlMs' must be an integer/)
    await expect(store.getOrFetch('k', () => 'v', { ttlMs: Number.NaN })).rejects.toThrow(TypeError)
    expect(await store.has('k')).toBe(false)
  })
})
