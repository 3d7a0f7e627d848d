// Bundles a handler the way a deployment does (esbuild, ESM, one file), once per entry and options
// in this process, and again only when one of its input files has changed.
import { createHash } from 'node:crypto'
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { build, formatMessages, type Message, stop } from 'esbuild'
import { BundleError } from './errors.ts'

export interface BundleOptions {
  // esbuild's `conditions`: extra package.json export conditions to resolve with.
  conditions?: string[]
  // Modules left out of the bundle and loaded from node_modules at run time.
  external?: string[]
  minify?: boolean
}

export interface HandlerBundle {
  file: string
  directory: string
  bytes: number
  buildDurationMs: number
  // What the bundle exports (esbuild's metafile), when it was built here.
  exports?: string[]
}

interface CachedBundle {
  bundle: HandlerBundle
  inputModifiedTimes: Map<string, number>
}

const bundleCache = new Map<string, CachedBundle>()

export const bundleRootDirectory = join(tmpdir(), 'thaw-lambda-sim', 'bundles')

// esbuild's service process is stopped when no build is left in flight. It would stop with this
// process anyway, but a process that loads this module many times over keeps one per load: jest gives
// every test file a fresh module registry in one long-lived worker, and under Stryker's runner (one
// worker for hundreds of test runs) 650 idle services held 10 GB here (esbuild 0.28.2). The next
// build starts a new one (a few milliseconds; bundles are cached, so that is once per handler).
let buildsInFlight = 0
const stopServiceWhenIdle = () => {
  buildsInFlight -= 1
  if (buildsInFlight === 0) void stop()
}

/**
 * The banner an ESM Lambda bundle needs for its CommonJS dependencies (mysql2, the AWS SDK's parts
 * call require(), which an ESM module lacks): `require`, `__filename` and `__dirname` defined at its top.
 * @example await build({ entryPoints: ['src/handler.ts'], bundle: true, format: 'esm', banner: { js: commonJsInteropBanner } })
 */
export const commonJsInteropBanner = [
  "import { createRequire as __thawCreateRequire } from 'node:module';",
  "import { fileURLToPath as __thawFileURLToPath } from 'node:url';",
  'const require = __thawCreateRequire(import.meta.url);',
  'const __filename = __thawFileURLToPath(import.meta.url);',
  "const __dirname = __thawFileURLToPath(new URL('.', import.meta.url));",
].join('\n')

const inputsAreUnchanged = (cached: CachedBundle): boolean => {
  for (const [file, modifiedTime] of cached.inputModifiedTimes) {
    try {
      if (statSync(file).mtimeMs !== modifiedTime) return false
    } catch {
      return false
    }
  }
  return true
}

// A bundle someone else built (a deployment build): used as it is.
export const prebuiltBundle = (file: string): HandlerBundle => ({
  file,
  directory: dirname(file),
  bytes: statSync(file).size,
  buildDurationMs: 0,
})

/**
 * Bundles a handler with esbuild as a deployment would (ESM, Node's target, the require banner), into a
 * cached directory: an unchanged entry and inputs reuse the last bundle.
 * @example const { file, bytes } = await bundleHandler('src/handler.ts', { minify: true })
 */
export const bundleHandler = async (entry: string, options: BundleOptions = {}): Promise<HandlerBundle> => {
  const cacheKey = JSON.stringify([entry, options])
  const cached = bundleCache.get(cacheKey)
  if (cached && inputsAreUnchanged(cached)) return cached.bundle

  const buildStart = performance.now()
  buildsInFlight += 1
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    conditions: options.conditions ?? [],
    external: options.external ?? [],
    minify: options.minify ?? false,
    sourcemap: 'inline',
    banner: { js: commonJsInteropBanner },
    outfile: 'index.mjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
    .catch(async (error: { errors?: Message[] }) => {
      const formatted = error.errors ? await formatMessages(error.errors, { kind: 'error' }) : [String(error)]
      throw new BundleError(`could not bundle ${entry}:\n${formatted.join('\n')}`)
    })
    .finally(stopServiceWhenIdle)

  const output = result.outputFiles[0]
  if (!output) throw new BundleError(`esbuild produced no output for ${entry}`)
  // Content-addressed: identical bundles share a file, and concurrent test processes that build the
  // same handler never see each other's half-written file (write to a temporary name, then rename).
  const contentHash = createHash('sha256').update(output.contents).digest('hex').slice(0, 16)
  const directory = join(bundleRootDirectory, contentHash)
  const file = join(directory, 'index.mjs')
  mkdirSync(directory, { recursive: true })
  const temporaryFile = `${file}.${process.pid}.tmp`
  writeFileSync(temporaryFile, output.contents)
  renameSync(temporaryFile, file)

  const inputModifiedTimes = new Map<string, number>()
  for (const input of Object.keys(result.metafile.inputs)) {
    const inputPath = resolve(input)
    try {
      inputModifiedTimes.set(inputPath, statSync(inputPath).mtimeMs)
    } catch {
      // esbuild's virtual inputs (none here today) have no file to watch.
    }
  }
  const bundle: HandlerBundle = {
    file,
    directory: dirname(file),
    bytes: output.contents.byteLength,
    buildDurationMs: performance.now() - buildStart,
    exports: Object.values(result.metafile.outputs)[0]?.exports ?? [],
  }
  bundleCache.set(cacheKey, { bundle, inputModifiedTimes })
  return bundle
}
