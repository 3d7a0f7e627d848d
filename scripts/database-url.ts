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
