// The fleet's function with "create the connection outside the handler": one mysql2 connection
// opened at init and used by every invocation; it never reconnects.
import mysql from 'mysql2/promise'
import type { FleetEvent, FleetResult } from './event.ts'

const connecting = mysql.createConnection(process.env.DATABASE_URL as string)
// An init-time connect failure must not crash the module: every invocation reports it.
connecting.catch(() => undefined)

export const handler = async (event: FleetEvent): Promise<FleetResult> => {
  const connection = await connecting
  const [rows] = await connection.query('SELECT CONNECTION_ID() AS id, SLEEP(?) AS slept', [
    event.workMs / 1000,
  ])
  return { threadId: (rows as { id: number }[])[0]?.id ?? 0 }
}
