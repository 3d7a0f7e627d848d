// The options of a store and of the middleware, their defaults, and the validator that rejects bad
// ones at construction (init), naming the option, rather than at the first invocation.

import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { validateOptions } from '@middy/util'

export interface TmpStoreOptions<ContextKey extends string = 'tmp'> {
  /** An absolute path; created if missing. Default: `thaw-tmp-store` under the system tmp dir (TMPDIR). */
  dir?: string
  /** The byte budget of all entries. Default: see `defaultBudget` (a share of the file system). */
  maxBytes?: number
  /** Where the middleware puts the store on the context. Default: `tmp`. */
  contextKey?: ContextKey
  /** Store a SHA-256 of each entry and verify it on the entry's first use in each thread. */
  checksum?: boolean
  /** fsync each entry before it is renamed into place (only an OS crash needs it; see README). */
  fsync?: boolean
  /** A lock whose owner has not refreshed it for this long is taken over (its owner is hung). */
  lockStaleMs?: number
}

export const defaults = {
  dir: undefined as string | undefined,
  maxBytes: undefined as number | undefined,
  contextKey: 'tmp',
  checksum: false,
  fsync: false,
  lockStaleMs: 10_000,
}

/** The share of the file system's size the default budget takes (and of its free space at init). */
export const defaultBudget = { shareOfSize: 0.5, shareOfFree: 0.9 }

const packageName = '@thaw/tmp-store'

// @middy/util's JSON-schema form: unknown keys and out-of-range values throw naming the option.
const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dir: { type: 'string', minLength: 1 },
    maxBytes: { type: 'integer', exclusiveMinimum: 0 },
    contextKey: { type: 'string', minLength: 1 },
    checksum: { type: 'boolean' },
    fsync: { type: 'boolean' },
    lockStaleMs: { type: 'number', minimum: 100 },
  },
} as const

const fail = (message: string): never => {
  throw new TypeError(`${packageName}: ${message}`, { cause: { package: packageName } })
}

/** Throws a TypeError naming the option for unknown keys and values of the wrong type or range. */
export const tmpStoreValidateOptions = <ContextKey extends string>(
  options: TmpStoreOptions<ContextKey> = {},
): TmpStoreOptions<ContextKey> => {
  try {
    validateOptions(packageName, schema, options as Record<string, unknown>)
  } catch (error) {
    fail((error as Error).message)
  }
  if (options.dir !== undefined && !isAbsolute(options.dir))
    fail(`option 'dir' must be an absolute path, got ${JSON.stringify(options.dir)}`)
  return options
}

/** The directory a store uses: `dir`, or `thaw-tmp-store` under TMPDIR as it is when the store opens. */
export const resolveDir = (options: Pick<TmpStoreOptions, 'dir'>): string =>
  options.dir ?? join(tmpdir(), 'thaw-tmp-store')
