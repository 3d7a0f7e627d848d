// What the demo counts for each pattern (demo/report.ts prints it).
import type { InvocationResult } from '../../packages/lambda-sim/src/index.ts'

export interface PatternTally {
  pattern: string
  coldMs: number[]
  warmMs: number[]
  invocations: number
  failed: number
  firstFailure?: string
}

export const newTally = (pattern: string): PatternTally => ({
  pattern,
  coldMs: [],
  warmMs: [],
  invocations: 0,
  failed: 0,
})

// An invocation fails when the handler threw, or answered an HTTP error (the workload asks only for orders that exist).
export const record = (tally: PatternTally, outcome: InvocationResult): boolean => {
  tally.invocations++
  const statusCode = outcome.ok ? (outcome.result as { statusCode?: number } | null)?.statusCode : undefined
  const failed = !outcome.ok || (statusCode !== undefined && statusCode >= 400)
  if (failed) {
    tally.failed++
    tally.firstFailure ??= outcome.ok
      ? `HTTP ${statusCode}`
      : `${outcome.error.name}: ${outcome.error.message}`
  }
  // Latency of the invocations that answered: a failure is often fast, and would flatter a pattern.
  if (failed) return false
  if (outcome.coldStart) tally.coldMs.push(outcome.durationMs + (outcome.initDurationMs ?? 0))
  else tally.warmMs.push(outcome.durationMs)
  return true
}

export const percentile = (values: number[], fraction: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number
}

const milliseconds = (value: number) =>
  Number.isNaN(value) ? '-' : `${value.toFixed(value < 10 ? 2 : 1)} ms`

// The cold start's median, and the warm median and 99th percentile in one cell ("2.94 / 20.0 ms").
export const latencyCells = (tally: PatternTally) => {
  const p50 = milliseconds(percentile(tally.warmMs, 0.5))
  const p99 = milliseconds(percentile(tally.warmMs, 0.99))
  return [
    milliseconds(percentile(tally.coldMs, 0.5)),
    p50 === '-' ? '-' : `${p50.replace(' ms', '')} / ${p99}`,
  ]
}

// A progress bar on a terminal; one line per step elsewhere (CI logs, pipes).
export const createProgress = (totalSteps: number) => {
  let done = 0
  const interactive = process.stderr.isTTY
  return {
    step(label: string) {
      done++
      if (!interactive) return void process.stderr.write(`[${done}/${totalSteps}] ${label}\n`)
      const width = 30
      const filled = Math.round((done / totalSteps) * width)
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${label.padEnd(60).slice(0, 60)}`,
      )
      if (done === totalSteps) process.stderr.write('\n')
    },
  }
}
