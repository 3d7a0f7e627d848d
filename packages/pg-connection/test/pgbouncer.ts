// A private pgbouncer (the Debian package) in transaction pooling mode, on a free port, with its own
// configuration file in a temporary directory, in front of the test's PostgreSQL.
import { type ChildProcess, spawn } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep, withDeadline } from '@thaw/test-support'
import { freePort } from './free-port.ts'

export interface Pgbouncer {
  port: number
  stop(): Promise<void>
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })

export const pgbouncerBinary = process.env.PGBOUNCER ?? '/usr/sbin/pgbouncer'

// `users`: the roles that may log in (auth_type trust still needs each name in auth_file).
// `password`: what pgbouncer logs in to the server with for each of them (none by default);
// `poolSize`: server connections per user and database; `maxClientConn`: pgbouncer's own limit.
export const startPgbouncer = async (
  target: { host: string; port: number; database: string },
  users: readonly string[],
  { password = '', poolSize = 2, maxClientConn = 100 } = {},
): Promise<Pgbouncer> => {
  const directory = mkdtempSync(join(tmpdir(), 'thaw-pgbouncer-'))
  const port = await freePort()
  const config = join(directory, 'pgbouncer.ini')
  writeFileSync(
    config,
    [
      '[databases]',
      `${target.database} = host=${target.host} port=${target.port} dbname=${target.database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(directory, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      `max_client_conn = ${maxClientConn}`,
      `logfile = ${join(directory, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  )
  writeFileSync(join(directory, 'userlist.txt'), users.map((user) => `"${user}" "${password}"\n`).join(''))
  // pgbouncer refuses to run as root: as the postgres user then, which must read its directory.
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const { execFileSync } = await import('node:child_process')
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString())
    for (const file of ['', 'pgbouncer.ini', 'userlist.txt']) chownSync(join(directory, file), uid, gid)
  }
  const child: ChildProcess = spawn(pgbouncerBinary, [...(asRoot ? ['-u', 'postgres'] : []), config], {
    stdio: 'ignore',
  })
  let exited = false
  child.once('exit', () => {
    exited = true
  })
  const deadline = Date.now() + 10_000
  while (!(await answers(port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL')
      rmSync(directory, { recursive: true, force: true })
      throw new Error(
        `pgbouncer did not answer on port ${port} within 10000 ms${exited ? ' (it exited)' : ''}`,
      )
    }
    await sleep(50)
  }
  return {
    port,
    stop: async () => {
      if (!exited) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        child.kill('SIGTERM')
        // Bounded, and the bound's timer cleared once it exited: a pending one held jest past its end.
        await withDeadline(gone, 5_000, 'pgbouncer stopping').catch(() => {})
        if (!exited) child.kill('SIGKILL')
      }
      rmSync(directory, { recursive: true, force: true })
    },
  }
}
