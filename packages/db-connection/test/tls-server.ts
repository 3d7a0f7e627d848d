import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import mysql from 'mysql2/promise'

// A private MariaDB with TLS on, for one test file: the shared server on 3306 has TLS off, and its
// configuration is not ours to change. It starts from an empty data directory in about a second,
// listens on loopback only, and is killed and deleted by stop().

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

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

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

export const startTlsMariadb = async (): Promise<TlsMariadb> => {
  const dir = await mkdtemp(join(tmpdir(), 'thaw-dbc-tls-'))
  let server: ChildProcess | undefined
  let adminConnection: mysql.Connection | undefined
  const stop = async () => {
    await adminConnection?.end().catch(() => {})
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve))
      server.kill('SIGTERM')
      const timer = setTimeout(() => server?.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const { cert } = await makeCertificate(dir, 'server')
    const stranger = await makeCertificate(dir, 'stranger')
    await tool('mariadb-install-db', [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      '--user=root',
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ])
    const port = await freePort()
    let output = ''
    server = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${join(dir, 'data')}`,
        '--user=root',
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(dir, 'sock')}`,
        `--pid-file=${join(dir, 'pid')}`,
        `--ssl-cert=${join(dir, 'server-cert.pem')}`,
        `--ssl-key=${join(dir, 'server-key.pem')}`,
        '--skip-log-bin',
        '--innodb-buffer-pool-size=16M',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const failedToStart = new Promise<never>((_, reject) => {
      server?.once('error', (error) =>
        reject(
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? new Error(`tls-server: 'mariadbd' is not on PATH (apt-get install mariadb-server)`)
            : error,
        ),
      )
      server?.once('exit', (code) =>
        reject(new Error(`tls-server: mariadbd exited (${code}) before answering:\n${output}`)),
      )
    })
    failedToStart.catch(() => {})
    server.stdout?.on('data', (chunk) => (output += chunk))
    server.stderr?.on('data', (chunk) => (output += chunk))
    const connect = async () => {
      const deadline = Date.now() + 20_000
      for (;;) {
        try {
          return await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' })
        } catch {
          // Not listening yet.
          if (Date.now() > deadline)
            throw new Error(`tls-server: mariadbd did not answer in 20 s:\n${output}`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    }
    adminConnection = await Promise.race([connect(), failedToStart])
    const [rows] = await adminConnection.query("SHOW GLOBAL VARIABLES LIKE 'have_ssl'")
    const haveSsl = (rows as { Value: string }[])[0]?.Value
    if (haveSsl !== 'YES')
      throw new Error(`tls-server: mariadbd started with have_ssl=${haveSsl}:\n${output}`)
    const connection = adminConnection
    return {
      host: '127.0.0.1',
      port,
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
