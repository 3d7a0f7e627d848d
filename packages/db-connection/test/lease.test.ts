import { execFileSync } from 'node:child_process'
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { closePools, type DbConnectionLogEvent, dbConnectionStats } from '../src/index.ts'
import { inProcessFunction } from './helpers.ts'
import { startTlsMariadb, type TlsMariadb } from './tls-server.ts'

// Leasing an idle connection (lease.ts): one whose death is already known without a round trip is
// replaced before the handler's first statement, and costs no ping.

// Ends session `id` on the server and returns once the server no longer lists it (its socket is
// closed, the FIN in this process's receive buffer on loopback), blocking this process's event loop
// all the while, as a freeze does: a child process does the work (execFileSync), so that the FIN
// reaches the socket while nothing here runs, and the next callback to run sees it with the
// invocation. Throws past its deadline.
const endSessionWhileBlocked = (server: { host: string; port: number }, id: number, deadlineMs = 10_000) => {
  const script = `
    import mysql from 'mysql2/promise'
    const db = await mysql.createConnection({ host: ${JSON.stringify(server.host)}, port: ${server.port}, user: 'root' })
    await db.query('KILL CONNECTION ?', [${id}])
    const deadline = Date.now() + ${deadlineMs}
    for (;;) {
      const [rows] = await db.query('SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?', [${id}])
      if (rows.length === 0) break
      if (Date.now() > deadline) { console.error('session ${id} still listed'); process.exit(1) }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await db.end()
  `
  execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: dirname(fileURLToPath(import.meta.url)),
    timeout: deadlineMs + 5_000,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
}

describe('an idle connection the server closed while the process could not run', () => {
  // Over TLS, mysql2 3.24.6 (Connection.startTLS) reads data and errors from the TLS socket, and learns
  // that the server went away only from the TCP socket's 'close' (PROTOCOL_CONNECTION_LOST), which
  // Node emits in the event loop's close phase: after the setImmediate lease.ts polls with. The TLS
  // socket has ended by then (readableEnded), and the connection is still in the pool's free list:
  // only lease.ts's look at the socket's state keeps it from the handler.
  let tls: TlsMariadb
  const database = 'dbc_lease'
  const user = 'dbc_lease'
  const password = 'lease-pw'
  beforeAll(async () => {
    tls = await startTlsMariadb()
    const db = await tls.admin()
    await db.query(`CREATE DATABASE ${database}`)
    await db.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password])
    await db.query(`GRANT ALL ON ${database}.* TO ?@?`, [user, '%'])
  }, 60_000)
  afterAll(async () => {
    await closePools()
    await tls?.stop()
  })

  // Two ends of a loopback TCP connection, both in this process.
  let trigger: { server: Socket; client: Socket; close(): void }
  beforeAll(async () => {
    const listener = createServer()
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
    const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve))
    const client = tcpConnect((listener.address() as AddressInfo).port, '127.0.0.1')
    const server = await accepted
    trigger = {
      server,
      client,
      close: () => {
        client.destroy()
        server.destroy()
        listener.close()
      },
    }
  })
  afterAll(() => trigger?.close())

  it('is replaced before the handler’s first statement, unseen by the handler, without a ping', async () => {
    const logged: DbConnectionLogEvent[] = []
    const invoke = inProcessFunction({
      config: { host: tls.host, port: tls.port, user, password, database, ssl: { ca: tls.ca } },
      // No ping on the way: only what is known without a round trip can find the connection dead.
      validateAfterIdleMs: 3_600_000,
      fleet: { giveBackAbove: false },
      logger: (event) => logged.push(event),
    })
    type Db = Parameters<Parameters<typeof invoke>[0]>[0]
    const connectionId = (db: Db) =>
      db.query('SELECT CONNECTION_ID() AS id').then(([rows]) => (rows as [{ id: number }])[0].id)
    const first = await invoke(connectionId)
    // Idle in the pool (a second invocation reuses it).
    expect(await invoke(connectionId)).toBe(first)
    const before = dbConnectionStats()
    // The invocation arrives as after a thaw: in the same poll as the FIN the server sent while this
    // process could not run. Its trigger is a byte on a local socket, written before the loop blocks;
    // both are waiting when the loop polls again.
    const second = await new Promise<number>((resolve, reject) => {
      trigger.client.once('data', () => invoke(connectionId).then(resolve, reject))
      trigger.server.write('x')
      try {
        endSessionWhileBlocked(tls, first)
      } catch (error) {
        reject(error)
      }
    })
    const after = dbConnectionStats()
    expect(second).not.toBe(first)
    expect({
      replacements: after.replacements - before.replacements,
      validations: after.validations - before.validations,
      connectionsOpened: after.connectionsOpened - before.connectionsOpened,
    }).toEqual({ replacements: 1, validations: 0, connectionsOpened: 1 })
    expect(logged).toContainEqual(
      expect.objectContaining({
        event: 'replaced',
        message: 'replaced a connection that died while idle',
        threadId: first,
      }),
    )
  })
})
