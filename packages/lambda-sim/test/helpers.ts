import { fileURLToPath } from 'node:url'
import { type EnvironmentOptions, type LambdaEnvironment, startEnvironment } from '../src/index.ts'

export const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url))

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Environments started by a test file, shut down after it whatever happened.
const startedEnvironments: LambdaEnvironment[] = []

export const startTestEnvironment = async (
  name: string,
  options: Omit<EnvironmentOptions, 'entry'> = {},
): Promise<LambdaEnvironment> => {
  const environment = await startEnvironment({ entry: fixture(name), ...options })
  startedEnvironments.push(environment)
  return environment
}

export const shutdownStartedEnvironments = async () => {
  await Promise.all(startedEnvironments.splice(0).map((environment) => environment.shutdown()))
}

const readProcessState = async (pid: number): Promise<string> => {
  const { readFile } = await import('node:fs/promises')
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return /^State:\s+(\S)/m.exec(status)?.[1] ?? '?'
}

// The kernel delivers SIGSTOP asynchronously: on a loaded machine the state reads R for a moment
// after kill() returned. Wait (briefly) for the state expected, and return the one seen last.
export const settledProcessState = async (
  pid: number,
  expected: string,
  withinMs = 1_000,
): Promise<string> => {
  const deadline = Date.now() + withinMs
  let state = await readProcessState(pid)
  while (state !== expected && Date.now() < deadline) {
    await sleep(5)
    state = await readProcessState(pid)
  }
  return state
}
