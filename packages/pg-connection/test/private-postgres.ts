// A private PostgreSQL (the machine's own binaries) in a temporary directory, on a free port, that
// asks every role but postgres for a password (scram-sha-256) and speaks TLS with a certificate made
// here by openssl: what rotation (28P01) and IAM tokens need, which the shared trust-auth server
// cannot show. Run as the postgres user when the tests run as root (PostgreSQL refuses root).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep, withDeadline } from '@thaw/test-support'
import pg from 'pg'
import { freePort } from './free-port.ts'

export interface PrivatePostgres {
  port: number
  // The server's certificate, for a client's ssl.ca.
  ca: string
  admin: pg.Client
  // The data directory (its log/ holds the server's log when logging_collector is on).
  data: string
  stop(): Promise<void>
}

const binaries = () => {
  const versions = readdirSync('/usr/lib/postgresql').sort()
  return join('/usr/lib/postgresql', versions[versions.length - 1] as string, 'bin')
}

// `settings`: server settings for this instance alone (`-c name=value`), e.g. a small max_connections.
export const startPrivatePostgres = async (
  settings: Record<string, string | number> = {},
): Promise<PrivatePostgres> => {
  const directory = mkdtempSync(join(tmpdir(), 'thaw-pg-'))
  const data = join(directory, 'data')
  const asRoot = process.getuid?.() === 0
  const ids = asRoot
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
      }
    : {}
  if (ids.uid !== undefined) chownSync(directory, ids.uid, ids.gid as number)
  execFileSync(join(binaries(), 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8'], {
    ...ids,
    stdio: 'ignore',
    timeout: 60_000,
  })
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(data, 'server.key'),
      '-out',
      join(data, 'server.crt'),
    ],
    { stdio: 'ignore', timeout: 30_000 },
  )
  if (ids.uid !== undefined) {
    for (const file of ['server.key', 'server.crt']) chownSync(join(data, file), ids.uid, ids.gid as number)
  }
  execFileSync('chmod', ['600', join(data, 'server.key')])
  writeFileSync(
    join(data, 'pg_hba.conf'),
    ['host all postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
  )
  if (ids.uid !== undefined) chownSync(join(data, 'pg_hba.conf'), ids.uid, ids.gid as number)
  const port = await freePort()
  const child: ChildProcess = spawn(
    join(binaries(), 'postgres'),
    [
      ...[
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        directory,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'ssl=on',
      ],
      ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    { ...ids, stdio: 'ignore' },
  )
  let exited = false
  child.once('exit', () => {
    exited = true
  })
  const deadline = Date.now() + 30_000
  let admin: pg.Client | undefined
  while (!admin) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' })
    client.on('error', () => {})
    try {
      await client.connect()
      admin = client
    } catch {
      if (exited || Date.now() > deadline) {
        child.kill('SIGKILL')
        rmSync(directory, { recursive: true, force: true })
        throw new Error(`the private PostgreSQL did not answer on port ${port} within 30000 ms`)
      }
      await sleep(100)
    }
  }
  return {
    port,
    ca: readFileSync(join(data, 'server.crt'), 'utf8'),
    admin,
    data,
    stop: async () => {
      await admin.end().catch(() => {})
      if (!exited) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        // SIGINT: fast shutdown.
        child.kill('SIGINT')
        // Bounded, and the bound's timer cleared once it exited: a pending one held jest past its end.
        await withDeadline(gone, 10_000, 'the private PostgreSQL stopping').catch(() => {})
        if (!exited) child.kill('SIGKILL')
      }
      rmSync(directory, { recursive: true, force: true })
    },
  }
}
