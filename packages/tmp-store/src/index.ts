export {
  TmpStoreEntryTooLargeError,
  TmpStoreError,
  type TmpStoreErrorCode,
  tmpStoreErrorCodes,
} from './errors.ts'
export { default } from './middleware.ts'
export {
  defaultBudget,
  packageName,
  type TmpStoreOptions,
  type TmpStoreSettings,
  tmpStoreDefaults,
  tmpStoreValidateOptions,
} from './options.ts'
export { openTmpStore } from './registry.ts'
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
  TmpStoreResource,
  TmpStoreStats,
} from './types.ts'
