// The Middy middleware: opens this directory's store at init (when the handler module loads, so a
// bad option fails the init and the index is rebuilt before the first request) and puts it on the
// context in `before`. Nothing is closed in `after`: the files are the point of the store.
import type { MiddlewareObj } from '@middy/core'
import type { Context } from 'aws-lambda'
import { defaults, type TmpStoreOptions, tmpStoreValidateOptions } from './options.ts'
import { openTmpStore, type TmpStore } from './store.ts'

/** The context a handler behind `tmpStore({ contextKey })` sees. */
export type TmpStoreContext<ContextKey extends string = 'tmp'> = Context & { [Key in ContextKey]: TmpStore }

const tmpStore = <ContextKey extends string = 'tmp'>(
  options: TmpStoreOptions<ContextKey> = {},
): MiddlewareObj<unknown, unknown, Error, TmpStoreContext<ContextKey>> => {
  const { contextKey = defaults.contextKey, ...storeOptions } = tmpStoreValidateOptions(options)
  const store = openTmpStore(storeOptions)

  const tmpStoreMiddlewareBefore = (request: { context: Context }): void => {
    ;(request.context as unknown as Record<string, TmpStore>)[contextKey] = store
  }

  return { before: tmpStoreMiddlewareBefore }
}

export default tmpStore
