// What db-connection's tests alone need: handlers in lambda-sim, users of their own on the server, a
// TCP proxy that can cut or black-hole connections. What every package's tests share comes from
// @thaw/test-support.
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { afterAll, beforeAll } from '@jest/globals'
import middy from '@middy/core'
import { type EnvironmentOptions, type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import {
  databaseName,
  databaseUrl,
  fixturesOf,
  type SecretsManagerPeer,
  sleep,
  startedThings,
  waitFor,
} from '@thaw/test-support'
import mysql from 'mysql2/promise'
import dbConnection, { type DbConnectionContext, type DbConnectionOptions } from '../src/index.ts'

export { databaseName, databaseUrl, sleep }

// The Lambda context of an in-process invocation (Middy around dbConnection in the test process):
// what thaw reads of it, its deadline remainingMs from now.
export const lambdaContext = (remainingMs = 10_000) => {
  const deadline = Date.now() + remainingMs
  return {
    getRemainingTimeInMillis: () => deadline - Date.now(),
    functionName: 'dbc-in-process',
  } as unknown as DbConnectionContext
}

// One function in this process, with the middleware and `options`: each call runs `run` as one
// invocation with its context.db, and resolves with what it returns.
// The middleware as Lambda Managed Instances build it: the process says it runs invocations concurrently
// (AWS_LAMBDA_MAX_CONCURRENCY, read when the middleware is made).
export const managedInstances = (options: DbConnectionOptions) => {
  const previous = process.env.AWS_LAMBDA_MAX_CONCURRENCY
  process.env.AWS_LAMBDA_MAX_CONCURRENCY = '8'
  try {
    return dbConnection(options)
  } finally {
    if (previous === undefined) delete process.env.AWS_LAMBDA_MAX_CONCURRENCY
    else process.env.AWS_LAMBDA_MAX_CONCURRENCY = previous
  }
}

// `remainingMs`: each invocation's time before its deadline (a statement the handler leaves running is
// waited for until the deadline less the stop's margin).
export const inProcessFunction = (options: DbConnectionOptions, remainingMs?: number) => {
  type Db = DbConnectionContext['db']
  const handler = middy<{ run: (db: Db) => Promise<unknown> }, unknown, Error, DbConnectionContext>()
    .use(dbConnection(options))
    .handler((event, context) => event.run(context.db))
  return <T>(run: (db: Db) => Promise<T>) => handler({ run }, lambdaContext(remainingMs)) as Promise<T>
}

const fixture = fixturesOf(import.meta.url)

const started = startedThings()

// Starts a fixture in lambda-sim with DATABASE_URL and the middleware's options passed through env.
export const startHandler = async (
  options: { databaseUrl: string; dbOptions?: Record<string, unknown>; timeoutEarlyInMillis?: number },
  environmentOptions: Omit<EnvironmentOptions, 'entry'> = {},
  name = 'handler',
): Promise<LambdaEnvironment> => {
  const environment = await startEnvironment({
    entry: fixture(name),
    // Workspace packages (@thaw/sdk-clients) resolve to their sources, as in jest: a fresh clone has no dist/.
    build: { conditions: ['@thaw/source'] },
    ...environmentOptions,
    env: {
      // Managed Instances say so in AWS_LAMBDA_MAX_CONCURRENCY (as the new lambda-sim also sets it).
      ...((environmentOptions.concurrency ?? 1) > 1
        ? { AWS_LAMBDA_MAX_CONCURRENCY: String(environmentOptions.concurrency) }
        : {}),
      DATABASE_URL: options.databaseUrl,
      DBC_OPTIONS: JSON.stringify(options.dbOptions ?? {}),
      DBC_TIMEOUT_EARLY: String(options.timeoutEarlyInMillis ?? 5),
      ...environmentOptions.env,
    },
  })
  return started.add(environment)
}

export const stopStarted = (): Promise<void> => started.stopAll()

// Invokes and returns the handler's result, failing with the invocation's error otherwise.
export const call = async <T = Record<string, unknown>>(environment: LambdaEnvironment, event: unknown) => {
  const outcome = await environment.invoke(event)
  if (!outcome.ok) {
    const logs = outcome.logs.map((line) => `${line.level} ${line.message}`).join('\n')
    throw new Error(`invocation failed: ${outcome.error.name}: ${outcome.error.message}\n${logs}`)
  }
  return outcome.result as T
}

// The test's own connection, as root, for setup and for looking at the server from the outside.
let adminConnection: mysql.Connection | undefined
export const admin = async (): Promise<mysql.Connection> => {
  adminConnection ??= await mysql.createConnection(databaseUrl())
  return adminConnection
}

// A database user of the test's own: connections are counted and killed by user, so parallel test
// files never touch each other's connections.
const users: string[] = []
export const createTestUser = async (
  label: string,
  options: { prefix?: string; password?: string; maxUserConnections?: number } = {},
) => {
  const user = `${options.prefix ?? 'dbc'}_${label}_${randomBytes(3).toString('hex')}`.slice(0, 32)
  const password = options.password ?? `pw-${randomBytes(6).toString('hex')}`
  const db = await admin()
  const limit = options.maxUserConnections
  await db.query(
    `CREATE USER ?@? IDENTIFIED BY ?${limit === undefined ? '' : ` WITH MAX_USER_CONNECTIONS ${Number(limit)}`}`,
    [user, '%', password],
  )
  await db.query(`GRANT ALL ON \`${databaseName()}\`.* TO ?@?`, [user, '%'])
  users.push(user)
  const base = new URL(databaseUrl())
  const dsn = (port = Number(base.port || 3306)) =>
    `mysql://${user}:${password}@${base.hostname}:${port}${base.pathname}`
  return { user, password, dsn, port: Number(base.port || 3306), host: base.hostname }
}

// Changes the user's password on the server (as a rotation's setSecret/finishSecret steps do).
// `server`: another server's admin connection (the private TLS server) instead of the shared one's.
export const setPassword = async (user: string, password: string, server?: mysql.Connection) => {
  const db = server ?? (await admin())
  await db.query('ALTER USER ?@? IDENTIFIED BY ?', [user, '%', password])
}

export const connectionIds = async (user: string, server?: mysql.Connection): Promise<number[]> => {
  const db = server ?? (await admin())
  const [rows] = await db.query('SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID', [
    user,
  ])
  return (rows as { ID: number }[]).map((row) => Number(row.ID))
}

export const killConnections = async (user: string, server?: mysql.Connection): Promise<number> => {
  const db = server ?? (await admin())
  const ids = await connectionIds(user, db)
  for (const id of ids) await db.query('KILL ?', [id]).catch(() => {})
  return ids.length
}

// Waits until the user has a statement running whose text contains `fragment`.
export const waitForStatement = async (user: string, fragment: string, timeoutMs = 5_000) => {
  const db = await admin()
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const [rows] = await db.query(
      'SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE ?',
      [user, `%${fragment}%`],
    )
    const found = rows as { ID: number }[]
    if (found[0]) return Number(found[0].ID)
    await sleep(20)
  }
  throw new Error(`no statement like ${fragment} from ${user} within ${timeoutMs} ms`)
}

