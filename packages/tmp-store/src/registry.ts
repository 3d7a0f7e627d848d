// Lambda keeps module state between warm invocations of one execution environment (of one worker
// thread, in Managed Instances): one store per directory in this thread, whatever number of handlers
// ask for it. A second request for the same directory gets the open store, unless it asks for other
// settings, which one store cannot honour at once: that fails the init, naming the option.
import { optionError } from '@thaw/util'
import { packageName } from './errors.ts'
import { realpathSync } from './node-builtins.ts'
import { settingsOf, type TmpStoreOptions, type TmpStoreSettings, tmpStoreDefaults } from './options.ts'
import { TmpStore } from './store.ts'

const openStores = new Map<string, TmpStore>()

// The settings a request can differ in. An option left at its default asks for nothing in particular
// (settings hold defaults, not what was written), and `maxBytes` left out means "the default budget".
const comparedSettings = ['maxBytes', 'checksum', 'fsync', 'lockStaleMs', 'lockWaitMs'] as const

/**
 * The store of this directory in this thread, opened at the first call (for code outside a handler).
 * @example const store = openTmpStore({ dir: '/tmp/models' }); const bytes = await store.get('model.onnx')
 */
export const openTmpStore = (
  options: Omit<TmpStoreOptions<string>, 'contextKey'> | TmpStoreSettings = {},
): TmpStore => {
  const settings = settingsOf(options)
  let dir: string
  try {
    dir = realpathSync(settings.dir)
  } catch {
    dir = settings.dir
  }
  const open = openStores.get(dir)
  if (open) {
    for (const name of comparedSettings) {
      const wanted = settings[name]
      if (wanted === undefined || wanted === tmpStoreDefaults[name] || wanted === open.settings[name])
        continue
      throw optionError(
        packageName,
        name,
        `option '${name}' is ${wanted}, but the store of ${dir} is already open in this environment with ${open.settings[name]}`,
      )
    }
    return open
  }
  const store = new TmpStore(settings)
  openStores.set(store.dir, store)
  return store
}
