// `pnpm demo`: one execution environment in @thaw/lambda-sim, shown keeping its module state across
// invocations and freezes, then reset by a timeout, then a second environment that shares nothing.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEnvironment } from '../packages/lambda-sim/src/index.ts'

const handlerDirectory = mkdtempSync(join(tmpdir(), 'thaw-demo-'))
const entry = join(handlerDirectory, 'handler.ts')
writeFileSync(
  entry,
  `let invocations = 0
let ticksWhileRunning = 0
setInterval(() => { ticksWhileRunning++ }, 10)
const initializedAt = new Date().toISOString()
export const handler = async (event: { sleepMs?: number }) => {
  invocations++
  if (event.sleepMs) await new Promise((resolve) => setTimeout(resolve, event.sleepMs))
  return { invocations, ticksWhileRunning, initializedAt, pid: process.pid }
}
`,
)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const show = (label: string, outcome: Awaited<ReturnType<typeof environment.invoke>>) => {
  const detail = outcome.ok
    ? JSON.stringify(outcome.result)
    : `${outcome.error.name}: ${outcome.error.message}`
  const start = outcome.coldStart ? `cold (init ${outcome.initDurationMs?.toFixed(1)} ms)` : 'warm'
  console.log(
    `${label.padEnd(34)} ${start.padEnd(20)} ${outcome.durationMs.toFixed(2).padStart(7)} ms  ${detail}`,
  )
}

const environment = await startEnvironment({ entry, timeoutMs: 500, functionName: 'demo' })
console.log(
  `environment started: pid ${environment.pid}, init ${environment.lastInitDurationMs?.toFixed(1)} ms, frozen: ${environment.isFrozen}`,
)
show('first invocation', await environment.invoke({}))
show('second invocation', await environment.invoke({}))
await sleep(500)
show('after 500 ms frozen (ticks stood)', await environment.invoke({}))
show('an invocation past the timeout', await environment.invoke({ sleepMs: 2_000 }))
show('after the reset (inits afresh)', await environment.invoke({}))
const other = await startEnvironment({ entry, functionName: 'demo' })
show('another environment', await other.invoke({}))
await Promise.all([environment.shutdown(), other.shutdown()])
console.log('both environments shut down')
