// The PostgreSQL fleet's function with "create the connection outside the handler": one pg.Client
// connected at init and used by every invocation; it never reconnects.
import pg from 'pg'
import type { FleetEvent, FleetResult } from './event.ts'

const client = new pg.Client({ connectionString: process.env.DATABASE_URL as string })
// A session the server ends while the environment is frozen is an 'error' event: without a listener
// it would end the process; the next invocation fails instead, as it would on Lambda.
client.on('error', () => {})
const connecting = client.connect().then(() => client)
// An init-time connect failure must not crash the module: every invocation reports it.
connecting.catch(() => undefined)

export const handler = async (event: FleetEvent): Promise<FleetResult> => {
  const connected = await connecting
  const { rows } = await connected.query('SELECT pg_backend_pid() AS id, pg_sleep($1)', [event.workMs / 1000])
  return { threadId: Number(rows[0]?.id ?? 0) }
}
