// `pnpm demo`: a day in the life of a function, played in @thaw/lambda-sim for thaw and for the two
// everyday patterns it replaces, side by side. Act 1 is the orders API against MariaDB: cold start,
// warm invocations with freezes, the server killing connections while frozen, a password rotation,
// new environments starting at once; then the same day on PostgreSQL (demo/act-orders-pg.ts). Act 2 is a report over a file from S3 kept in /tmp: a crash
// mid-download, then warm invocations in the environment that inherits that /tmp.
//
// Whatever it changes (on the server: `SET GLOBAL userstat`, three users, a database; here: peers,
// environments, a work directory) is undone when it ends, fails or is interrupted (demo/restore.ts),
// and every wait has a deadline: a stuck step stops the demo with a message naming it, never a hang.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { type EnvironmentOptions, type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import {
  type S3Peer,
  type SecretsManagerPeer,
  sleep,
  startS3Peer,
  startSecretsManagerPeer,
  waitFor,
  withDeadline,
} from '@thaw/test-support'
import mysql from 'mysql2/promise'
import { buildExample } from './build-examples.ts'
import { assertDatabaseAnswers, databaseUrl } from './database-url.ts'
import { ordersOnPostgres, postgresBinariesPresent, stepsOnPostgres } from './demo/act-orders-pg.ts'
import { createProgress, latencyCells, newTally, type PatternTally, record } from './demo/measure.ts'
import { type LatencySample, printReportTable, writeCharts } from './demo/report.ts'
import { createRestorer } from './demo/restore.ts'

const demoStarted = performance.now()
try {
  await assertDatabaseAnswers()
} catch (error) {
  console.error((error as Error).message)
  process.exit(1)
}

const here = (file: string) => new URL(file, import.meta.url).pathname
const server = new URL(databaseUrl())
const database = 'thaw_demo'
const secretId = 'orders-api/db'
const twinSecretId = 'orders-api/twin-db'
const reportBucket = 'thaw-demo-reports'
const reportKey = 'sales.sqlite'

const onPostgres = postgresBinariesPresent()
const progress = createProgress(2 + 4 * 4 + (onPostgres ? stepsOnPostgres : 0) + 3 * 2)
await using restorer = createRestorer()
// Deadlines: a statement, a connect, an invocation (cold ones init first), a start or a build, a
// shutdown.
const statementMs = 15_000
const connectMs = 5_000
const invocationMs = 30_000
const stepMs = 120_000
const shutdownMs = 30_000
const within = <T>(what: string, ms: number, promise: Promise<T>): Promise<T> =>
  withDeadline(promise, ms, what)

const connectAdmin = () =>
  mysql.createConnection({ uri: databaseUrl(), multipleStatements: true, connectTimeout: connectMs })
const admin = await connectAdmin()
restorer.add('close the admin connection', async () => {
  await admin.end().catch(() => admin.destroy())
})
// Every statement has the server's answer within its deadline (mysql2 closes the connection
// otherwise, and the demo stops naming the statement).
const query = (sql: string, values?: unknown[]) =>
  restorer.guard(sql, () => admin.query({ sql, timeout: statementMs }, values))
// An undo runs on a connection of its own: the admin connection may be what failed.
const undoOnServer = (sql: string) => async () => {
  const connection = await connectAdmin()
  try {
    await connection.query({ sql, timeout: statementMs })
  } finally {
    connection.destroy()
  }
}

// Connections are counted per user by the server itself (MariaDB's user statistics, switched on for
// the demo and back to what it was after), so whatever else connects to the server meanwhile does
// not count.
const [[userStatistics]] = (await query('SELECT @@GLOBAL.userstat AS enabled')) as unknown as [
  [{ enabled: number }],
]
const userStatisticsBefore = `SET GLOBAL userstat = ${userStatistics.enabled ? 'ON' : 'OFF'}`
restorer.add(userStatisticsBefore, undoOnServer(userStatisticsBefore))
await query('SET GLOBAL userstat = ON')
const connectionsOpenedBy = async (user: string) => {
  const [rows] = await query(
    'SELECT TOTAL_CONNECTIONS + DENIED_CONNECTIONS AS opened FROM information_schema.USER_STATISTICS WHERE USER = ?',
    [user],
  )
  return Number((rows as Array<{ opened: number }>)[0]?.opened ?? 0)
}
const killConnectionsOf = async (user: string) => {
  const [rows] = await query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [user])
  for (const { id } of rows as Array<{ id: number }>) await query('KILL ?', [id]).catch(() => undefined)
}
const passwordFor = (user: string, generation: number) =>
  `${user}-pw-${generation}-${Math.random().toString(36).slice(2)}`
