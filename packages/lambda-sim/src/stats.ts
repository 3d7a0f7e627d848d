import { environmentCounts } from './counts.ts'
import { liveEnvironmentProcessCount } from './process-tree.ts'

export interface LambdaSimStats {
  // Init phases run (one per environment, plus one per reset).
  inits: number
  // Invocations that ended with an outcome, whatever it was.
  invocations: number
  // Of those: Sandbox.Timedout, Runtime.OutOfMemory, Runtime.ExitError.
  timeouts: number
  outOfMemory: number
  runtimeExits: number
  // Events invoke() refused before dispatch (not JSON, over 6 MB).
  eventsRefused: number
  // Log lines past maxLogBytesPerInvocation, counted and not kept.
  logLinesDropped: number
  // Runtime processes alive now.
  liveProcesses: number
}

/**
 * A copy of this process's counters.
 * @example const { liveProcesses } = lambdaSimStats()
 */
export const lambdaSimStats = (): LambdaSimStats => ({
  ...environmentCounts(),
  liveProcesses: liveEnvironmentProcessCount(),
})
