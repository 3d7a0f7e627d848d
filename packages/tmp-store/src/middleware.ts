// The Middy middleware: opens this directory's store at init (when the handler module loads, so a
// bad option fails the init and the index is rebuilt before the first request) and puts it on the
// context in `before`. Nothing is closed in `after`: the files are the point of the store.
import type { MiddlewareObj } from '@middy/core'
import { type TmpStoreOptions, tmpStoreValidateOptions } from './options.ts'
import { openTmpStore } from './registry.ts'
import type { TmpStoreContext } from './types.ts'

/**
 * The middleware: opens the directory's store at init and puts it on the context.
 * @example
 * export const handler = middy()
 *   .use(tmpStore({ maxBytes: 2 * 1024 ** 3 }))
 *   .handler(async (event, context) => {
 *     const { path } = await context.tmp.getOrFetch('model.onnx', () => download(url))
 *     return infer(path, event)
 *   })
 */
const tmpStoreMiddleware = <ContextKey extends string = 'tmp'>(
  options: TmpStoreOptions<ContextKey> = {},
): MiddlewareObj<unknown, unknown, Error, TmpStoreContext<ContextKey>> => {
  const settings = tmpStoreValidateOptions(options)
  const store = openTmpStore(settings)
  const { contextKey } = settings

  const tmpStoreMiddlewareBefore = (request: { context: TmpStoreContext<ContextKey> }): void => {
    ;(request.context as unknown as Record<string, unknown>)[contextKey] = store
  }

  return { before: tmpStoreMiddlewareBefore }
}

export default tmpStoreMiddleware
