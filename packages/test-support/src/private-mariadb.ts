// A private MariaDB for a test file or a benchmark that needs server settings of its own
// (max_connections, wait_timeout, …): the shared server on 3306 is not ours to reconfigure. Started
// from an empty data directory (about a second here, MariaDB 10.11), on a free loopback port, killed
// and deleted by stop(). packages/db-connection/test/tls-server.ts starts one with TLS options.
//
// It needs no client library: readiness is MariaDB's own "ready for connections" line plus a TCP
// connect, so the caller connects with whatever client it tests.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sleep } from './waits.ts'

const run = promisify(execFile)

export interface PrivateMariadbOptions {
  // Server variables as mariadbd options (`max_connections: 40` → --max-connections=40). The server
  // clamps some silently: max_connections is at least 10 on MariaDB 10.11.
  variables?: Record<string, string | number>
  // How long the server may take to say it is ready (a busy 2-core machine: give it room).
  startWithinMs?: number
}

export interface PrivateMariadb {
  host: string
  port: number
  // root over TCP, no password, no database: mysql://root@127.0.0.1:PORT/
  rootUrl: string
  // What the server wrote so far (for a failure message).
  output(): string
  stop(): Promise<void>
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

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })

const optionName = (name: string) => `--${name.replaceAll('_', '-')}`

export const startPrivateMariadb = async (options: PrivateMariadbOptions = {}): Promise<PrivateMariadb> => {
  const startWithinMs = options.startWithinMs ?? 30_000
  const dir = await mkdtemp(join(tmpdir(), 'thaw-private-mariadb-'))
  let server: ChildProcess | undefined
  let output = ''
  const stop = async () => {
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
    try {
      await run('mariadb-install-db', [
        '--no-defaults',
        `--datadir=${join(dir, 'data')}`,
        '--user=root',
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ])
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(
          `private-mariadb: 'mariadb-install-db' is not on PATH (apt-get install mariadb-server)`,
        )
      throw error
    }
    const port = await freePort()
    const variables = Object.entries(options.variables ?? {}).map(
      ([name, value]) => `${optionName(name)}=${value}`,
    )
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
        '--skip-log-bin',
        '--innodb-buffer-pool-size=16M',
        // Host names are never looked up: a connect storm must not wait on DNS.
        '--skip-name-resolve',
        ...variables,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let ready = false
    let exited: string | undefined
    server.stdout?.on('data', (chunk) => (output += chunk))
    server.stderr?.on('data', (chunk) => {
      output += chunk
      if (output.includes('ready for connections')) ready = true
    })
    server.once('error', (error) => {
      exited =
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? `'mariadbd' is not on PATH (apt-get install mariadb-server)`
          : String(error)
    })
    server.once('exit', (code, signal) => {
      exited ??= `mariadbd exited (${code ?? signal}) before it was ready`
    })
    const deadline = Date.now() + startWithinMs
    for (;;) {
      if (exited) throw new Error(`private-mariadb: ${exited}:\n${output}`)
      if (ready && (await accepts(port))) break
      if (Date.now() > deadline)
        throw new Error(`private-mariadb: mariadbd not ready within ${startWithinMs} ms:\n${output}`)
      await sleep(50)
    }
    return {
      host: '127.0.0.1',
      port,
      rootUrl: `mysql://root@127.0.0.1:${port}/`,
      output: () => output,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