export const dropTestUsers = async () => {
  const db = await admin()
  for (const user of users.splice(0)) {
    await killConnections(user)
    await db.query('DROP USER IF EXISTS ?@?', [user, '%'])
  }
}

export const closeAdmin = async () => {
  await adminConnection?.end()
  adminConnection = undefined
}

// The setup and cleanup every test file repeated: with `table`, a table of the file's own
// (`<table>_<random>`, an id and a string v unless `columns` says otherwise) created before its tests;
// after them, its environments and proxies stopped, `cleanUp` run (pools of in-process middlewares,
// peers), the table and its users dropped, the admin connection closed. Returns the table's name.
export const setUpTestFile = (
  options: { table?: string; columns?: string; cleanUp?: () => Promise<unknown> } = {},
): string => {
  const table = options.table ? `${options.table}_${randomBytes(3).toString('hex')}` : ''
  if (table) {
    beforeAll(async () => {
      const columns = options.columns ?? 'id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64)'
      await (await admin()).query(`CREATE TABLE ${table} (${columns}) ENGINE=InnoDB`)
    })
  }
  afterAll(async () => {
    await stopStarted()
    await options.cleanUp?.()
    if (table) await (await admin()).query(`DROP TABLE IF EXISTS ${table}`)
    await dropTestUsers()
    await closeAdmin()
  })
  return table
}

