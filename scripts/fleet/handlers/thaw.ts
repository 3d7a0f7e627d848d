// The fleet's function with @thaw/db-connection: one short statement per invocation, answering with
// the server's thread id of the session it ran on (how the benchmark tells which environment holds
// which session). FLEET_THAW_OPTIONS (JSON) adds options, to compare settings in one build.
import middy from '@middy/core'
import dbConnection from '@thaw/db-connection'
import type { FleetEvent, FleetResult } from './event.ts'

const extra = JSON.parse(process.env.FLEET_THAW_OPTIONS ?? '{}') as Record<string, unknown>

export const handler = middy<FleetEvent, FleetResult>()
  .use(dbConnection({ ...extra, config: process.env.DATABASE_URL as string }))
  .handler(async (event, context) => {
    const [rows] = await context.db.query('SELECT CONNECTION_ID() AS id, SLEEP(?) AS slept', [
      event.workMs / 1000,
    ])
    return { threadId: (rows as { id: number }[])[0]?.id ?? 0 }
  })
