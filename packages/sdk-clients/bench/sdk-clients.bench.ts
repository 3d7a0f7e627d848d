// Per-invocation cost of @thaw/sdk-clients against Middy with no middleware, a hand-written
// module-scope client, and a client constructed in the handler; then the same with one real
// GetSecretValue to the local peer. Variants run interleaved in one process, in rounds, and the
// median round is reported. Run: pnpm --filter @thaw/sdk-clients bench (it passes --expose-gc)
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import middy from '@middy/core'
import { startSecretsManagerPeer } from '@thaw/test-support'
import type { Context } from 'aws-lambda'
import sdkClients from '../src/index.ts'

const peer = await startSecretsManagerPeer({ secrets: { 'sdk-clients/bench': 'bench value' } })
const config = {
  region: 'us-east-1',
  endpoint: peer.endpoint,
  credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
  maxAttempts: 1,
}
const context = {
  functionName: 'bench',
  awsRequestId: 'bench',
  // Middy arms (and clears) its early-timeout timer on every invocation, as it does in Lambda.
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context
const command = () => new GetSecretValueCommand({ SecretId: 'sdk-clients/bench' })

type Invoke = () => Promise<unknown>

// Overhead only: each handler touches the client and returns.
const moduleClient = new SecretsManagerClient(config)
const noMiddleware = middy().handler(async () => moduleClient.config.maxAttempts)
const emptyBefore = middy()
  .use({ before: () => undefined })
  .handler(async () => moduleClient.config.maxAttempts)
// What a careful user writes by hand: a module-scope client put on the context.
const handWrittenClients = { secrets: moduleClient }
const handWrittenMiddleware = middy()
  .use({
    before: (request: { context: Context & { clients?: typeof handWrittenClients } }) => {
      request.context.clients = handWrittenClients
    },
  })
  .handler(async (_event: unknown, ctx) => ctx.clients?.secrets.config.maxAttempts)
const thaw = middy()
  .use(sdkClients({ clients: { secrets: SecretsManagerClient }, config }))
  .handler(async (_event: unknown, ctx) => ctx.clients.secrets.config.maxAttempts)
const perInvocation = middy().handler(async () => new SecretsManagerClient(config).config.maxAttempts)

// With one request each.
const thawRequest = middy()
  .use(sdkClients({ clients: { secrets: SecretsManagerClient }, config }))
  .handler(async (_event: unknown, ctx) => (await ctx.clients.secrets.send(command())).SecretString)
const handWrittenRequest = middy().handler(async () => (await moduleClient.send(command())).SecretString)
const perInvocationRequest = middy().handler(async () => {
  const client = new SecretsManagerClient(config)
  try {
    return (await client.send(command())).SecretString
  } finally {
    client.destroy()
  }
})

const measure = async (invoke: Invoke, iterations: number): Promise<number> => {
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) await invoke()
  return Number(process.hrtime.bigint() - start) / 1_000 / iterations
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

// Each variant runs `iterations` invocations per round (slow variants fewer); the order of the
// variants is shuffled every round and the heap collected between runs, so that no variant keeps
// paying for the garbage of the one before it.
type Variant = [invoke: Invoke, iterations: number]
const collect = (globalThis as { gc?: () => void }).gc ?? (() => undefined)

const run = async (title: string, variants: Record<string, Variant>, baseline: string, rounds: number) => {
  const names = Object.keys(variants)
  const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]))
  for (const [invoke, iterations] of Object.values(variants)) await measure(invoke, iterations)
  for (let round = 0; round < rounds; round++) {
    const order = [...names].sort(() => Math.random() - 0.5)
    for (const name of order) {
      const [invoke, iterations] = variants[name] as Variant
      collect()
      samples[name]?.push(await measure(invoke, iterations))
    }
  }
  const base = median(samples[baseline] ?? [])
  console.log(`\n${title} (median of ${rounds} interleaved rounds)`)
  console.log('| variant | µs per invocation | ratio |')
  console.log('| --- | ---: | ---: |')
  for (const name of names) {
    const value = median(samples[name] ?? [])
    console.log(`| ${name} | ${value.toFixed(2)} | ${(value / base).toFixed(2)}x |`)
  }
}

const invoke = (handler: (event: unknown, context: Context) => Promise<unknown>) => () => handler({}, context)

await run(
  'Overhead per warm invocation, no request',
  {
    'Middy, no middleware (module-scope client)': [invoke(noMiddleware), 50_000],
    'Middy + an empty before middleware': [invoke(emptyBefore), 50_000],
    'Middy + hand-written middleware (context.clients = module-scope clients)': [
      invoke(handWrittenMiddleware as never),
      50_000,
    ],
    'Middy + @thaw/sdk-clients': [invoke(thaw as never), 50_000],
    'Middy, new client in the handler': [invoke(perInvocation), 500],
  },
  'Middy, no middleware (module-scope client)',
  21,
)
await run(
  'One GetSecretValue to the local peer per invocation',
  {
    'Middy, module-scope client (hand-written)': [invoke(handWrittenRequest), 300],
    'Middy + @thaw/sdk-clients': [invoke(thawRequest as never), 300],
    'Middy, new client in the handler (destroyed after)': [invoke(perInvocationRequest), 100],
  },
  'Middy, module-scope client (hand-written)',
  9,
)
console.log(`\npeer: ${peer.callCount()} requests over ${peer.connections} TCP connections`)
moduleClient.destroy()
await peer.close()