// A loopback port nothing listens on: taken, then freed (a connect to it is refused at once).
export const closedPort = async (): Promise<number> => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

// A TCP proxy in front of the server, to do to connections what a real server can't on demand:
// cut them (a restart: both sides closed), black-hole them (stop forwarding, no FIN: half-open),
// close them after an idle time (a proxy's idle timeout), or delay the server's bytes.
export interface Proxy {
  port: number
  cut(): void
  blackhole(): void
  // The connections open now stop receiving the server's answers (the client's bytes still reach the
  // server): a statement completes on the server and its answer never arrives. New connections are not
  // affected.
  holdAnswers(): void
  // The next client connection is black-holed once it has sent this many chunks (a handshake response
  // is one): a server that accepts a connection and then stops answering it.
  holeNextAfter(chunks: number): void
  idleTimeoutMs: number | undefined
  // Server to client, and client to server (a link with latency both ways: delayBothWays).
  delayMs: number
  upstreamDelayMs: number
  // What each client connection sent towards the server, one array of chunks per connection, in order.
  clientData: Buffer[][]
  close(): Promise<void>
}

export const startProxy = async (target: { host: string; port: number }): Promise<Proxy> => {
  const pairs = new Set<{ client: Socket; server: Socket; holed: boolean; answersHeld?: boolean }>()
  let holeNext: number | undefined
  const proxy: Proxy = {
    port: 0,
    idleTimeoutMs: undefined,
    delayMs: 0,
    upstreamDelayMs: 0,
    clientData: [],
    cut() {
      for (const pair of pairs) {
        pair.client.destroy()
        pair.server.destroy()
      }
      pairs.clear()
    },
    blackhole() {
      for (const pair of pairs) pair.holed = true
    },
    holdAnswers() {
      for (const pair of pairs) pair.answersHeld = true
    },
    holeNextAfter(chunks) {
      holeNext = chunks
    },
    close: async () => {
      proxy.cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(target)
    const pair: { client: Socket; server: Socket; holed: boolean; answersHeld?: boolean } = {
      client,
      server: upstream,
      holed: false,
    }
    pairs.add(pair)
    const sent: Buffer[] = []
    proxy.clientData.push(sent)
    const holeAfter = holeNext
    holeNext = undefined
    let idleTimer: NodeJS.Timeout | undefined
    const touch = () => {
      if (proxy.idleTimeoutMs === undefined) return
      clearTimeout(idleTimer)
      idleTimer = setTimeout(() => {
        client.end()
        upstream.destroy()
        pairs.delete(pair)
      }, proxy.idleTimeoutMs)
    }
    touch()
    client.on('data', (data) => {
      if (holeAfter !== undefined && sent.length >= holeAfter) pair.holed = true
      if (pair.holed) return
      sent.push(data)
      touch()
      if (proxy.upstreamDelayMs > 0) {
        setTimeout(() => upstream.writable && upstream.write(data), proxy.upstreamDelayMs).unref()
      } else upstream.write(data)
    })
    upstream.on('data', (data) => {
      if (pair.holed || pair.answersHeld) return
      touch()
      // unref: a delayed write must not keep the test process alive after the proxy is closed.
      if (proxy.delayMs > 0) setTimeout(() => client.writable && client.write(data), proxy.delayMs).unref()
      else client.write(data)
    })
    const close = () => {
      clearTimeout(idleTimer)
      if (pair.holed) return
      client.destroy()
      upstream.destroy()
      pairs.delete(pair)
    }
    client.on('close', close)
    upstream.on('close', close)
    client.on('error', () => {})
    upstream.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  proxy.port = (server.address() as { port: number }).port
  started.add(proxy)
  return proxy
}

// How many GetSecretValue calls the peer answered for one secret.
export const getSecretValueCalls = (peer: SecretsManagerPeer, secretId: string): number =>
  peer.calls.filter((call) => call.target === 'GetSecretValue' && call.secretId === secretId).length

// A dbc5_ user, its secret in the RDS JSON shape on the peer, and an environment reading it through
// the credentials fixture; setSecret(password) rotates the secret's password.
export const startSecretHandler = async (
  peer: SecretsManagerPeer,
  label: string,
  {
    secret = {},
    dbOptions = {},
    environmentOptions = {},
  }: {
    secret?: Record<string, unknown>
    dbOptions?: Record<string, unknown>
    environmentOptions?: Omit<EnvironmentOptions, 'entry'>
  } = {},
) => {
  const created = await createTestUser(label, { prefix: 'dbc5' })
  const secretId = `dbc5/${created.user}`
  const setSecret = (password: string) =>
    peer.setSecret(secretId, {
      engine: 'mysql',
      username: created.user,
      password,
      host: created.host,
      port: created.port,
      dbname: databaseName(),
    })
  setSecret(created.password)
  const environment = await startHandler(
    {
      databaseUrl: '',
      dbOptions: { secret: { secretId, clientConfig: { maxAttempts: 1 }, ...secret }, ...dbOptions },
    },
    { ...environmentOptions, env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: peer.endpoint } },
    'credentials',
  )
  return { ...created, secretId, environment, setSecret }
}

// How many rows of `table` hold `value` (column v), as the server sees them from outside.
export const countRowsWith = async (table: string, value: string): Promise<number> => {
  const [rows] = await (await admin()).query(`SELECT COUNT(*) AS n FROM ${table} WHERE v = ?`, [value])
  return Number((rows as [{ n: number }])[0].n)
}

// The connection id holding a named lock (GET_LOCK), or null when it is free.
export const lockHolder = async (lock: string): Promise<number | null> => {
  const [rows] = await (await admin()).query('SELECT IS_USED_LOCK(?) AS holder', [lock])
  return (rows as [{ holder: number | null }])[0].holder
}

// Connection `threadId` as the server's process list shows it, or undefined when it is not there.
const processListRow = async (threadId: number): Promise<{ INFO: string | null } | undefined> => {
  const [rows] = await (await admin()).query('SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = ?', [
    threadId,
  ])
  return (rows as { INFO: string | null }[])[0]
}

// Resolves once the server shows `text` in the statement connection `threadId` is running (a handler's
// statement that it did not await has reached the server).
export const untilRunning = (threadId: number, text: string): Promise<true> =>
  waitFor(async () => ((await processListRow(threadId))?.INFO?.includes(text) ? true : undefined), {
    what: `connection ${threadId} running ${text}`,
  })

// Resolves once the server's process list no longer shows connection `threadId`. A KILLed session
// takes a moment to leave it on a busy machine; `withinMs` must stay below how long the session would
// take to end by itself, or the wait could not tell a KILL from its absence.
export const untilGone = (threadId: number, withinMs: number): Promise<true> =>
  waitFor(async () => ((await processListRow(threadId)) === undefined ? true : undefined), {
    what: `connection ${threadId} gone from the server`,
    withinMs,
  })
