import { readFile } from 'node:fs/promises'
import { fixturesOf, sleep, startedThings } from '@thaw/test-support'
import { type LambdaEnvironment, type LambdaSimOptions, startEnvironment } from '../src/index.ts'

export const fixture = fixturesOf(import.meta.url)
export { sleep }

// Environments started by a test file, shut down after it whatever happened.
const started = startedThings()

export const startTestEnvironment = async (
  name: string,
  options: Omit<LambdaSimOptions, 'entry'> = {},
): Promise<LambdaEnvironment> =>
  started.add(
    // Workspace packages (@thaw/util) resolve to their sources, as in jest: a fresh clone has no dist/.
    await startEnvironment({ entry: fixture(name), build: { conditions: ['@thaw/source'] }, ...options }),
  )

export const shutdownStartedEnvironments = () => started.stopAll()

export const processState = async (pid: number): Promise<string> => {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    return /^State:\s+(\S)/m.exec(status)?.[1] ?? '?'
  } catch {
    return 'gone'
  }
}

// The kernel delivers SIGSTOP asynchronously: on a loaded machine the state reads R for a moment
// after kill() returned; a killed process whose parent died with it stays a zombie (Z) until init
// reaps it, which took more than 2 s in a run beside a mutation run. Wait for the state expected (up
// to 10 s, which only a failing test spends), and return the one seen last.
export const settledProcessState = async (
  pid: number,
  expected: string,
  withinMs = 10_000,
): Promise<string> => {
  const deadline = Date.now() + withinMs
  let state = await processState(pid)
  while (state !== expected && Date.now() < deadline) {
    await sleep(5)
    state = await processState(pid)
  }
  return state
}
