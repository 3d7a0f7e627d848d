import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Duplex } from 'node:stream'
import { createSecureContext, TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import mysql from 'mysql2'
import dbConnection, { closePools, type DbConnectionContext, dbConnectionStats } from '../src/index.ts'
import { type Certificate, makeCertificate } from './tls-server.ts'

// RDS IAM authentication asks the client to switch to mysql_clear_password and send the token as is.
// MariaDB cannot ask for that (it has no cleartext server plugin), so this test stands up a fake server
// made of mysql2's own server-side protocol code, which asks for that switch as RDS does, and reads
// what the client sends. mysql2's server side has no TLS upgrade, so the fake does the MySQL SSLRequest
// step itself (greeting, SSLRequest, TLS handshake with a self-signed certificate the client verifies)
// and hands the encrypted stream to mysql2's server code from the client's HandshakeResponse on.

const require = createRequire(import.meta.url)
const mysql2Lib = join(dirname(require.resolve('mysql2/package.json')), 'lib')
const AuthSwitchRequest = require(join(mysql2Lib, 'packets/auth_switch_request.js'))
const Handshake = require(join(mysql2Lib, 'packets/handshake.js'))
const ServerHandshake = require(join(mysql2Lib, 'commands/server_handshake.js'))
const ServerConnection = require(join(mysql2Lib, 'connection.js'))
const ConnectionConfig = require(join(mysql2Lib, 'connection_config.js'))
const CharsetToEncoding = require(join(mysql2Lib, 'constants/charset_encodings.js'))
const CLIENT_SSL = 0x800
const CLIENT_SESSION_TRACK = 0x800000

interface FakeRds {
  port: number
  // What each connection sent after the switch: the cleartext password, as received.
  received: string[]
  users: string[]
  // The TLS version of each connection that completed the TLS handshake.
  tlsVersions: string[]
  // Every byte that crossed the TCP connections from the clients (before decryption).
  wire: Buffer[]
  close(): Promise<void>
}

// mysql2's ServerHandshake picked up after the TLS upgrade: the greeting has gone out already (in
// clear, as the protocol wants), the next packet is the HandshakeResponse with sequence id 2.
// biome-ignore lint/suspicious/noExplicitAny: mysql2's server API has no typings
const resumedHandshake = (args: Record<string, unknown>, hello: any) => {
  const command = new ServerHandshake(args)
  // biome-ignore lint/suspicious/noExplicitAny: mysql2's server API has no typings
  command.start = (_packet: unknown, connection: any) => {
    command.serverHello = hello
    connection.sequenceId = 2
    return ServerHandshake.prototype.readClientReply
  }
  return command
}

// Reads the first client packet from the raw socket; everything after it (the TLS ClientHello may
// come in the same chunk) goes on through a Duplex, so the TLS layer sees every byte.
const readSslRequest = (socket: Socket, wire: Buffer[]) =>
  new Promise<{ flags: number; rest: Duplex }>((resolve, reject) => {
    let buffered = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      wire.push(chunk)
      buffered = Buffer.concat([buffered, chunk])
      if (buffered.length < 4) return
      const length = buffered.readUIntLE(0, 3)
      if (buffered.length < 4 + length) return
      socket.off('data', onData)
      const flags = buffered.readUInt32LE(4)
      const rest = new Duplex({
        read() {},
        write(data, _encoding, callback) {
          socket.write(data, callback)
        },
        final(callback) {
          socket.end()
          callback()
        },
      })
      const after = buffered.subarray(4 + length)
      if (after.length > 0) rest.push(after)
      socket.on('data', (data: Buffer) => {
        wire.push(data)
        rest.push(data)
      })
      socket.on('end', () => rest.push(null))
      socket.on('close', () => rest.destroy())
      // A HandshakeResponse in clear has more than the 32 bytes of an SSLRequest.
      resolve({ flags: length === 32 ? flags : 0, rest })
    }
    socket.on('data', onData)
    socket.once('error', reject)
  })