const dsn = (user: string, password: string) => {
  const url = new URL(databaseUrl())
  url.username = user
  url.password = password
  url.pathname = `/${database}`
  return url.toString()
}

// The stage: a database with a few orders, a user per pattern, the secret, and the S3 object.
restorer.add(`DROP DATABASE IF EXISTS ${database}`, undoOnServer(`DROP DATABASE IF EXISTS ${database}`))
await query(`DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database}; USE ${database}`)
await query(readFileSync(here('../examples/orders-api/schema.sql'), 'utf8'))
await query('INSERT INTO orders (customer_id, total_cents) VALUES (1, 1000), (2, 2500), (3, 400)')
const workDirectory = await mkdtemp(join(tmpdir(), 'thaw-demo-'))
restorer.add(`rm -r ${workDirectory}`, () => rmSync(workDirectory, { recursive: true, force: true }))
const secretsPeer: SecretsManagerPeer = await within(
  'start the Secrets Manager peer',
  stepMs,
  startSecretsManagerPeer(),
)
restorer.add('stop the Secrets Manager peer', () => secretsPeer.close())
const s3Peer: S3Peer = await within('start the S3 peer', stepMs, startS3Peer({ buckets: [reportBucket] }))
restorer.add('stop the S3 peer', () => s3Peer.close())
const [ordersBundle, reportBundle, ordersPgBundle] = await within(
  'build the examples',
  stepMs,
  Promise.all([buildExample('orders-api'), buildExample('report-from-s3'), buildExample('orders-pg')]),
)
progress.step('examples built, peers started')

// A report database padded to 24 MiB, so that a crash lands mid-download.
const salesFile = join(workDirectory, reportKey)
const sales = new DatabaseSync(salesFile)
sales.exec(`CREATE TABLE sales (region TEXT, amount REAL); CREATE TABLE padding (bytes BLOB);
  INSERT INTO sales VALUES ('eu', 10), ('eu', 5), ('us', 7); INSERT INTO padding VALUES (zeroblob(${24 * 1024 * 1024}))`)
sales.close()
const uploader = new S3Client({
  region: 'us-east-1',
  endpoint: s3Peer.endpoint,
  forcePathStyle: true,
  credentials: s3Peer.credentials,
})
try {
  await uploader.send(
    new PutObjectCommand({ Bucket: reportBucket, Key: reportKey, Body: readFileSync(salesFile) }),
    { abortSignal: AbortSignal.timeout(stepMs) },
  )
} finally {
  uploader.destroy()
}
progress.step('database, secret and S3 object in place')

const orderRequest = (index: number) =>
  index % 4 === 3
    ? {
        routeKey: 'POST /orders',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 7, lines: [{ sku: 'demo-1', quantity: 2, unitCents: 350 }] }),
      }
    : { routeKey: 'GET /orders/{id}', pathParameters: { id: String((index % 3) + 1) } }

// Every environment started is shut down at the end, or when the demo fails or is interrupted (its
// processes hold connections as the users the demo drops).
const environmentsToShutDown = new Set<LambdaEnvironment>()
const shutDown = async (environment: LambdaEnvironment) => {
  await within('shut down an environment', shutdownMs, environment.shutdown())
  environmentsToShutDown.delete(environment)
}
restorer.add(
  'stop the Lambda environments (lambda-sim processes)',
  () => Promise.allSettled([...environmentsToShutDown].map(shutDown)),
  shutdownMs + 5_000,
)
const start = async (options: EnvironmentOptions) => {
  // lambda-sim bounds init (initTimeoutMs) and each invocation (timeoutMs); this bounds the start.
  const environment = await restorer.guard(`start ${options.entry}`, () =>
    within(
      `start ${options.entry}`,
      stepMs,
      startEnvironment({ timeoutMs: 5_000, memoryMb: 256, ...options }),
    ),
  )
  environmentsToShutDown.add(environment)
  return environment
}
const invoke = (environment: LambdaEnvironment, event: unknown) =>
  restorer.guard('an invocation', () => within('an invocation', invocationMs, environment.invoke(event)))

