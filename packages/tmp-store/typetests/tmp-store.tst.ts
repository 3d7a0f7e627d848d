// Type tests (tstyche): context.tmp as a handler sees it, through the public API only.
// Run with `pnpm typetest`.
import middy from '@middy/core'
import tmpStore, {
  packageName,
  type TmpFetchedEntry,
  type TmpStoreContext,
  type TmpStoreProcessStats,
  type TmpStoreResource,
  tmpStoreOptionTable,
  tmpStoreStats,
} from '@thaw/tmp-store'
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

describe('the package shape', () => {
  test('tmpStoreStats() is a copy of this thread counts; the options table and packageName are exported', () => {
    expect(tmpStoreStats()).type.toBe<TmpStoreProcessStats>()
    expect<TmpStoreProcessStats>().type.toHaveProperty('evictions')
    expect(tmpStoreOptionTable).type.toHaveProperty('contextKey')
    expect(packageName).type.toBe<'@thaw/tmp-store'>()
  })
})
