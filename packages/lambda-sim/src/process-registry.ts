// Every environment's process is killed when the simulator's process exits, frozen or not, so that
// no process outlives a test run (a frozen process would otherwise wait for SIGCONT forever).
import type { ChildProcess } from 'node:child_process'

const liveChildProcesses = new Set<ChildProcess>()
let exitHookInstalled = false

const killAllChildProcesses = () => {
  for (const child of liveChildProcesses) child.kill('SIGKILL')
}

export const trackChildProcess = (child: ChildProcess): void => {
  liveChildProcesses.add(child)
  child.once('exit', () => liveChildProcesses.delete(child))
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', killAllChildProcesses)
  }
}

export const liveEnvironmentProcessCount = (): number => liveChildProcesses.size