// ---- Act 1: the orders API.
interface OrdersPattern {
  name: string
  user: string
  environment: (password: string) => EnvironmentOptions
  // What the operator does at rotation for this pattern: thaw reads the secret; the others were
  // deployed with the password in an environment variable, which nobody redeploys in time.
  rotate: (password: string) => void
}
const ordersPatterns: OrdersPattern[] = [
  {
    name: 'connect in the handler',
    user: 'thaw_demo_connect',
    environment: (password) => ({
      entry: here('demo/orders-connect-per-invocation.ts'),
      env: { DATABASE_URL: dsn('thaw_demo_connect', password) },
    }),
    rotate: () => undefined,
  },
  {
    name: 'one module-scope connection',
    user: 'thaw_demo_module',
    environment: (password) => ({
      entry: here('demo/orders-module-connection.ts'),
      env: { DATABASE_URL: dsn('thaw_demo_module', password) },
    }),
    rotate: () => undefined,
  },
  {
    name: 'thaw (examples/orders-api)',
    user: 'thaw_demo_thaw',
    environment: () => ({
      entry: ordersBundle.file,
      prebuilt: true,
      env: {
        DATABASE_URL: `mysql://${server.host}/${database}`,
        DB_SECRET_ID: secretId,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsPeer.endpoint,
      },
    }),
    rotate: (password) => {
      secretsPeer.setSecret(secretId, {
        username: 'thaw_demo_thaw',
        password,
        engine: 'mysql',
        dbname: database,
      })
    },
  },
  {
    // The same work as thaw's row, by hand (scripts/bench/twins): the secret read from Secrets Manager
    // once, one connection opened on the first request. Beside thaw's cold start, it says what reading
    // the secret costs either way; below it, what the recovery thaw adds is worth.
    name: 'by hand, same work as thaw',
    user: 'thaw_demo_twin',
    environment: () => ({
      entry: here('bench/twins/orders-hand-written.ts'),
      build: { conditions: ['@thaw/source'] },
      env: {
        DATABASE_URL: `mysql://${server.host}/${database}`,
        DB_SECRET_ID: twinSecretId,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsPeer.endpoint,
      },
    }),
    rotate: (password) => {
      secretsPeer.setSecret(twinSecretId, {
        username: 'thaw_demo_twin',
        password,
        engine: 'mysql',
        dbname: database,
      })
    },
  },
]

// Every latency measured, for the charts.
const samples: LatencySample[] = []
const keepSamples = (act: string, tally: PatternTally) => {
  for (const ms of tally.coldMs) samples.push({ act, pattern: tally.pattern, phase: 'cold', ms })
  for (const ms of tally.warmMs) samples.push({ act, pattern: tally.pattern, phase: 'warm', ms })
}

