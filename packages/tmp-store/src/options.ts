// The options of a store and of the middleware: one table (@thaw/util's `option.*` rules), from which
// the options type, the settings type, the defaults and the error messages all follow. Options are
// checked here and nowhere else: everything after `tmpStoreValidateOptions` takes settings.
import {
  defaultsOf,
  type OptionRule,
  type OptionsOf,
  option,
  type SettingsOf,
  validateOptionTable,
} from '@thaw/util'
import { packageName } from './errors.ts'
import { isAbsolute, join, tmpdir } from './node-builtins.ts'

// `dir`: absolute, or left out for `thaw-tmp-store` under TMPDIR as it is when the options are checked
// (at init, when the store opens), so the settings always hold the path the store uses.
const dirRule: OptionRule<string, string> = {
  expected: 'an absolute path',
  default: undefined,
  normalise: (value, path, fail) => {
    if (value === undefined) return join(tmpdir(), 'thaw-tmp-store')
    if (typeof value !== 'string' || !isAbsolute(value)) fail(path, 'an absolute path', value)
    return value as string
  },
}

/** The options table: one entry an option (exported as the other packages' tables are). */
export const tmpStoreOptionTable = {
  /**
   * The store's directory: an absolute path, created if missing.
   * @default `thaw-tmp-store` under the system tmp dir (TMPDIR, /tmp on Lambda)
   * @example tmpStore({ dir: '/tmp/models' })
   */
  dir: dirRule,
  /**
   * The byte budget of all entries; the least recently used are evicted to keep it.
   * @default the smaller of half the file system and 90 % of its free space (with the store's own entries) at init
   * @example tmpStore({ maxBytes: 2 * 1024 ** 3 }) // 2 GiB of /tmp's 10 GiB
   */
  maxBytes: option.integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, unit: 'bytes' }),
  /**
   * Where the middleware puts the store on the context. Never a member of the Lambda context or of
   * Object.prototype: '__proto__' would make the store the context's prototype.
   * @default 'tmp'
   * @example tmpStore({ contextKey: 'models' }) // context.models
   */
  contextKey: option.propertyKey('tmp'),
  /**
   * Store a SHA-256 of each entry and verify it on the entry's first use in each thread.
   * @default false
   * @example tmpStore({ checksum: true })
   */
  checksum: option.boolean(false),
  /**
   * fsync each entry before it is renamed into place (only an OS crash needs it; see README).
   * @default false
   * @example tmpStore({ fsync: true })
   */
  fsync: option.boolean(false),
  /**
   * A lock whose owner has not refreshed it for this long is taken over (its owner is hung), in ms.
   * @default 10_000
   * @example tmpStore({ lockStaleMs: 30_000 })
   */
  lockStaleMs: option.duration(100, 10_000),
  /**
   * How long the store waits for a lock (a key's, while another thread or process fetches it, or the
   * directory's budget lock) before it gives up with THAW_TMP_STORE_LOCK_TIMEOUT, in ms.
   * @default 900_000 (15 minutes, the longest a Lambda invocation can run)
   * @example tmpStore({ lockWaitMs: 60_000 })
   */
  lockWaitMs: option.duration(1, 900_000),
}

type TmpStoreOptionTable = typeof tmpStoreOptionTable

/** The options of `tmpStore()`, `openTmpStore()` and `new TmpStore()`. */
export type TmpStoreOptions<ContextKey extends string = 'tmp'> = Omit<
  OptionsOf<TmpStoreOptionTable>,
  'contextKey'
> & {
  /**
   * Where the middleware puts the store on the context.
   * @default 'tmp'
   * @example tmpStore({ contextKey: 'models' }) // context.models
   */
  contextKey?: ContextKey
}

/** The options after `tmpStoreValidateOptions`: every default applied (`maxBytes` undefined: a share of the disk). */
export type TmpStoreSettings = SettingsOf<TmpStoreOptionTable>

export const tmpStoreDefaults = defaultsOf(tmpStoreOptionTable)

/** The share of the file system's size the default budget takes (and of its free space at init). */
export const defaultBudget = { shareOfSize: 0.5, shareOfFree: 0.9 } as const

// Settings made here, so that a function handed settings (the registry, the store) does not check
// them again, and one handed options does.
const validated = new WeakSet<object>()

/**
 * Throws a TypeError naming the option; returns the settings with every default applied.
 * @example tmpStoreValidateOptions({ checksum: true }).lockWaitMs // 900000
 */
export const tmpStoreValidateOptions = (options: unknown = {}): TmpStoreSettings => {
  const settings = Object.freeze(validateOptionTable(packageName, tmpStoreOptionTable, options))
  validated.add(settings)
  return settings
}

/** Settings as they are, or options checked now. */
export const settingsOf = (options: unknown): TmpStoreSettings =>
  typeof options === 'object' && options !== null && validated.has(options)
    ? (options as TmpStoreSettings)
    : tmpStoreValidateOptions(options)
