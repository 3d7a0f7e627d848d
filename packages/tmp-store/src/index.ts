export { TmpStoreEntryTooLargeError } from './errors.ts'
export type { TmpStoreContext } from './middleware.ts'
export { default } from './middleware.ts'
export { defaultBudget, defaults, type TmpStoreOptions, tmpStoreValidateOptions } from './options.ts'
export type { TmpData, TmpDataWithMeta, TmpFetchResult } from './source.ts'
export {
  openTmpStore,
  type TmpEntry,
  type TmpEntryInfo,
  type TmpFetchedEntry,
  type TmpGetOrFetchOptions,
  type TmpPutOptions,
  TmpStore,
  type TmpStoreStats,
} from './store.ts'
