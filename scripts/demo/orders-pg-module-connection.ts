// The second everyday pattern on PostgreSQL: one pg.Client "outside the handler". Fast while its
// session lives; a pg.Client never reconnects, so once the server ends the session during a freeze
// (pg_terminate_backend, idle_session_timeout, a failover) the environment's later invocations fail.
// As most such handlers are written, nothing listens for the client's 'error' event.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import pg from 'pg'
import { handleOrderRequest, onOneClient } from './orders-pg-plain.ts'

const client = new pg.Client({ connectionString: process.env.DATABASE_URL as string })
const connecting = client.connect().then(() => client)
// An init-time connect failure must not crash the module: the handler reports it.
connecting.catch(() => undefined)

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
  handleOrderRequest(onOneClient(await connecting), event)
