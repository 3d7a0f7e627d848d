// What this process's environments did, for lambdaSimStats(): counted by the environment as each
// invocation ends, read by stats.ts.
const counts = {
  inits: 0,
  invocations: 0,
  timeouts: 0,
  outOfMemory: 0,
  runtimeExits: 0,
  eventsRefused: 0,
  logLinesDropped: 0,
}

export type EnvironmentCounts = typeof counts

export const count = (name: keyof EnvironmentCounts, by = 1): void => {
  counts[name] += by
}

export const environmentCounts = (): Readonly<EnvironmentCounts> => ({ ...counts })

// The failures that have a counter of their own, by Lambda's error type.
export const countedErrors: Readonly<Record<string, 'timeouts' | 'outOfMemory' | 'runtimeExits'>> = {
  'Sandbox.Timedout': 'timeouts',
  'Runtime.OutOfMemory': 'outOfMemory',
  'Runtime.ExitError': 'runtimeExits',
}
