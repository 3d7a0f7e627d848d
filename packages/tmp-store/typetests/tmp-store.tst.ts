// Type tests (tstyche): context.tmp as a handler sees it, through the public API only.
// Run with `pnpm typetest`.
import middy from '@middy/core'
import tmpStore, { type TmpFetchedEntry, type TmpStoreContext, type TmpStoreResource } from '@thaw/tmp-store'
import { describe, expect, test } from 'tstyche'

describe('context.tmp', () => {
  test('is the store, typed without a cast', () => {
    middy()
      .use(tmpStore({ maxBytes: 1024 }))
      .handler(async (_event, context) => {
        expect(context.tmp).type.toBe<TmpStoreResource>()
        expect(context.tmp.getOrFetch('k', () => 'value')).type.toBe<Promise<TmpFetchedEntry>>()
        expect(await context.tmp.get('k')).type.toBe<Buffer | undefined>()
        expect(context.functionName).type.toBe<string>()
      })
  })

  test('is under contextKey, not under the default key', () => {
    middy()
      .use(tmpStore({ contextKey: 'cache' }))
      .handler(async (_event, context) => {
        expect(context.cache).type.toBe<TmpStoreResource>()
        expect(context).type.not.toHaveProperty('tmp')
      })
    expect<TmpStoreContext<'cache'>>().type.toHaveProperty('cache')
    expect<TmpStoreContext<'cache'>>().type.not.toHaveProperty('tmp')
  })

  test('options are typed', () => {
    expect(tmpStore).type.toBeCallableWith({ maxBytes: 1024, contextKey: 'cache' })
    expect(tmpStore).type.not.toBeCallableWith({ maxBytes: '1 GiB' })
    expect(tmpStore).type.not.toBeCallableWith({ contextKey: 42 })
  })
})
