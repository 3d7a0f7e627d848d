// examples/orders-api with what thaw adds to a new connection turned off (no idle limit, no fullness
// read, no session reset, no statement deadline): against the example, what those cost in its first
// invocation. Run it as orders-twin-loading-thaw.ts says.
import middy from '@middy/core'
import dbConnection from '@thaw/db-connection'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import { answerErrors, parseJsonBody, routeOrderRequest } from '../../../examples/orders-api/src/http.ts'

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(
    dbConnection({
      config: process.env.DATABASE_URL ?? 'mysql://127.0.0.1:3306/orders',
      secret: {
        secretId: process.env.DB_SECRET_ID ?? 'orders-api/db',
        sdk: () => import('@aws-sdk/client-secrets-manager'),
      },
      fleet: { idleTimeoutMs: 0, giveBackAbove: false },
      resetSession: 'never',
      statementMarginMs: 0,
    }),
  )
  .use(parseJsonBody())
  .use(answerErrors())
  .handler((event, context) => routeOrderRequest(event, context.db))