// Accepts a connection only over TLS, and only when the client answers the switch to
// mysql_clear_password with `token`.
// `sessionTrack`: whether the greeting offers CLIENT_SESSION_TRACK. mysql2's server code cannot report
// session changes and never answers a SET (it hands SETs to a 'stmt_prepare' listener, 3.24.6), so by
// default the fake does not offer it, as a server without session tracking would not.
const startFakeRds = async (
  token: string,
  certificate: Certificate,
  { sessionTrack = false }: { sessionTrack?: boolean } = {},
): Promise<FakeRds> => {
  const received: string[] = []
  const users: string[] = []
  const tlsVersions: string[] = []
  const wire: Buffer[] = []
  const secureContext = createSecureContext({ key: certificate.key, cert: certificate.cert })
  let nextId = 1
  const args = {
    protocolVersion: 10,
    serverVersion: '8.0.36-fake-rds',
    statusFlags: 2,
    characterSet: 8,
    // CLIENT_SSL on; without CLIENT_CONNECT_ATTRS: mysql2's server-side parser trips over some
    // attribute lists.
    capabilityFlags: sessionTrack ? 0xe7ffff : 0xe7ffff & ~CLIENT_SESSION_TRACK,
  }
  const sockets = new Set<Socket>()
  const server = createServer(async (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const connectionArgs: Record<string, unknown> = { ...args, connectionId: nextId++ }
    const hello = new Handshake(connectionArgs)
    await new Promise((resolve) => hello.setScrambleData(resolve))
    const greeting = hello.toPacket(0)
    greeting.writeHeader(0)
    socket.write(greeting.buffer)
    const { flags, rest } = await readSslRequest(socket, wire)
    // Like RDS with require_secure_transport: no TLS, no login.
    if ((flags & CLIENT_SSL) === 0) {
      socket.destroy()
      return
    }
    const secure = new TLSSocket(rest, { isServer: true, secureContext })
    secure.on('error', () => {})
    secure.once('secure', () => tlsVersions.push(String(secure.getProtocol())))
    const connection = new ServerConnection({
      config: new ConnectionConfig({ stream: secure, isServer: true }),
    })
    let finishAuth: ((error: null, mysqlError?: { message: string; code: number }) => void) | undefined
    connectionArgs.authCallback = (params: { user: string }, callback: typeof finishAuth) => {
      users.push(params.user)
      finishAuth = callback
      // As RDS does for an IAM user: switch to the cleartext plugin, no plugin data.
      connection.writePacket(
        new AuthSwitchRequest({
          pluginName: 'mysql_clear_password',
          pluginData: Buffer.alloc(0),
        }).toPacket(),
      )
    }
    connection.serverConfig = connectionArgs
    connection.serverConfig.encoding = CharsetToEncoding[args.characterSet]
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
    connection.addCommand(resumedHandshake(connectionArgs, hello))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    received,
    users,
    tlsVersions,
    wire,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      }),
  }
}

let certificate: Certificate
let certificateDir: string
beforeAll(async () => {
  certificateDir = await mkdtemp(join(tmpdir(), 'thaw-dbc-fake-rds-'))
  certificate = await makeCertificate(certificateDir, 'fake-rds')
})

const servers: FakeRds[] = []
afterAll(async () => {
  await closePools()
  await Promise.all(servers.map((server) => server.close()))
  await rm(certificateDir, { recursive: true, force: true })
})

const lambdaContext = () =>
  ({ getRemainingTimeInMillis: () => 3_000, functionName: 'dbc5-iam' }) as unknown as DbConnectionContext

describe('iam: the token as a cleartext password', () => {
  it('answers mysql_clear_password with the token, one token per new connection', async () => {
    const fake = await startFakeRds('dbc5-iam-token', certificate)
    servers.push(fake)
    let signed = 0
    const handler = middy()
      .use(
        dbConnection({
          config: {
            host: '127.0.0.1',
            port: fake.port,
            user: 'iam_user',
            database: 'app',
            ssl: { ca: certificate.cert },
          },
          iam: {
            getAuthToken: () => {
              signed++
              return 'dbc5-iam-token'
            },
          },
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
    expect(dbConnectionStats().tokensSigned).toBe(1)
    // The token went through TLS: the one connection was encrypted, and it is nowhere on the wire.
    expect(fake.tlsVersions).toHaveLength(1)
    expect(fake.tlsVersions[0]).toMatch(/^TLSv1\.[23]$/)
    expect(Buffer.concat(fake.wire).includes('dbc5-iam-token')).toBe(false)
  })

  it('without the cleartext plugin, mysql2 refuses the switch: the setting is what makes IAM work', async () => {
    const fake = await startFakeRds('dbc5-iam-token', certificate)
    servers.push(fake)
    const plain = mysql.createConnection({
      host: '127.0.0.1',
      port: fake.port,
      user: 'iam_user',
      password: 'dbc5-iam-token',
      ssl: { ca: certificate.cert },
    })
    const error = await new Promise<{ code?: string }>((resolve) => plain.connect((e) => resolve(e ?? {})))
    plain.destroy()
    expect(error.code).toBe('MYSQL_CLEAR_PASSWORD_NOT_ENABLED')
    expect(fake.received).toEqual([])
    // Over TLS as well: the refusal is the plugin's, not the transport's.
    expect(fake.tlsVersions).toHaveLength(1)
  })

  it('a server that offers session tracking but never answers the SET costs one connection and validateTimeoutMs, once', async () => {
    const fake = await startFakeRds('dbc5-iam-token', certificate, { sessionTrack: true })
    servers.push(fake)
    const handler = middy()
      .use(
        dbConnection({
          config: {
            host: '127.0.0.1',
            port: fake.port,
            user: 'iam_user_silent',
            database: 'app',
            ssl: { ca: certificate.cert },
          },
          validateTimeoutMs: 300,
          iam: { getAuthToken: () => 'dbc5-iam-token' },
        }),
      )
      .handler(async (_event: unknown, context) => {
        const [rows] = await context.db.query('SELECT 1 AS ok')
        return rows
      })
    const started = Date.now()
    expect(await handler({}, lambdaContext())).toEqual([{ ok: 1 }])
    // The SET's deadline, then one new connection that is not asked again.
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
    expect(fake.received).toHaveLength(2)
    expect(await handler({}, lambdaContext())).toEqual([{ ok: 1 }])
    expect(await handler({}, lambdaContext())).toEqual([{ ok: 1 }])
    expect(fake.received).toHaveLength(2)
  })
})
