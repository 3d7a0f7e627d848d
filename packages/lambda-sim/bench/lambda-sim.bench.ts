// The simulator's own cost: how long an environment takes to start (the process, the runtime, the
// handler's init) and answer its first invocation, and what one warm invocation costs end to end
// (invoke() to outcome, with the thaw before and the freeze after). The handler does nothing but
// count and log one line, so what is measured is the host, not the handler.
//   node --conditions=@thaw/source bench/lambda-sim.bench.ts [rounds] [warm invocations per round]
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { bundleHandler, startEnvironment } from '@thaw/lambda-sim'
import { nativeRuntimeClientIsBuilt } from '../src/runtime-client/location.ts'

// The home-made host this package ran before aws-lambda-ric (commit c9ad01b), when its sources are
// checked out beside this file (bench/old-host-src, not committed): both then run interleaved, so a
// busy machine weighs on both alike.
type Start = (options: {
  entry: string
  prebuilt: boolean
  freeze: boolean
  runtimeClient?: 'native'
}) => Promise<{
  invoke: (event: unknown) => Promise<{ ok: boolean; error?: { message: string } }>
  shutdown: () => Promise<unknown>
}>
const oldHostFile = fileURLToPath(new URL('./old-host-src/index.ts', import.meta.url))
const hosts: Array<[string, Start]> = [['aws-lambda-ric', startEnvironment as unknown as Start]]
if (existsSync(oldHostFile))
  hosts.push([
    'home-made (before)',
    ((await import(oldHostFile)) as { startEnvironment: Start }).startEnvironment,
  ])

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

type Variant = [string, { freeze: boolean; runtimeClient?: 'native' }, Start]
const variants: Variant[] = hosts.flatMap(([host, start]): Variant[] => [
  [`${host}, frozen between invocations`, { freeze: true }, start],
  [`${host}, not frozen`, { freeze: false }, start],
])
// Where aws-lambda-ric's native client is built (build:native-reference), the same runtime on it, beside
// the JavaScript client that lambda-sim runs by default.
if (nativeRuntimeClientIsBuilt())
  variants.push([
    'aws-lambda-ric, native client, frozen between invocations',
    { freeze: true, runtimeClient: 'native' },
    startEnvironment as unknown as Start,
  ])
const samples = new Map<string, Samples>(
  variants.map(([name]) => [name, { startMs: [], firstInvokeMs: [], warmInvokeMs: [], shutdownMs: [] }]),
)

// Interleaved: each round runs every variant once, so a busy moment of the machine lands on all.
for (let round = 0; round < rounds; round++) {
  for (const [name, options, start_] of variants) {
    const into = samples.get(name) as Samples
    let start = performance.now()
    const environment = await start_({ entry: bundle.file, prebuilt: true, ...options })
    into.startMs.push(performance.now() - start)
    start = performance.now()
    const first = await environment.invoke({ echo: 0 })
    into.firstInvokeMs.push(performance.now() - start)
    if (!first.ok) throw new Error(`first invocation failed: ${first.error?.message}`)
    for (let index = 0; index < warmPerRound; index++) {
      start = performance.now()
      const outcome = await environment.invoke({ echo: index })
      into.warmInvokeMs.push(performance.now() - start)
      if (!outcome.ok) throw new Error(`warm invocation failed: ${outcome.error?.message}`)
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
