// The orders API's HTTP side: the routes over any DbConnection-shaped database handle, and the Middy
// middlewares that parse and answer. Shared by the handler and by its hand-written twin in
// scripts/bench/twins (so that the cold-start comparison differs in the database part alone).
import httpErrorHandler from '@middy/http-error-handler'
import httpJsonBodyParser from '@middy/http-json-body-parser'
import { createError } from '@middy/util'
import type { DbConnection } from '@thaw/db-connection'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import { createOrder, findOrder, parseNewOrder, parseOrderId } from './orders.ts'

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

// A GET has no body: requests that are not JSON pass through unparsed, and POST refuses them below.
export const parseJsonBody = () => httpJsonBodyParser({ disableContentTypeError: true })

// Errors without a 4xx status (a database failure) answer a bare 500: no SQL or host leaks out.
export const answerErrors = () =>
  httpErrorHandler({ logger: (error) => console.error('request failed', (error as Error)?.name) })

export const routeOrderRequest = async (
  event: APIGatewayProxyEventV2,
  db: DbConnection,
): Promise<APIGatewayProxyStructuredResultV2> => {
  switch (event.routeKey) {
    case 'GET /orders/{id}': {
      const order = await findOrder(db, parseOrderId(event.pathParameters?.id))
      if (!order) throw createError(404, JSON.stringify({ message: 'no such order' }))
      return json(200, order)
    }
    case 'POST /orders': {
      const body = event.body as unknown
      if (typeof body !== 'object' || body === null)
        throw createError(415, JSON.stringify({ message: 'send the order as application/json' }))
      const id = await createOrder(db, parseNewOrder(body))
      return json(201, { id })
    }
    default:
      throw createError(404, JSON.stringify({ message: `no route ${event.routeKey}` }))
  }
}
