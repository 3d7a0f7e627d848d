// The MySQL-compatible server the tests, the demo and the benchmarks use.
import { connect } from 'node:net'

import { databaseUrl } from '@thaw/test-support'

// One definition of the database, in @thaw/test-support; re-exported for the scripts that import it here.
export { databaseUrl }

// Fails fast with a clear message instead of letting every test hang on a connect timeout.
export const assertDatabaseAnswers = async (url = databaseUrl(), timeoutMs = 3_000): Promise<void> => {
  const { hostname, port } = new URL(url)
  const where = `${hostname}:${port || 3306}`
  const shownUrl = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port || 3306) })
    const fail = (reason: string) => {
      socket.destroy()
      reject(
        new Error(
          `No MySQL-compatible server answers at ${where} (DATABASE_URL=${shownUrl}): ${reason}.\n` +
            'Start one (MariaDB: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd) ' +
            'or point DATABASE_URL at one.',
        ),
      )
    }
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`))
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message))
    // A MySQL server speaks first: its handshake packet proves it is one.
    socket.once('data', () => {
      socket.destroy()
      resolve()
    })
  })
}

// The PostgreSQL server pg-connection's tests use (PG_URL, or the local one's `test` database): fails
// fast with a clear message instead of letting its tests hang on a connect timeout. A PostgreSQL
// server answers an SSLRequest with one byte, 'S' or 'N', which proves it is one.
export const assertPostgresAnswers = async (
  url = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  timeoutMs = 3_000,
): Promise<void> => {
  const { hostname, port } = new URL(url)
  const where = `${hostname}:${port || 5432}`
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port || 5432) })
    const fail = (reason: string) => {
      socket.destroy()
      reject(
        new Error(
          `No PostgreSQL server answers at ${where}: ${reason}.\n` +
            'Start one (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or point PG_URL at one.',
        ),
      )
    }
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`))
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message))
    socket.once('connect', () => {
      const request = Buffer.alloc(8)
      request.writeInt32BE(8, 0)
      request.writeInt32BE(80877103, 4)
      socket.write(request)
    })
    socket.once('data', (data) => {
      socket.destroy()
      if (data[0] === 0x53 || data[0] === 0x4e) resolve()
      else fail('the server did not answer as PostgreSQL does')
    })
  })
}
