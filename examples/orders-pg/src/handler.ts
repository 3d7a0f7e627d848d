// An HTTP API (API Gateway v2) over orders in PostgreSQL:
//   GET  /orders/{id}  → 200 the order, 404, or 400 for an id that is not one
//   POST /orders       → 201 { id } (the order and its lines in one transaction), or 400 with a reason
// The database user and password come from a Secrets Manager secret (RDS shape), read once per
// environment and read again only when the database refuses them after a rotation (28P01).

import middy from '@middy/core'
import httpErrorHandler from '@middy/http-error-handler'
import httpJsonBodyParser from '@middy/http-json-body-parser'
import pgConnection from '@thaw/pg-connection'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import { routeOrderRequest } from './orders.ts'

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(
    pgConnection({
      config: process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/orders',
      secret: {
        secretId: process.env.DB_SECRET_ID ?? 'orders-pg/db',
        sdk: () => import('@aws-sdk/client-secrets-manager'),
      },
    }),
  )
  // A GET has no body: requests that are not JSON pass through unparsed, and POST refuses them.
  .use(httpJsonBodyParser({ disableContentTypeError: true }))
  // Errors without a 4xx status (a database failure) answer a bare 500: no SQL or host leaks out.
  .use(httpErrorHandler({ logger: (error) => console.error('request failed', (error as Error)?.name) }))
  .handler((event, context) => routeOrderRequest(event, context.db))
