// The CPU time a process has used, every thread of it (Linux schedstat's first field: nanoseconds on a
// CPU): what the benchmarks measure a lambda-sim environment's runtime by. Wall time on a loaded 2-core
// machine swings by tens of percent from run to run; CPU time is what the code itself costs. Read
// while the process is stopped, the figure is exact: a thread's runtime is brought up to date when it
// is descheduled (checked on Linux 6.18).
import { readdirSync, readFileSync } from 'node:fs'

const threadsOf = (pid: number) => readdirSync(`/proc/${pid}/task`)

export const processCpuMs = (pid: number): number => {
  let ns = 0
  for (const task of threadsOf(pid)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return ns / 1e6
}

// A thread's state is the field after the command name, which may hold spaces and parentheses.
const stateOf = (pid: number, task: string): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return undefined
  }
}

// lambda-sim's invoke() resolves once SIGSTOP is sent (lambda-sim 0.1.0: the freeze comes before the
// outcome), and a thread running on the other core stops a moment later. Resolves when every thread is stopped ('T'), rejects after deadlineMs.
export const waitUntilStopped = async (pid: number, deadlineMs: number): Promise<void> => {
  const deadline = performance.now() + deadlineMs
  while (!threadsOf(pid).every((task) => ['T', 't', undefined].includes(stateOf(pid, task)))) {
    if (performance.now() > deadline) throw new Error(`process ${pid} not stopped after ${deadlineMs} ms`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}
