import { execFileSync } from 'node:child_process'
// What tmp-store's tests share beyond @thaw/test-support: scratch directories, the store handler's
// environments, and looks at the store's directory.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type EnvironmentOptions, type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import { fixturesOf, startedThings } from '@thaw/test-support'
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
