// The simulator's own cost: how long an environment takes to start (the process, the runtime, the
// handler's init) and answer its first invocation, and what one warm invocation costs end to end
// (invoke() to outcome, with the thaw before and the freeze after). The handler does nothing but
// count and log one line, so what is measured is the host, not the handler.
//   node --conditions=@thaw/source bench/lambda-sim.bench.ts [rounds] [warm invocations per round]
import { fileURLToPath } from 'node:url'
import { bundleHandler, startEnvironment } from '@thaw/lambda-sim'

const rounds = Number(process.argv[2] ?? 6)
const warmPerRound = Number(process.argv[3] ?? 200)
const entry = fileURLToPath(new URL('../test/fixtures/counter.ts', import.meta.url))
// Built once, outside the measurement: a deployment runs a bundle, it does not build one.
const bundle = await bundleHandler(entry)

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN
}

interface Samples {
  startMs: number[]
  firstInvokeMs: number[]
  warmInvokeMs: number[]
  shutdownMs: number[]
}

const variants: Array<[string, { freeze: boolean }]> = [
  ['classic, frozen between invocations', { freeze: true }],
  ['classic, not frozen', { freeze: false }],
]
const samples = new Map<string, Samples>(
  variants.map(([name]) => [name, { startMs: [], firstInvokeMs: [], warmInvokeMs: [], shutdownMs: [] }]),
)

// Interleaved: each round runs every variant once, so a busy moment of the machine lands on all.
for (let round = 0; round < rounds; round++) {
  for (const [name, options] of variants) {
    const into = samples.get(name) as Samples
    let start = performance.now()
    const environment = await startEnvironment({ entry: bundle.file, prebuilt: true, ...options })
    into.startMs.push(performance.now() - start)
    start = performance.now()
    const first = await environment.invoke({ echo: 0 })
    into.firstInvokeMs.push(performance.now() - start)
    if (!first.ok) throw new Error(`first invocation failed: ${first.error.message}`)
    for (let index = 0; index < warmPerRound; index++) {
      start = performance.now()
      const outcome = await environment.invoke({ echo: index })
      into.warmInvokeMs.push(performance.now() - start)
      if (!outcome.ok) throw new Error(`warm invocation failed: ${outcome.error.message}`)
    }
    start = performance.now()
    await environment.shutdown()
    into.shutdownMs.push(performance.now() - start)
  }
}

const format = (ms: number) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`
console.log(
  `lambda-sim host cost (${rounds} environments per variant, ${warmPerRound} warm invocations each)`,
)
console.log('')
console.log('| variant | start (init) | first invocation | warm invoke median | warm p99 | shutdown |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
for (const [name, into] of samples)
  console.log(
    `| ${name} | ${format(median(into.startMs))} | ${format(median(into.firstInvokeMs))} | ${format(median(into.warmInvokeMs))} | ${format(percentile(into.warmInvokeMs, 0.99))} | ${format(median(into.shutdownMs))} |`,
  )
