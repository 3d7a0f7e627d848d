// An HTTP API (API Gateway v2) over orders in MySQL:
//   GET  /orders/{id}  → 200 the order, 404, or 400 for an id that is not one
//   POST /orders       → 201 { id } (the order and its lines in one transaction), or 400 with a reason
// The database user and password come from a Secrets Manager secret (RDS shape), read once per
// environment and read again only when the database refuses them after a rotation.
import middy from '@middy/core'
import httpErrorHandler from '@middy/http-error-handler'
import httpJsonBodyParser from '@middy/http-json-body-parser'
import { createError } from '@middy/util'
import dbConnection from '@thaw/db-connection'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import { createOrder, findOrder, parseNewOrder, parseOrderId } from './orders.ts'

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(
    dbConnection({
      config: process.env.DATABASE_URL ?? 'mysql://127.0.0.1:3306/orders',
      secret: {
        secretId: process.env.DB_SECRET_ID ?? 'orders-api/db',
        // The Secrets Manager client goes into the bundle (a pinned SDK version, tree-shaken); leave
        // `sdk` out to take the copy the Lambda runtime ships.
        sdk: () => import('@aws-sdk/client-secrets-manager'),
      },
    }),
  )
  // A GET has no body: requests that are not JSON pass through unparsed, and POST refuses them below.
  .use(httpJsonBodyParser({ disableContentTypeError: true }))
  // Errors without a 4xx status (a database failure) answer a bare 500: no SQL or host leaks out.
  .use(httpErrorHandler({ logger: (error) => console.error('request failed', (error as Error)?.name) }))
  .handler(async (event, context) => {
    switch (event.routeKey) {
      case 'GET /orders/{id}': {
        const order = await findOrder(context.db, parseOrderId(event.pathParameters?.id))
        if (!order) throw createError(404, JSON.stringify({ message: 'no such order' }))
        return json(200, order)
      }
      case 'POST /orders': {
        const body = event.body as unknown
        if (typeof body !== 'object' || body === null)
          throw createError(415, JSON.stringify({ message: 'send the order as application/json' }))
        const id = await createOrder(context.db, parseNewOrder(body))
        return json(201, { id })
      }
      default:
        throw createError(404, JSON.stringify({ message: `no route ${event.routeKey}` }))
    }
  })
