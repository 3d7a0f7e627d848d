import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import mysql from 'mysql2/promise'
import {
  call,
  closeAdmin,
  connectionIds,
  createTestUser,
  databaseName,
  dropTestUsers,
  sleep,
  startHandler,
  startProxy,
  stopStarted,
} from './helpers.ts'

// Connection limits (back-off bounded by the invocation's deadline), the connect timeout capped by
// the same bound, connect attributes on the wire, and the pool ended at SIGTERM.

interface Stats {
  connectionsOpened: number
  backoffRetries: number
  errors: number
}
interface CaughtResult {
  error: { code: string; errno: number; sqlState: string; message: string } | null
  stats: Stats
  elapsedMs: number
  remainingAtStart: number
  remainingAtEnd: number
}
const caught = async (environment: Awaited<ReturnType<typeof startHandler>>) => {
  const outcome = await environment.invoke({ action: 'catch' })
  if (!outcome.ok) throw new Error(`invocation failed: ${outcome.error.name}: ${outcome.error.message}`)
  return outcome.result as CaughtResult
}

const held: mysql.Connection[] = []
afterAll(async () => {
  await Promise.all(held.map((connection) => connection.end().catch(() => {})))
  await stopStarted()
  await dropTestUsers()
  await closeAdmin()
})

// A user allowed one connection at a time (MAX_USER_CONNECTIONS 1), whose one connection the test holds.
const fullUser = async (label: string) => {
  const created = await createTestUser(label, { prefix: 'dbc5', maxUserConnections: 1 })
  const connection = await mysql.createConnection(created.dsn())
  held.push(connection)
  return { ...created, connection }
}

describe('too many connections', () => {
  it('backs off and succeeds when a connection is released mid-backoff', async () => {
    const { user, dsn, connection } = await fullUser('release')
    const environment = await startHandler(
      { databaseUrl: dsn(), dbOptions: { connectRetry: { baseDelayMs: 50, maxDelayMs: 200 } } },
      { timeoutMs: 5_000 },
      'credentials',
    )
    const invocation = environment.invoke({ action: 'query' })
    await sleep(600)
    // Still refused while held: the invocation is backing off, not failed.
    expect(await connectionIds(user)).toHaveLength(1)
    await connection.end()
    const outcome = await invocation
    expect(outcome.ok).toBe(true)
    const result = (outcome.ok ? outcome.result : {}) as { stats: Stats; elapsedMs: number }
    expect(result.elapsedMs).toBeGreaterThanOrEqual(550)
    expect(result.stats.backoffRetries).toBeGreaterThanOrEqual(2)
    expect(result.stats.connectionsOpened).toBe(1)
  })

  it('gives up before the deadline, keeping the server code, when the connections stay full', async () => {
    const { dsn } = await fullUser('full')
    const environment = await startHandler(
      {
        databaseUrl: dsn(),
        dbOptions: { connectRetry: { baseDelayMs: 50, maxDelayMs: 200, deadlineMarginMs: 500 } },
      },
      { timeoutMs: 2_500 },
      'credentials',
    )
    const result = await caught(environment)
    expect(result.error).toMatchObject({ code: 'ER_USER_LIMIT_REACHED', errno: 1226, sqlState: '42000' })
    expect(result.error?.message).toMatch(/too many connections .*max_user_connections.* retries over \d+ ms/)
    // It kept trying for most of the budget (remaining - margin), and stopped before it.
    expect(result.elapsedMs).toBeGreaterThan(result.remainingAtStart - 500 - 400)
    // The margin (500 ms) is kept, less the last attempt's own duration and timer lateness.
    expect(result.remainingAtEnd).toBeGreaterThanOrEqual(250)
    expect(result.stats.backoffRetries).toBeGreaterThanOrEqual(3)
  })

  it('caps connectTimeout by the remaining time: a hanging handshake fails before the function times out', async () => {
    const { host, port, user, password } = await createTestUser('hang', { prefix: 'dbc5' })
    const proxy = await startProxy({ host, port })
    // The server's greeting never arrives in time.
    proxy.delayMs = 10_000
    const environment = await startHandler(
      {
        databaseUrl: `mysql://${user}:${password}@127.0.0.1:${proxy.port}/${databaseName()}?connectTimeout=20000`,
        dbOptions: { connectRetry: { deadlineMarginMs: 500 } },
      },
      { timeoutMs: 2_000 },
      'credentials',
    )
    const result = await caught(environment)
    expect(result.error?.code).toBe('ETIMEDOUT')
    // mysql2 says `connect ETIMEDOUT` alone; the message names the server it was trying.
    expect(result.error?.message).toBe(`connect ETIMEDOUT (connecting to 127.0.0.1:${proxy.port})`)
    // Without the cap it would wait for connectTimeout (20 s) and the function would time out.
    expect(result.elapsedMs).toBeLessThan(result.remainingAtStart - 250)
    expect(result.remainingAtEnd).toBeGreaterThanOrEqual(250)
  })
})

