// An HTTP API (API Gateway v2) over orders in MySQL:
//   GET  /orders/{id}  → 200 the order, 404, or 400 for an id that is not one
//   POST /orders       → 201 { id } (the order and its lines in one transaction), or 400 with a reason
// The database user and password come from a Secrets Manager secret (RDS shape), read once per
// environment and read again only when the database refuses them after a rotation.
import middy from '@middy/core'
import dbConnection from '@thaw/db-connection'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import { answerErrors, parseJsonBody, routeOrderRequest } from './http.ts'

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
  .use(parseJsonBody())
  .use(answerErrors())
  .handler((event, context) => routeOrderRequest(event, context.db))
