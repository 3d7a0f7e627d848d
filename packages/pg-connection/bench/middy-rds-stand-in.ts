// A stand-in for @middy/rds 7.8 with its pg.Pool adapter (`client: clientPgPool`), which is not on the
// npm registry this project installs from. Written here from its source (packages/rds/index.js and
// clientPgPool.js of middyjs/middy), doing what it does on a warm invocation with its defaults:
// the adapter is `config => new pg.Pool(config)`, built once per process through @middy/util's
// processCache (cacheExpiry -1: kept forever; prefetched when the middleware is constructed); `before`
// awaits the cached pool and assigns it to context.rds; `after` and `onError` are async and end the
// pool only when cacheExpiry is 0. The handler's `context.rds.query()` is pg.Pool's: it checks a
// client out, runs the statement and checks it back in, every call.
import type middy from '@middy/core'
import { processCache } from '@middy/util'
import pg from 'pg'

export interface RdsStandInOptions {
  config: pg.PoolConfig & { host: string }
  contextKey?: string
}

export const middyRdsStandIn = ({ config, contextKey = 'rds' }: RdsStandInOptions): middy.MiddlewareObj => {
  const options = { cacheKey: '@middy/rds', cacheKeyExpiry: {}, cacheExpiry: -1 }
  const fetch = () => new pg.Pool(config)
  processCache(options, fetch)
  const after = async (request: middy.Request) => {
    if (options.cacheExpiry === 0)
      await (request.context as unknown as Record<string, pg.Pool>)[contextKey]?.end()
  }
  return {
    before: async (request) => {
      const { value } = processCache(options, fetch, request)
      Object.assign(request.context, { [contextKey]: await value })
    },
    after,
    onError: after,
  }
}
