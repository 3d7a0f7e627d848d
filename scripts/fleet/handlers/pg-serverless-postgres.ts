// The PostgreSQL fleet's function with serverless-postgres 2.1.2 as its README recommends: one
// module-level ServerlessClient, `connect()` and the query in the handler, `await client.clean()`
// before returning (which, above connUtilization 0.8 of maxConnections, pg_terminate_backends the
// sessions of its user, database and application_name idle for minConnectionIdleTimeSec), maxConnections
// set to the server's max_connections ("I highly suggest to set this yourself"), everything else at its
// defaults.
import ServerlessClient from 'serverless-postgres'
import type { FleetEvent, FleetResult } from './event.ts'

const client = new ServerlessClient({
  connectionString: process.env.DATABASE_URL as string,
  maxConnections: Number(process.env.FLEET_MAX_CONNECTIONS),
})

export const handler = async (event: FleetEvent): Promise<FleetResult> => {
  await client.connect()
  const { rows } = await client.query('SELECT pg_backend_pid() AS id, pg_sleep($1)', [event.workMs / 1000])
  await client.clean()
  return { threadId: Number(rows[0]?.id ?? 0) }
}