const ordersRows: string[][] = []
for (const pattern of ordersPatterns) {
  const tally = newTally(pattern.name)
  let password = passwordFor(pattern.user, 1)
  const dropUser = `DROP USER IF EXISTS '${pattern.user}'@'%'`
  restorer.add(dropUser, undoOnServer(dropUser))
  await query(dropUser)
  await query(`CREATE USER '${pattern.user}'@'%' IDENTIFIED BY ?`, [password])
  await query(`GRANT SELECT, INSERT ON ${database}.* TO '${pattern.user}'@'%'`)
  pattern.rotate(password)
  const connectionsBefore = await connectionsOpenedBy(pattern.user)
  let invocation = 0
  const invokeSome = async (environment: LambdaEnvironment, count: number) => {
    for (let index = 0; index < count; index++) {
      record(tally, await invoke(environment, orderRequest(invocation++)))
      await sleep(5)
    }
  }

  const environment = await start(pattern.environment(password))
  await invokeSome(environment, 21)
  progress.step(`${pattern.name}: cold start, 20 warm invocations`)

  await killConnectionsOf(pattern.user)
  await invokeSome(environment, 10)
  progress.step(`${pattern.name}: the server killed its connections while frozen`)

  password = passwordFor(pattern.user, 2)
  await query(`ALTER USER '${pattern.user}'@'%' IDENTIFIED BY ?`, [password])
  pattern.rotate(password)
  // The proxy in front of the database drops the sessions opened with the old password.
  await killConnectionsOf(pattern.user)
  await invokeSome(environment, 10)
  progress.step(`${pattern.name}: the password was rotated`)

  // A burst: three more environments start at once, deployed as before the rotation.
  const burst = await Promise.all(
    [1, 2, 3].map(() => start(pattern.environment(passwordFor(pattern.user, 1)))),
  )
  await Promise.all(burst.map((each) => invokeSome(each, 5)))
  progress.step(`${pattern.name}: three more environments at once`)

  await Promise.all([environment, ...burst].map(shutDown))
  const connectionsOpened = (await connectionsOpenedBy(pattern.user)) - connectionsBefore
  keepSamples('Act 1 orders API', tally)
  ordersRows.push([
    tally.pattern,
    ...latencyCells(tally),
    String(connectionsOpened),
    `${tally.failed} of ${tally.invocations}`,
    tally.firstFailure ?? '',
  ])
}

// ---- Act 1 on PostgreSQL.
const ordersPgRows: string[][] = []
if (onPostgres) {
  const act = await ordersOnPostgres({
    restorer,
    secretsPeer,
    bundle: ordersPgBundle,
    start,
    invoke,
    shutDown,
    step: (label) => progress.step(label),
    orderRequest,
    within,
  })
  for (const tally of act.tallies) keepSamples('Act 1 orders API on PostgreSQL', tally)
  act.rows.forEach(([pattern, sessions, failed], index) => {
    const tally = act.tallies[index] as PatternTally
    ordersPgRows.push([
      pattern as string,
      ...latencyCells(tally),
      sessions as string,
      failed as string,
      tally.firstFailure ?? '',
    ])
  })
}

// ---- Act 2: the report over a file from S3.
const reportPatterns = [
  { name: 'download in every invocation', options: { entry: here('demo/report-download-every-time.ts') } },
  { name: 'reuse the file if it exists', options: { entry: here('demo/report-naive-cache.ts') } },
  { name: 'thaw (examples/report-from-s3)', options: { entry: reportBundle.file, prebuilt: true } },
]
const reportEnvironment = {
  AWS_ENDPOINT_URL_S3: s3Peer.endpoint,
  AWS_ACCESS_KEY_ID: s3Peer.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: s3Peer.credentials.secretAccessKey,
  REPORT_BUCKET: reportBucket,
  REPORT_KEY: reportKey,
}
const bytesUnder = (directory: string): number => {
  let total = 0
  for (const entry of readdirSync(directory, { withFileTypes: true, recursive: true }))
    if (entry.isFile())
      total += statSync(join(entry.parentPath, entry.name), { throwIfNoEntry: false })?.size ?? 0
  return total
}

