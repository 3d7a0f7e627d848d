// The Middy middleware: opens this directory's store at init (when the handler module loads, so a
// bad option fails the init and the index is rebuilt before the first request) and puts it on the
// context in `before`. Nothing is closed in `after`: the files are the point of the store.
import type { MiddlewareObj } from '@middy/core'
import { type TmpStoreOptions, tmpStoreValidateOptions } from './options.ts'
import { openTmpStore } from './registry.ts'
import type { TmpStoreContext } from './types.ts'

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
