// The errors the store throws at run time: one class (a ThawError, so a handler branches on `code`
// the same way for every @thaw package), its codes, and a subclass kept for `instanceof` checks
// written against earlier versions. Every error names the key and the file it is about; file-system
// errors keep the original as `cause` (its errno code, syscall and path), never a bare EISDIR.
import { ThawError } from '@thaw/util'

/** Starts every message of this package, and names it in every error's `cause`. */
export const packageName = '@thaw/tmp-store'

export const tmpStoreErrorCodes = {
  /** An entry larger than `maxBytes`: nothing was stored. */
  entryTooLarge: 'THAW_TMP_STORE_ENTRY_TOO_LARGE',
  /** A key that is not a well-formed string (a lone surrogate): it could not round-trip. */
  invalidKey: 'THAW_TMP_STORE_INVALID_KEY',
  /** Metadata that is not an object of strings, or a key and metadata over 1 MiB as JSON: nothing was stored. */
  invalidMeta: 'THAW_TMP_STORE_INVALID_META',
  /** A lock was not free within `lockWaitMs`. */
  lockTimeout: 'THAW_TMP_STORE_LOCK_TIMEOUT',
  /** The file system refused an operation (EACCES, EROFS, ENOSPC twice, …): see `cause`. */
  fileSystem: 'THAW_TMP_STORE_FILE_SYSTEM',
} as const

export type TmpStoreErrorCode = (typeof tmpStoreErrorCodes)[keyof typeof tmpStoreErrorCodes]

export interface TmpStoreErrorDetails {
  key?: string | undefined
  path?: string | undefined
  cause?: unknown
}

// A key in a message: quoted, and cut short (a key may be 20,000 characters).
export const describeKey = (key: string): string =>
  JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}…` : key)

export class TmpStoreError extends ThawError {
  override name = 'TmpStoreError'
  declare readonly code: TmpStoreErrorCode
  /** The key the operation was for, when it was for one. */
  readonly key: string | undefined
  /** The file the operation failed on, when it failed on one. */
  readonly path: string | undefined
  constructor(code: TmpStoreErrorCode, message: string, details: TmpStoreErrorDetails = {}) {
    super(packageName, code, message, details.cause === undefined ? undefined : { cause: details.cause })
    this.key = details.key
    this.path = details.path
  }
}

export class TmpStoreEntryTooLargeError extends TmpStoreError {
  override name = 'TmpStoreEntryTooLargeError'
  constructor(key: string, bytes: number, maxBytes: number) {
    super(
      tmpStoreErrorCodes.entryTooLarge,
      `the entry for key ${describeKey(key)} is larger than the store's budget (${bytes} > maxBytes ${maxBytes} bytes)`,
      { key },
    )
  }
}

const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code

/**
 * A file-system failure as a TmpStoreError: what the store was doing, for which key, on which file, and
 * the errno code; the original error is the cause. A TmpStoreError passes through as it is.
 */
export const fileSystemError = (
  error: unknown,
  doing: string,
  details: { key?: string | undefined; path?: string | undefined },
): TmpStoreError => {
  if (error instanceof TmpStoreError) return error
  const errno = errnoOf(error) ?? (error as Error | undefined)?.name ?? 'an error'
  const about = details.key === undefined ? '' : ` for key ${describeKey(details.key)}`
  const where = details.path === undefined ? '' : ` (${details.path})`
  return new TmpStoreError(tmpStoreErrorCodes.fileSystem, `could not ${doing}${about}${where}: ${errno}`, {
    ...details,
    cause: error,
  })
}

export const invalidKeyError = (key: unknown): TmpStoreError =>
  new TmpStoreError(
    tmpStoreErrorCodes.invalidKey,
    typeof key === 'string'
      ? 'a key must be a well-formed string: this one has a lone surrogate (UTF-16 code unit U+D800–U+DFFF without its pair), which UTF-8 cannot keep, so it would name the same entry as another key'
      : `a key must be a string, got ${typeof key}`,
    typeof key === 'string' ? { key } : {},
  )