const reportRows: string[][] = []
for (const pattern of reportPatterns) {
  const tally: PatternTally = newTally(pattern.name)
  let tmpHits = 0
  const getsBefore = s3Peer.requestCount('GET', `/${reportBucket}/${reportKey}`)
  const connectionsBefore = s3Peer.connections
  const environment = await start({ ...pattern.options, env: reportEnvironment, memoryMb: 512 })
  // The first download is cut short: Lambda kills the environment (a timeout, an out-of-memory).
  const interrupted = invoke(environment, {})
  // Every wait has a deadline: a download that never starts stops the demo with a message, not a hang.
  await waitFor(() => (bytesUnder(environment.tmpDir) >= 2 * 1024 * 1024 ? true : undefined), {
    what: `${pattern.name}: the first 2 MiB of the download in /tmp`,
    withinMs: 60_000,
    everyMs: 1,
  })
  await within(`${pattern.name}: kill the environment`, stepMs, environment.crash())
  // The killed invocation fails alike for every pattern; the table counts what happens after it.
  await interrupted
  progress.step(`${pattern.name}: killed mid-download`)
  for (let index = 0; index < 12; index++) {
    const outcome = await invoke(environment, {})
    if (
      record(tally, outcome) &&
      outcome.ok &&
      (outcome.result as { downloaded?: boolean }).downloaded === false
    )
      tmpHits++
    await sleep(5)
  }
  progress.step(`${pattern.name}: 12 invocations in the environment that kept that /tmp`)
  await shutDown(environment)
  keepSamples('Act 2 report from S3', tally)
  reportRows.push([
    tally.pattern,
    ...latencyCells(tally),
    String(s3Peer.requestCount('GET', `/${reportBucket}/${reportKey}`) - getsBefore),
    String(s3Peer.connections - connectionsBefore),
    String(tmpHits),
    `${tally.failed} of ${tally.invocations}`,
    tally.firstFailure ?? '',
  ])
}

// The same undo as on a failure: environments, peers, users, the database, userstat, in that order.
const notUndone = await restorer.restore()
restorer.dispose()
if (notUndone.length > 0) process.exitCode = 1

const latencyLegend = {
  cold: "median of Lambda's Init Duration plus the first invocation's Duration (the environments that answered)",
  'warm p50 / p99': "Lambda's Duration of the warm invocations that answered, median and 99th percentile",
  failure: 'the first failure of the pattern, in full in the numbered note under the table',
  failed: 'invocations that threw or answered an HTTP error, of all invocations',
}
printReportTable({
  title:
    'Act 1: the orders API against MariaDB. One environment: a cold start, 20 warm invocations, its connections killed while frozen, the password rotated; then 3 more environments at once.',
  columns: ['pattern', 'cold', 'warm p50 / p99', 'opened', 'failed', 'failure'],
  rows: ordersRows,
  legend: {
    ...latencyLegend,
    opened: "connections opened, counted by the server (MariaDB's per-user statistics)",
    'by hand, same work as thaw':
      "reads the same secret and opens one connection as thaw's row does, with none of its recovery: compare cold starts with it (the other two rows read no secret)",
  },
  notesColumn: 'failure',
})
if (onPostgres)
  printReportTable({
    title:
      'Act 1 on PostgreSQL 15: the same day for examples/orders-pg, on a private server that checks passwords.',
    columns: ['pattern', 'cold', 'warm p50 / p99', 'sessions', 'failed', 'failure'],
    rows: ordersPgRows,
    legend: {
      ...latencyLegend,
      sessions:
        "sessions established, counted by the server (pg_stat_database of the pattern's own database)",
    },
    notesColumn: 'failure',
  })
else
  console.log(
    '\nAct 1 on PostgreSQL skipped: no PostgreSQL server binaries under /usr/lib/postgresql (it starts a private server).',
  )
printReportTable({
  title:
    'Act 2: a report over a 24 MiB SQLite file from S3. One invocation killed mid-download, then 12 in the environment that kept that /tmp.',
  columns: ['pattern', 'cold', 'warm p50 / p99', 'GETs', 'sockets', 'hits', 'failed', 'failure'],
  rows: reportRows,
  legend: {
    ...latencyLegend,
    GETs: 'S3 GetObject requests of the file, counted by the S3 peer',
    sockets: 'TCP connections the S3 peer accepted',
    hits: 'invocations answered from the file in /tmp, without a download',
  },
  notesColumn: 'failure',
})
const chartDirectory = join(here('..'), 'reports', 'demo')
const charts = await writeCharts(chartDirectory, samples)
console.log('\ncharts (SVG, Vega-Lite) in reports/demo/:')
for (const file of charts) console.log(`  ${file.slice(chartDirectory.length + 1)}`)
console.log(
  `\nbundles: orders-api ${(ordersBundle.bytes / 1024).toFixed(0)} KiB, report-from-s3 ${(reportBundle.bytes / 1024).toFixed(0)} KiB; the demo took ${((performance.now() - demoStarted) / 1000).toFixed(1)} s`,
)
