// What the file-system tests share: real failures on a file system of the test's own. A tmpfs left
// with exactly so many free pages (ENOSPC at a chosen step) or inodes, a file bind-mounted over one of
// the store's names (it can then be neither removed nor renamed over: EBUSY), an ext4 image whose
// backing file cannot grow (a failing fsync), a file size limit of 0 (EFBIG, in a child process of
// its own: fixtures/lock-write-fails.ts). Mounting needs root: where it is not permitted, jest reports
// these as skipped rather than passing them unchecked. Checked on Linux 6.18 with Node 24.21.
import { execFileSync, spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { expect, it } from '@jest/globals'
import { fixturesOf } from '@thaw/test-support'
import { canMountTmpfs, scratchDir, withDeadline } from './helpers.ts'

export const fixture = fixturesOf(import.meta.url)

/** Names a writer or a lock holder leaves only while it works (or when it failed to clean up). */
export const leftoversIn = (dir: string): string[] =>
  readdirSync(dir).filter((name) => /partial|lock/.test(name))

export const commandExists = (command: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export const canMount = canMountTmpfs()
export const itWithMount = canMount ? it : it.skip
export const itWithLoopDevice =
  canMount && existsSync('/dev/loop-control') && commandExists('mkfs.ext4') ? it : it.skip
export const itWithPrlimit = commandExists('prlimit') ? it : it.skip

/** A tmpfs of the test's own, with mount `options` (size, nr_inodes). */
export const mountTmpfs = (label: string, options: string) => {
  const path = scratchDir(label)
  execFileSync('mount', ['-t', 'tmpfs', '-o', `${options},mode=0700`, `thaw-tmp-store-${label}`, path])
  return { path, unmount: () => execFileSync('umount', [path]) }
}

/** A store directory on a tmpfs of the test's own (`options`: size, nr_inodes). */
export const mountStoreDir = (label: string, options: string) => {
  const mounted = mountTmpfs(label, options)
  const dir = join(mounted.path, 'store')
  mkdirSync(dir, { mode: 0o700 })
  return { ...mounted, dir }
}

// A scratch directory for a bind mount, named with this process's id: a test process killed in a
// hang (a mutation run's timeout) never runs its finally, and the next run unmounts what it left.
export const boundDir = (label: string): string => scratchDir(`bound-${process.pid}-${label}`)

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Unmounts what a test process killed in a hang left bound (run before a file's tests). */
export const unmountLeftoverBinds = (): void => {
  if (!canMount) return
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[4] ?? ''
    const pid = /\/thaw-tmp-store-bound-(\d+)-/.exec(mountPoint)?.[1]
    if (pid !== undefined && !isAlive(Number(pid))) execFileSync('umount', ['-l', mountPoint])
  }
}

/** Binds `source` over the existing file `target`: the name is then busy, neither removed nor renamed over. */
export const bindOver = (source: string, target: string): (() => void) => {
  execFileSync('mount', ['--bind', source, target])
  // Lazy: a descriptor a broken store left open on it does not keep the mount (or the test) alive.
  return () => execFileSync('umount', ['-l', target])
}

let fillers = 0
/** Fills the file system at `mountPoint`, with a file outside the store, until `pages` pages are free. */
export const leaveFree = (mountPoint: string, pages: number): string => {
  const { bavail, bsize } = statfsSync(mountPoint)
  const filler = join(mountPoint, `filler-${++fillers}`)
  writeFileSync(filler, Buffer.alloc((bavail - pages) * bsize))
  expect(statfsSync(mountPoint).bavail).toBe(pages)
  return filler
}

// A sysfs attribute reports 4096 bytes and reads as a few: a data file that reads shorter than its
// stat said, as one truncated between the check and the read does.
export const shortFile = [
  '/sys/devices/system/cpu/online',
  '/sys/kernel/mm/transparent_hugepage/enabled',
].find((file) => {
  try {
    return statSync(file).size === 4096 && readFileSync(file).length < 4096
  } catch {
    return false
  }
})

/** Runs a fixture in a child process of its own (`node --conditions=@thaw/source <fixture> <dir>`) and
 * returns the JSON line it printed; the child must exit 0 within 30 s. */
export const runFixture = async (name: string, dir: string) => {
  const child = spawn(process.execPath, ['--conditions=@thaw/source', fixture(name), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let stdout = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  const exitCode = await withDeadline(
    new Promise<number | null>((resolve) => child.on('close', resolve)),
    30_000,
    `the child ${name}`,
  )
  expect({ exitCode, stdout }).toEqual({ exitCode: 0, stdout: expect.stringMatching(/^\{.*\}\n$/) })
  // biome-ignore lint/suspicious/noExplicitAny: the fixture's report, checked field by field by the test
  return JSON.parse(stdout) as Record<string, any>
}
