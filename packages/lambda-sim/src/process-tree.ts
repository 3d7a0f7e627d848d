// An environment's processes: the runtime leads a process group of its own (spawned detached), so a
// freeze, a thaw or a kill reaches everything the handler started in it, as Lambda's freezer and
// teardown reach the whole sandbox. A child that left the group (setsid, detached) is still found by
// walking /proc from the runtime down, and killed with it. Linux only, as Lambda is.
import type { ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

interface KnownProcess {
  pid: number
  // /proc/<pid>/stat field 22: tells a process from a later one that reuses its pid.
  startTime: string
}

const startTimeOf = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

const childrenOfThread = (pid: number, thread: number | string): number[] => {
  try {
    const text = readFileSync(`/proc/${pid}/task/${thread}/children`, 'utf8').trim()
    return text ? text.split(' ').map(Number) : []
  } catch {
    // The process or the thread ended while we read.
    return []
  }
}

const childrenOf = (pid: number): number[] => {
  const children: number[] = []
  let threads: string[]
  try {
    threads = readdirSync(`/proc/${pid}/task`)
  } catch {
    return children
  }
  for (const thread of threads) children.push(...childrenOfThread(pid, thread))
  return children
}

// Every process under `pid` (not `pid` itself), depth first.
export const descendantsOf = (pid: number): number[] => {
  const found: number[] = []
  const pending = childrenOf(pid)
  while (pending.length > 0) {
    const next = pending.pop() as number
    found.push(next)
    pending.push(...childrenOf(next))
  }
  return found
}

// What a process holds of its own: anonymous and shared-memory pages (RssAnon + RssShmem), not the
// pages of files it maps. Lambda's limit is its sandbox's memory cgroup, which charges a file's pages
// once, to the page cache, not once per process mapping them; and the resident size of a mapped file
// depends on the kernel, not on the function: the same Node 24.21 binary's text counted 34 MB in one
// process and 55 MB in another on this machine, where khugepaged had put that copy of the binary in
// huge pages (FilePmdMapped in /proc/<pid>/smaps_rollup). Counted in full, a 128 MB function with one
// child process went over its limit on one checkout and not on another (runtime 74 + child 70 MB
// against 53 + 42). A file the function writes to /tmp is not counted either (/tmp here is a
// directory on the machine's disk).
const anonymousPattern = /^RssAnon:\s+(\d+) kB$/m
const sharedMemoryPattern = /^RssShmem:\s+(\d+) kB$/m
const residentBytesOf = (pid: number): number => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kilobytes = (pattern: RegExp) => Number(pattern.exec(status)?.[1] ?? 0)
    return (kilobytes(anonymousPattern) + kilobytes(sharedMemoryPattern)) * 1024
  } catch {
    return 0
  }
}

const signal = (pid: number, name: NodeJS.Signals): void => {
  try {
    process.kill(pid, name)
  } catch {
    // Gone already.
  }
}

export class ProcessTree {
  readonly child: ChildProcess
  readonly pid: number
  // Processes seen under the runtime, remembered so that they can be killed after the runtime died
  // (they are re-parented to init then, out of reach of a walk from the runtime).
  readonly #seen = new Map<number, KnownProcess>()

  constructor(child: ChildProcess) {
    this.child = child
    this.pid = child.pid as number
    trackedTrees.add(this)
    installExitHook()
    child.once('exit', () => {
      // What the handler started dies with the runtime, whichever way the runtime ended.
      this.killAll()
      trackedTrees.delete(this)
    })
  }

  #remember(pid: number): void {
    if (this.#seen.has(pid)) return
    const startTime = startTimeOf(pid)
    if (startTime) this.#seen.set(pid, { pid, startTime })
  }

  // The resident memory of the runtime and everything under it, in bytes. `walk` looks for new
  // processes under every thread of the runtime (about 150 µs for a Node runtime's ten threads); without
  // it, the runtime and the processes already known are counted (about 10 µs).
  residentBytes({ walk }: { walk: boolean }): number {
    let total = residentBytesOf(this.pid)
    if (walk) for (const pid of descendantsOf(this.pid)) this.#remember(pid)
    for (const pid of this.#seen.keys()) total += residentBytesOf(pid)
    return total
  }

  // The processes known under the runtime that still are the ones seen (not a later one with the pid).
  #known(): number[] {
    for (const known of this.#seen.values())
      if (startTimeOf(known.pid) !== known.startTime) this.#seen.delete(known.pid)
    return [...this.#seen.keys()]
  }

  // SIGSTOP to the group, and to every process known to be under the runtime (one that left the group
  // with setsid is still frozen). Node spawns from the main thread: its children file finds a new one
  // in one read; a worker thread's children are found by the periodic walk.
  freeze(): void {
    const direct = childrenOfThread(this.pid, this.pid)
    for (const pid of direct) {
      this.#remember(pid)
      for (const descendant of descendantsOf(pid)) this.#remember(descendant)
    }
    signal(-this.pid, 'SIGSTOP')
    if (this.#seen.size > 0) for (const pid of this.#known()) signal(pid, 'SIGSTOP')
  }

  thaw(): void {
    if (this.#seen.size > 0) for (const pid of this.#known()) signal(pid, 'SIGCONT')
    signal(-this.pid, 'SIGCONT')
  }

  #processesOutsideTheGroup(): number[] {
    for (const pid of descendantsOf(this.pid)) this.#remember(pid)
    return this.#known()
  }

  // SIGTERM to the runtime alone, as Lambda sends it at shutdown.
  terminate(): void {
    signal(this.pid, 'SIGTERM')
  }

  killAll(): void {
    const outside = this.#processesOutsideTheGroup()
    signal(-this.pid, 'SIGKILL')
    signal(this.pid, 'SIGKILL')
    for (const pid of outside) signal(pid, 'SIGKILL')
    this.#seen.clear()
  }
}

// Every environment's processes die when the simulator's process exits, frozen or not, so that none
// outlives a test run (a frozen one would otherwise wait for SIGCONT forever).
const trackedTrees = new Set<ProcessTree>()
let exitHookInstalled = false
// Installed with the first environment, not at import: importing the package changes nothing.
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const tree of trackedTrees) tree.killAll()
  })
}

/**
 * The environments whose processes are alive in this process (a test's check that none was left).
 * @example afterAll(() => expect(liveEnvironmentProcessCount()).toBe(0))
 */
export const liveEnvironmentProcessCount = (): number => trackedTrees.size
