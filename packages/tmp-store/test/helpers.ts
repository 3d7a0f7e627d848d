import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
// What tmp-store's tests share beyond @thaw/test-support: scratch directories, the store handler's
// environments, and looks at the store's directory.
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from '@jest/globals'
import { type EnvironmentOptions, type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import { fixturesOf, startedThings } from '@thaw/test-support'
import { TmpStoreError } from '../src/index.ts'
import type { StoreEvent } from './fixtures/store-handler.ts'

export { sleep, waitFor, withDeadline } from '@thaw/test-support'

const fixture = fixturesOf(import.meta.url)
const storeHandler = fixture('store-handler')

const started = startedThings()
const scratchDirs: string[] = []

/** A directory of this test's own, removed after the file's tests. */
export const scratchDir = (label: string): string => {
  const dir = mkdtempSync(join(tmpdir(), `thaw-tmp-store-${label}-`))
  scratchDirs.push(dir)
  return dir
}

/** An execution environment running the store handler, shut down after the file's tests. */
export const startStoreEnvironment = async (
  options: Omit<EnvironmentOptions, 'entry'> & { maxBytes?: number } = {},
): Promise<LambdaEnvironment> => {
  const { maxBytes, env, ...rest } = options
  return started.add(
    await startEnvironment({
      entry: storeHandler,
      // Workspace packages (@thaw/util) resolve to their sources, as in jest: a fresh clone has no dist/.
      build: { conditions: ['@thaw/source'] },
      ...rest,
      env: { ...env, ...(maxBytes === undefined ? {} : { TMP_STORE_MAX_BYTES: String(maxBytes) }) },
    }),
  )
}

export const cleanUp = async (): Promise<void> => {
  try {
    await started.stopAll()
  } finally {
    for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  }
}

/** Invokes the store handler; an invocation that fails fails the test with Lambda's error. */
export const run = async <Result = Record<string, unknown>>(
  environment: LambdaEnvironment,
  event: StoreEvent,
): Promise<Result> => {
  const outcome = await environment.invoke<Result>(event)
  if (!outcome.ok) throw new Error(`${event.op} failed: ${outcome.error.name}: ${outcome.error.message}`)
  return outcome.result
}

/** The store's directory inside an environment's /tmp (the default `dir`). */
export const storeDirOf = (tmpDir: string): string => join(tmpDir, 'thaw-tmp-store')

export const listDir = (dir: string): string[] => readdirSync(dir)

/** The bytes of the complete entries' data files, as the file system reports them. */
export const dataBytesIn = (dir: string): number =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.data'))
    .reduce((sum, name) => {
      try {
        return sum + statSync(join(dir, name)).size
      } catch {
        return sum
      }
    }, 0)

export const countLines = (file: string): number => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length
  } catch {
    return 0
  }
}

/** Whether this process may mount a tmpfs of its own (root): the ENOSPC and read-only cases need one.
 * Where it may not, those tests are reported as skipped rather than passing without a check. */
export const canMountTmpfs = (): boolean => {
  const probe = scratchDir('mount-probe')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'thaw-tmp-store-probe', probe], {
      stdio: 'ignore',
    })
    execFileSync('umount', [probe])
    return true
  } catch {
    return false
  }
}

/** The hex SHA-256 of a key's UTF-8 bytes: the name of its files. */
export const hashOf = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex')

/** A key's data, metadata or lock file. */
export const entryFile = (dir: string, key: string, kind: 'data' | 'meta' | 'lock'): string =>
  join(dir, `${hashOf(key)}.${kind}`)

/** The keys (of `keys`) whose data file is in the directory. */
export const keysOnDisk = (dir: string, keys: readonly string[]): string[] =>
  keys.filter((key) => existsSync(entryFile(dir, key, 'data')))

/** The ledger's text, or undefined when there is none. */
export const ledgerOf = (dir: string): string | undefined => {
  try {
    return readFileSync(join(dir, '.budget'), 'utf8')
  } catch {
    return undefined
  }
}

/** Files under `dir` this process holds open (a leaked descriptor keeps even a removed file's space). */
export const openFilesUnder = (dir: string): string[] =>
  readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      return target.startsWith(`${dir}/`) ? [target] : []
    } catch {
      return [] // the descriptor readdir itself used, closed by now
    }
  })

/** Sets a data file's mtime: the last use the next scan reads, as another process's use records it. */
export const setLastUse = (dir: string, key: string, ms: number): void => {
  const time = new Date(ms)
  utimesSync(entryFile(dir, key, 'data'), time, time)
}

/** The largest pid_t: no process ever has it (Linux's pid_max is at most 2^22). */
export const deadPid = 2 ** 31 - 1

/** What `promise` rejected with, which must be a TmpStoreError. */
export const rejectionOf = async (promise: Promise<unknown>): Promise<TmpStoreError> => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(TmpStoreError)
  return error as TmpStoreError
}
