// The second everyday pattern: "create the connection outside the handler". Fast while the
// connection lives; once the server or a proxy closes it during a freeze, every later invocation of
// the environment fails, because a mysql2 Connection never reconnects.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import mysql from 'mysql2/promise'
import { handleOrderRequest } from './orders-plain.ts'

const connecting = mysql.createConnection(process.env.DATABASE_URL as string)
// An init-time connect failure must not crash the module: the handler reports it.
connecting.catch(() => undefined)

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
  handleOrderRequest(await connecting, event)