// mysql2's own parser of the client's handshake response (the server side of its protocol code).
const require = createRequire(import.meta.url)
const mysql2Lib = join(dirname(require.resolve('mysql2/package.json')), 'lib')
const Packet = require(join(mysql2Lib, 'packets/packet.js'))
const HandshakeResponse = require(join(mysql2Lib, 'packets/handshake_response.js'))
const handshakeResponse = (sent: Buffer[]) => {
  const bytes = Buffer.concat(sent)
  const length = bytes.readUIntLE(0, 3)
  return HandshakeResponse.fromPacket(new Packet(bytes[3], bytes, 0, 4 + length)) as {
    user: string
    connectAttributes: Record<string, string>
  }
}

describe('connect attributes', () => {
  it('sends program_name and the function name in the handshake to the server', async () => {
    // performance_schema is OFF in this MariaDB, so session_connect_attrs is empty: the attributes are
    // read from the bytes the client sent to the real server, through a proxy.
    const { host, port, user, password } = await createTestUser('attrs', { prefix: 'dbc5' })
    const proxy = await startProxy({ host, port })
    const environment = await startHandler(
      { databaseUrl: `mysql://${user}:${password}@127.0.0.1:${proxy.port}/${databaseName()}` },
      { functionName: 'dbc5-attributes-fn' },
      'credentials',
    )
    await call(environment, { action: 'query' })
    expect(proxy.clientData).toHaveLength(1)
    const response = handshakeResponse(proxy.clientData[0] as Buffer[])
    expect(response.user).toBe(user)
    expect(response.connectAttributes).toMatchObject({
      program_name: 'thaw',
      _thaw_package: '@thaw/db-connection',
      function_name: 'dbc5-attributes-fn',
      _client_name: 'Node-MySQL-2',
    })
  })
})

// COM_QUIT: a 1-byte command packet, what mysql2 sends when a pool ends its connections.
const comQuit = Buffer.from([1, 0, 0, 0, 1])
const endsWithQuit = (sent: Buffer[]) => {
  const bytes = Buffer.concat(sent)
  return bytes.subarray(bytes.length - comQuit.length).equals(comQuit)
}

describe('closeOnShutdown', () => {
  const shutdownRun = async (label: string, closeOnShutdown: boolean) => {
    const { host, port, user, password } = await createTestUser(label, { prefix: 'dbc5' })
    const proxy = await startProxy({ host, port })
    const environment = await startHandler(
      {
        databaseUrl: `mysql://${user}:${password}@127.0.0.1:${proxy.port}/${databaseName()}`,
        dbOptions: { closeOnShutdown },
      },
      // Lambda sends the runtime SIGTERM at shutdown only when an extension is registered.
      { noOpExtension: true },
      'credentials',
    )
    await call(environment, { action: 'query' })
    expect(await connectionIds(user)).toHaveLength(1)
    const { exitedWithinGracePeriod } = await environment.shutdown()
    let open = await connectionIds(user)
    for (let i = 0; i < 50 && open.length > 0; i++) {
      await sleep(20)
      open = await connectionIds(user)
    }
    return { exitedWithinGracePeriod, open, quit: endsWithQuit(proxy.clientData[0] as Buffer[]) }
  }

  it('ends the pool at SIGTERM: COM_QUIT reaches the server, which closes the session, and the process exits in time', async () => {
    const run = await shutdownRun('shutdown', true)
    expect(run).toEqual({ exitedWithinGracePeriod: true, open: [], quit: true })
  })

  it('without it, the process dies with the connection unclosed (no COM_QUIT)', async () => {
    const run = await shutdownRun('noshutdown', false)
    expect(run.quit).toBe(false)
    expect(run.open).toEqual([])
  })
})
