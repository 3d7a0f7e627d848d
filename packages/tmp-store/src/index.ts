export {
  packageName,
  TmpStoreEntryTooLargeError,
  TmpStoreError,
  type TmpStoreErrorCode,
  tmpStoreErrorCodes,
} from './errors.ts'
export { default } from './middleware.ts'
export {
  defaultBudget,
  type TmpStoreOptions,
  type TmpStoreSettings,
  tmpStoreDefaults,
  tmpStoreOptionTable,
  tmpStoreValidateOptions,
} from './options.ts'
export { openTmpStore } from './registry.ts'
export { tmpStoreStats } from './stats.ts'
export { TmpStore } from './store.ts'
export type {
  TmpData,
  TmpDataWithMeta,
  TmpEntry,
  TmpEntryInfo,
  TmpFetchedEntry,
  TmpFetchResult,
  TmpGetOrFetchOptions,
  TmpPutOptions,
  TmpStoreContext,
  TmpStoreProcessStats,
  TmpStoreResource,
  TmpStoreStats,
} from './types.ts'
