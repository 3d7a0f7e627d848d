// Cold start against a hand-written twin doing the same work (issue 13, item 4): for each example with
// a same-work twin, a fresh environment's init plus its first invocation, the two variants
// interleaved round by round (each round starts one environment of each, in alternating order), on
// the real parts: the example's bundle as deployed, the local Secrets Manager peer, MariaDB.
//
// node --conditions=@thaw/source scripts/bench/cold-start.bench.ts [rounds]
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startEnvironment } from '@thaw/lambda-sim'
import { databaseUrl, samMemorySize, startSecretsManagerPeer } from '@thaw/test-support'
import mysql from 'mysql2/promise'
import { buildBundle, buildExample, examplesDirectory } from '../build-examples.ts'

const rounds = Number(process.argv[2] ?? 11)
const root = new URL('../../', import.meta.url).pathname
const database = 'thaw_bench_cold_orders'
const user = 'thaw_bench_cold_orders'
const secretId = 'bench/cold-orders'

const admin = await mysql.createConnection({ uri: databaseUrl(), multipleStatements: true })
await admin.query(`DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database}; USE ${database}`)
await admin.query(readFileSync(join(examplesDirectory, 'orders-api', 'schema.sql'), 'utf8'))
await admin.query(
  `DROP USER IF EXISTS '${user}'@'%'; CREATE USER '${user}'@'%' IDENTIFIED BY 'cold-start-pw'`,
)
await admin.query(`GRANT SELECT, INSERT ON ${database}.* TO '${user}'@'%'`)
await admin.query(`INSERT INTO orders (id, customer_id, total_cents) VALUES (1, 7, 1200)`)
const peer = await startSecretsManagerPeer()
peer.setSecret(secretId, { engine: 'mysql', username: user, password: 'cold-start-pw', dbname: database })

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

interface Variant {
  name: string
  file: string
  init: number[]
  first: number[]
  initCpu: number[]
  firstCpu: number[]
}

// CPU time the environment's process has used, all its threads (Linux schedstat: nanoseconds on CPU).
// Wall time on a loaded 2-core machine swings by tens of percent from run to run; CPU time is what
// the code itself costs, and holds still.
const cpuMs = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN
  let ns = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return ns / 1e6
}

try {
  const server = new URL(databaseUrl())
  const env = {
    DATABASE_URL: `mysql://${server.host}/${database}`,
    DB_SECRET_ID: secretId,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: peer.endpoint,
  }
  const example = await buildExample('orders-api')
  const twin = await buildBundle(
    join(root, 'scripts', 'bench', 'twins', 'orders-hand-written.ts'),
    join(examplesDirectory, 'orders-api', 'dist', 'cold-start-twin.mjs'),
  )
  const variants: Variant[] = [
    {
      name: 'hand-written twin (same secret, one connection, same middlewares)',
      file: twin.file,
      init: [],
      first: [],
      initCpu: [],
      firstCpu: [],
    },
    { name: 'orders-api (thaw)', file: example.file, init: [], first: [], initCpu: [], firstCpu: [] },
  ]
  const memoryMb = samMemorySize(new URL('../../examples/orders-api/template.yaml', import.meta.url))
  const event = { routeKey: 'GET /orders/{id}', pathParameters: { id: '1' } }
  for (let round = 0; round < rounds + 1; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse()
    for (const variant of order) {
      const environment = await startEnvironment({ entry: variant.file, prebuilt: true, memoryMb, env })
      const afterInit = cpuMs(environment.pid)
      const outcome = await environment.invoke<{ statusCode: number }>(event)
      const afterFirst = cpuMs(environment.pid)
      await environment.shutdown()
      if (!outcome.ok || outcome.result.statusCode !== 200)
        throw new Error(`${variant.name}: the first GET did not answer 200: ${JSON.stringify(outcome)}`)
      // Round 0 warms the machine's caches (the bundle files, the server's plan): not counted.
      if (round === 0) continue
      variant.init.push(environment.lastInitDurationMs ?? Number.NaN)
      variant.first.push(outcome.durationMs)
      variant.initCpu.push(afterInit)
      variant.firstCpu.push(afterFirst - afterInit)
    }
  }
  const [baseline] = variants as [Variant]
  const sum = (a: number[], b: number[]) => median(a.map((value, index) => value + (b[index] as number)))
  const table = (title: string, init: (v: Variant) => number[], first: (v: Variant) => number[]) => {
    console.log(`${title} (median of ${rounds} interleaved rounds)\n`)
    console.log('| variant | init | first invocation | init + first | ratio |')
    console.log('| --- | --: | --: | --: | --: |')
    const base = sum(init(baseline), first(baseline))
    for (const variant of variants) {
      const total = sum(init(variant), first(variant))
      console.log(
        `| ${variant.name} | ${median(init(variant)).toFixed(1)} ms | ${median(first(variant)).toFixed(1)} ms | ${total.toFixed(1)} ms | ${(total / base).toFixed(2)}x |`,
      )
    }
    console.log('')
  }
  table(
    'orders-api cold start, CPU time of the environment',
    (v) => v.initCpu,
    (v) => v.firstCpu,
  )
  table(
    'orders-api cold start, wall time',
    (v) => v.init,
    (v) => v.first,
  )
} finally {
  await peer.close()
  await admin.query(`DROP USER IF EXISTS '${user}'@'%'; DROP DATABASE IF EXISTS ${database}`)
  await admin.end()
}
