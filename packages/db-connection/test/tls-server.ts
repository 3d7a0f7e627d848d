import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type PrivateMariadb, startPrivateMariadb } from '@thaw/test-support'
import mysql from 'mysql2/promise'

// A private MariaDB with TLS on, for one test file: the shared server on 3306 has TLS off, and its
// configuration is not ours to change. It starts from an empty data directory in about a second,
// listens on loopback only, and is killed and deleted by stop(). The certificates are openssl's.

const run = promisify(execFile)

// Runs a tool, saying which one is missing rather than failing with a bare ENOENT.
const tool = async (command: string, args: string[]) => {
  try {
    return await run(command, args)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `tls-server: '${command}' is not on PATH; the TLS tests need openssl and the MariaDB server (mariadbd, mariadb-install-db), e.g. apt-get install openssl mariadb-server`,
      )
    }
    throw error
  }
}

export interface Certificate {
  // PEM text: cert is also the CA a client trusts (self-signed).
  cert: string
  key: string
}

// A self-signed certificate for 127.0.0.1 (in the subjectAltName, where Node looks for an IP).
export const makeCertificate = async (dir: string, name: string): Promise<Certificate> => {
  const keyPath = join(dir, `${name}-key.pem`)
  const certPath = join(dir, `${name}-cert.pem`)
  await tool('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ])
  return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') }
}

export interface TlsMariadb {
  host: string
  port: number
  // The server certificate's PEM, to pass as `ssl: { ca }`.
  ca: string
  // Another self-signed certificate's PEM: a CA that did not sign the server's certificate.
  strangerCa: string
  // root over TCP, no password, without TLS: for setup and for looking at the server from outside.
  admin(): Promise<mysql.Connection>
  stop(): Promise<void>
}

// The server itself is @thaw/test-support's private MariaDB, started with TLS options.
export const startTlsMariadb = async (): Promise<TlsMariadb> => {
  const dir = await mkdtemp(join(tmpdir(), 'thaw-dbc-tls-'))
  let server: PrivateMariadb | undefined
  let adminConnection: mysql.Connection | undefined
  const stop = async () => {
    await adminConnection?.end().catch(() => {})
    await server?.stop()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const { cert } = await makeCertificate(dir, 'server')
    const stranger = await makeCertificate(dir, 'stranger')
    server = await startPrivateMariadb({
      variables: { ssl_cert: join(dir, 'server-cert.pem'), ssl_key: join(dir, 'server-key.pem') },
    })
    adminConnection = await mysql.createConnection({ host: server.host, port: server.port, user: 'root' })
    const [rows] = await adminConnection.query("SHOW GLOBAL VARIABLES LIKE 'have_ssl'")
    const haveSsl = (rows as { Value: string }[])[0]?.Value
    if (haveSsl !== 'YES')
      throw new Error(`tls-server: mariadbd started with have_ssl=${haveSsl}:\n${server.output()}`)
    const connection = adminConnection
    return {
      host: server.host,
      port: server.port,
      ca: cert,
      strangerCa: stranger.cert,
      admin: async () => connection,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
