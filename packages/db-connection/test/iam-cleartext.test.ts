import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import mysql from 'mysql2'
import dbConnection, { closePools, type DbConnectionContext, stats } from '../src/index.ts'

// RDS IAM authentication asks the client to switch to mysql_clear_password and send the token as is.
// This MariaDB cannot do that (no TLS, no cleartext plugin), so this test stands up a fake server made
// of mysql2's own server-side protocol code, which asks for that switch as RDS does, and reads what
// the client sends. It runs over plain TCP with the test-only escape hatch: TLS itself is not proven
// here (see the README).

const require = createRequire(import.meta.url)
const mysql2Lib = join(dirname(require.resolve('mysql2/package.json')), 'lib')
const AuthSwitchRequest = require(join(mysql2Lib, 'packets/auth_switch_request.js'))
const insecureIamForTests = Symbol.for('@thaw/db-connection.insecureIamForTests')

interface FakeRds {
  port: number
  // What each connection sent after the switch: the cleartext password, as received.
  received: string[]
  users: string[]
  close(): Promise<void>
}

// Accepts a connection only when the client answers the switch to mysql_clear_password with `token`.
const startFakeRds = async (token: string): Promise<FakeRds> => {
  const received: string[] = []
  const users: string[] = []
  let nextId = 1
  // biome-ignore lint/suspicious/noExplicitAny: mysql2's server API has no typings
  const server = (mysql as any).createServer((connection: any) => {
    let finishAuth: ((error: null, mysqlError?: { message: string; code: number }) => void) | undefined
    connection.serverHandshake({
      protocolVersion: 10,
      serverVersion: '8.0.36-fake-rds',
      connectionId: nextId++,
      statusFlags: 2,
      characterSet: 8,
      // Without CLIENT_CONNECT_ATTRS: mysql2's server-side parser trips over some attribute lists.
      capabilityFlags: 0xe7ffff,
      authCallback: (params: { user: string }, callback: typeof finishAuth) => {
        users.push(params.user)
        finishAuth = callback
        // As RDS does for an IAM user: switch to the cleartext plugin, no plugin data.
        connection.writePacket(
          new AuthSwitchRequest({
            pluginName: 'mysql_clear_password',
            pluginData: Buffer.alloc(0),
          }).toPacket(),
        )
      },
    })
    // The switch response is not a command: mysql2's server hands it over as an unknown packet.
    connection.on('packet', (packet: { buffer: Buffer; start: number; end: number }, known: boolean) => {
      if (known || !finishAuth) return
      const done = finishAuth
      finishAuth = undefined
      const sent = packet.buffer
        .subarray(packet.start + 4, packet.end)
        .toString('utf8')
        .replace(/\0$/, '')
      received.push(sent)
      done(null, sent === token ? undefined : { message: 'Access denied (fake RDS)', code: 1045 })
      // mysql2's server keeps counting sequence ids across commands; each command starts at 0.
      connection.sequenceId = 0
    })
    connection.on('query', () => {
      const column = { catalog: 'def', schema: 'app', table: 't', orgTable: 't', name: 'ok', orgName: 'ok' }
      connection.writeTextResult(
        [{ ok: 1 }],
        [{ ...column, characterSet: 63, columnLength: 1, columnType: 8, flags: 0, decimals: 0 }],
      )
      connection.sequenceId = 0
    })
    connection.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server._server.address().port,
    received,
    users,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const servers: FakeRds[] = []
afterAll(async () => {
  await closePools()
  await Promise.all(servers.map((server) => server.close()))
})

const lambdaContext = () =>
  ({ getRemainingTimeInMillis: () => 3_000, functionName: 'dbc5-iam' }) as unknown as DbConnectionContext

describe('iam: the token as a cleartext password', () => {
  it('answers mysql_clear_password with the token, one token per new connection', async () => {
    const fake = await startFakeRds('dbc5-iam-token')
    servers.push(fake)
    let signed = 0
    const handler = middy()
      .use(
        dbConnection({
          config: { host: '127.0.0.1', port: fake.port, user: 'iam_user', database: 'app' },
          iam: {
            getAuthToken: () => {
              signed++
              return 'dbc5-iam-token'
            },
            [insecureIamForTests]: true,
          } as never,
        }),
      )
      .handler(async (_event: unknown, context) => {
        const [rows] = await context.db.query('SELECT 1 AS ok')
        return rows
      })
    expect(await handler({}, lambdaContext())).toEqual([{ ok: 1 }])
    expect(await handler({}, lambdaContext())).toEqual([{ ok: 1 }])
    expect(fake.users).toEqual(['iam_user'])
    expect(fake.received).toEqual(['dbc5-iam-token'])
    expect(signed).toBe(1)
    expect(stats().tokensSigned).toBe(1)
  })

  it('without the cleartext plugin, mysql2 refuses the switch: the setting is what makes IAM work', async () => {
    const fake = await startFakeRds('dbc5-iam-token')
    servers.push(fake)
    const plain = mysql.createConnection({
      host: '127.0.0.1',
      port: fake.port,
      user: 'iam_user',
      password: 'dbc5-iam-token',
    })
    const error = await new Promise<{ code?: string }>((resolve) => plain.connect((e) => resolve(e ?? {})))
    plain.destroy()
    expect(error.code).toBe('MYSQL_CLEAR_PASSWORD_NOT_ENABLED')
    expect(fake.received).toEqual([])
  })
})
