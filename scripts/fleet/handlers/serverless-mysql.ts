// The fleet's function with serverless-mysql 2.1, as its README recommends: one module-level instance,
// query in the handler, `await mysql.end()` before returning (which, above connUtilization 0.8 of
// max_connections, KILLs this user's sleeping sessions older than zombieMinTimeout, or quits), with
// mysql2 as its library and every other setting at its default.
// It is a devDependency of @thaw/db-connection (its benchmark's variant): imported from there so that
// the workspace root gains no dependency for one benchmark.
import mysql2 from 'mysql2'
import serverlessMysql from '../../../packages/db-connection/node_modules/serverless-mysql/index.js'
import type { FleetEvent, FleetResult } from './event.ts'

const url = new URL(process.env.DATABASE_URL as string)
const client = serverlessMysql({
  config: {
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1),
  },
  library: mysql2 as never,
})

export const handler = async (event: FleetEvent): Promise<FleetResult> => {
  const rows = await client.query<{ id: number }[]>('SELECT CONNECTION_ID() AS id, SLEEP(?) AS slept', [
    event.workMs / 1000,
  ])
  await client.end()
  return { threadId: rows[0]?.id ?? 0 }
}
