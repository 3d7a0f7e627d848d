// The PostgreSQL fleet's function with @thaw/pg-connection: one short statement per invocation,
// answering with the backend pid of the session it ran on (how the fleet tells which environment holds
// which session; behind a pooler, the pooler's server connection). FLEET_THAW_OPTIONS (JSON) adds
// options: the pooler's day sets proxy: 'transaction'.
import middy from '@middy/core'
import pgConnection from '@thaw/pg-connection'
import type { FleetEvent, FleetResult } from './event.ts'

const extra = JSON.parse(process.env.FLEET_THAW_OPTIONS ?? '{}') as Record<string, unknown>

export const handler = middy<FleetEvent, FleetResult>()
  .use(pgConnection({ ...extra, config: process.env.DATABASE_URL as string }))
  .handler(async (event, context) => {
    const { rows } = await context.db.query('SELECT pg_backend_pid() AS id, pg_sleep($1)', [
      event.workMs / 1000,
    ])
    return { threadId: Number(rows[0]?.id ?? 0) }
  })
