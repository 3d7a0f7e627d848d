// startEnvironment's options: one table (@thaw/util), from which the types, the defaults and the
// messages follow. Lambda's own limits are named as Lambda names them, with the page that says so.
import { existsSync, realpathSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, extname, isAbsolute, join, resolve, sep } from 'node:path'
import {
  defaultsOf,
  isPlainObject,
  type OptionsOf,
  option,
  optionFailure,
  type SettingsOf,
  validateOptionTable,
} from '@thaw/util'
import { bundleRootDirectory } from './bundle.ts'
import { packageName } from './errors.ts'
import { optionVariables, preloadIn, wiringVariables } from './lambda-variables.ts'
import {
  initTimeoutMs,
  logBytesPerInvocation,
  managedInstancesDefaultMemoryMb,
  memoryMb,
  timeoutMs,
} from './limits.ts'
import { nativeRuntimeClientIsBuilt } from './runtime-client/location.ts'

const isStringArray = (value: unknown) =>
  Array.isArray(value) && value.every((item) => typeof item === 'string' && item.length > 0)

const buildTable = {
  // esbuild's `conditions`: extra package.json export conditions to resolve with.
  conditions: option.custom<string[]>('an array of non-empty strings', isStringArray),
  // Modules left out of the bundle and loaded from node_modules at run time.
  external: option.custom<string[]>('an array of non-empty strings', isStringArray),
  minify: option.boolean(false),
}

export const lambdaSimOptionTable = {
  /**
   * The handler's source file (TypeScript or JavaScript), bundled with esbuild as a deployment would.
   * @default none (required)
   * @example startEnvironment({ entry: 'src/handler.ts' })
   */
  entry: option.required(
    option.custom<string>(
      'the path of an existing handler file',
      (value) =>
        typeof value === 'string' && value.length > 0 && existsSync(value) && statSync(value).isFile(),
    ),
  ),
  /**
   * The handler's export name (the part of _HANDLER after the dot).
   * @default 'handler'
   * @example startEnvironment({ entry: 'src/app.ts', exportName: 'main' })
   */
  exportName: option.custom<string, string>(
    'a JavaScript export name',
    (value) => typeof value === 'string' && /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(value),
    'handler',
  ),
  /**
   * The function's timeout. Lambda's default is 3 s and its maximum 900 s (Lambda quotas page).
   * @default 3_000 (Lambda's)
   * @example startEnvironment({ entry, timeoutMs: 30_000 })
   */
  timeoutMs: option.integer(
    { minimum: timeoutMs.minimum, maximum: timeoutMs.maximum, unit: 'milliseconds' },
    timeoutMs.default,
  ),
  /**
   * The function's memory: AWS_LAMBDA_FUNCTION_MEMORY_SIZE, the V8 heap limit (90 %) and the limit on the
   * whole process's resident memory. Lambda allows 128 MB to 10,240 MB (Lambda quotas page). Default: 128, or
   * 2,048 with `workers`.
   * @default 128, or 2_048 with `workers`
   * @example startEnvironment({ entry, memoryMb: 1_024 })
   */
  memoryMb: option.integer(
    { minimum: memoryMb.minimum, maximum: memoryMb.maximum, unit: 'MB' },
    memoryMb.default,
  ),
  /**
   * Extra environment variables for the function, on top of the ones Lambda sets.
   * @default {}
   * @example startEnvironment({ entry, env: { DATABASE_URL: 'mysql://root@127.0.0.1/test' } })
   */
  env: option.custom<Record<string, string>, Record<string, string>>(
    'an object whose values are strings',
    // A plain object: a Map or a class instance holds no own variables, and was taken as none.
    (value) => isPlainObject(value) && Object.values(value).every((item) => typeof item === 'string'),
    {},
  ),
  /**
   * The environment's /tmp (its TMPDIR). Default: a new directory, removed at shutdown.
   * @default a new directory, removed at shutdown
   * @example startEnvironment({ entry, tmpDir: '/tmp/my-test-tmp' })
   */
  tmpDir: option.custom<string>(
    'an absolute path of a directory',
    (value) =>
      typeof value === 'string' && isAbsolute(value) && (!existsSync(value) || statSync(value).isDirectory()),
  ),
  /**
   * Freeze the environment's processes (SIGSTOP) between invocations. Default: true, false with `workers`.
   * @default true, false with `workers`
   * @example startEnvironment({ entry, freeze: false })
   */
  freeze: option.boolean(),
  /**
   * The function's name (AWS_LAMBDA_FUNCTION_NAME and the log group's).
   * @default the entry's file name without its extension
   * @example startEnvironment({ entry, functionName: 'orders-api' })
   */
  functionName: option.string(),
  /**
   * The region the function says it runs in (AWS_REGION, AWS_DEFAULT_REGION).
   * @default 'us-east-1'
   * @example startEnvironment({ entry, region: 'eu-west-1' })
   */
  region: option.string('a non-empty string', 'us-east-1'),
  /**
   * Managed-Instances mode: aws-lambda-ric's worker threads (AWS_LAMBDA_NODEJS_WORKER_COUNT).
   * @default undefined (classic Lambda: one invocation at a time)
   * @example startEnvironment({ entry, workers: 2, concurrency: 8 })
   */
  workers: option.integer({ minimum: 1, maximum: 64 }),
  /**
   * Managed-Instances mode: the environment's maximum concurrent invocations (AWS_LAMBDA_MAX_CONCURRENCY),
   * shared by its worker threads as the runtime takes them.
   * @default 16
   * @example startEnvironment({ entry, workers: 2, concurrency: 8 })
   */
  concurrency: option.integer({ minimum: 1, maximum: 1_024 }, 16),
  /**
   * Lambda's init phase limit: 10 s (Lambda execution environment lifecycle page).
   * @default 10_000 (Lambda's)
   * @example startEnvironment({ entry, initTimeoutMs: 2_000 })
   */
  initTimeoutMs: option.duration(1, initTimeoutMs),
  /**
   * From SIGTERM to SIGKILL at shutdown. Default: Lambda's budget for the runtime, 300 ms with an external
   * extension (the no-op one here), 500 ms with an internal one (Extensions API page, shutdown phase).
   * @default 300 with `noOpExtension`, else 500 (Lambda's)
   * @example startEnvironment({ entry, shutdownGraceMs: 1_000 })
   */
  shutdownGraceMs: option.duration(0),
  /**
   * Register a no-op external extension, so that shutdown sends the runtime SIGTERM: Lambda does so only
   * when an extension is registered (Extensions API page, shutdown phase).
   * @default false
   * @example startEnvironment({ entry, noOpExtension: true }) // a SIGTERM listener runs at shutdown
   */
  noOpExtension: option.boolean(false),
  /**
   * Log lines kept per invocation, in bytes of the runtime's JSON lines; past it lines are counted, not kept.
   * @default 1_048_576 (1 MiB)
   * @example startEnvironment({ entry, maxLogBytesPerInvocation: 64 * 1024 })
   */
  maxLogBytesPerInvocation: option.integer(
    { minimum: logBytesPerInvocation.minimum, maximum: logBytesPerInvocation.maximum, unit: 'bytes' },
    logBytesPerInvocation.default,
  ),
  /**
   * Copy the function's stdout and stderr to this process's stderr.
   * @default false
   * @example startEnvironment({ entry, echoOutput: true })
   */
  echoOutput: option.boolean(false),
  /**
   * esbuild options for bundling the entry: `conditions` (package.json export conditions), `external` (modules loaded from node_modules at run time), `minify`.
   * @default { minify: false } (the entry and everything it imports bundled)
   * @example startEnvironment({ entry, build: { conditions: ['@thaw/source'], external: ['sharp'] } })
   */
  build: option.nested(buildTable, 'an object of esbuild options (conditions, external, minify)'),
  /**
   * The entry is already a deployable ESM bundle (a deployment build's output): run it as it is.
   * @default false
   * @example startEnvironment({ entry: 'dist/handler.mjs', prebuilt: true })
   */
  prebuilt: option.boolean(false),
  /**
   * aws-lambda-ric's Runtime API client: 'javascript' (this package's, no native build) or 'native' (its
   * own rapid-client.node, the reference, once built with `pnpm --filter @thaw/lambda-sim build:native-reference`).
   * @default 'javascript'
   * @example startEnvironment({ entry, runtimeClient: 'native' })
   */
  runtimeClient: option.oneOf(['javascript', 'native'], 'javascript'),
}

export type LambdaSimOptions = OptionsOf<typeof lambdaSimOptionTable> & { entry: string }
export type LambdaSimSettings = SettingsOf<typeof lambdaSimOptionTable>
/** @deprecated the name before 0.2: use LambdaSimOptions. */
export type EnvironmentOptions = LambdaSimOptions

export const lambdaSimDefaults = defaultsOf(lambdaSimOptionTable)
/** @deprecated the name before 0.2: use lambdaSimDefaults. */
export const environmentDefaults = lambdaSimDefaults

const fail = optionFailure(packageName)

const within = (directory: string, path: string) =>
  path === directory || path.startsWith(directory.endsWith(sep) ? directory : `${directory}${sep}`)
const real = (path: string) => (existsSync(path) ? realpathSync(path) : resolve(path))

// A tmpDir the handler may empty (thaw's tmp-store does) must hold none of the simulator's own files:
// not the machine's temporary directory or one above it (the runtime's output files and the bundles
// are there), not the bundles' directory, not the directory of a prebuilt entry.
const tmpDirRefusal = (tmpDir: string, entry: string, prebuilt: boolean): boolean => {
  const target = real(tmpDir)
  const machineTmp = real(tmpdir())
  return (
    within(target, machineTmp) ||
    within(real(join(bundleRootDirectory, '..')), target) ||
    (prebuilt && within(target, real(entry)))
  )
}

const validateEnv = (settings: LambdaSimSettings, given: Record<string, unknown>): void => {
  const { env } = settings
  for (const [name, why] of Object.entries(wiringVariables))
    if (env[name] !== undefined) fail(`env.${name}`, `left out: the simulator sets it (${why})`, env[name])
  const functionName = settings.functionName ?? basename(settings.entry, extname(settings.entry))
  for (const [name, { option: optionName, value }] of Object.entries(optionVariables(settings, functionName)))
    if (env[name] !== undefined && env[name] !== value)
      fail(
        `env.${name}`,
        value === undefined
          ? `left out: option '${optionName}' sets it`
          : `left out or ${JSON.stringify(value)}, the value option '${optionName}' gives it`,
        env[name],
      )
  const preload = env.NODE_OPTIONS === undefined ? undefined : preloadIn(env.NODE_OPTIONS)
  if (preload)
    fail(
      'env.NODE_OPTIONS',
      `Node options without a preload (${preload}: the environment runs its bundle alone, as Lambda runs the deployment package)`,
      given.env && (given.env as Record<string, unknown>).NODE_OPTIONS,
    )
}

/**
 * Throws a TypeError naming the option; returns the settings with every default applied.
 * @example lambdaSimValidateOptions({ entry: 'src/handler.ts' }).timeoutMs // 3000
 */
export const lambdaSimValidateOptions = (options: unknown): LambdaSimSettings => {
  const settings = validateOptionTable(packageName, lambdaSimOptionTable, options)
  const given = options as Record<string, unknown>
  if (given.concurrency !== undefined && given.workers === undefined)
    fail('concurrency', "used together with 'workers' (Managed-Instances mode)", given.concurrency)
  if (settings.runtimeClient === 'native' && !nativeRuntimeClientIsBuilt())
    fail(
      'runtimeClient',
      "'javascript' until aws-lambda-ric's native client is built (pnpm --filter @thaw/lambda-sim build:native-reference)",
      given.runtimeClient,
    )
  if (settings.tmpDir !== undefined && tmpDirRefusal(settings.tmpDir, settings.entry, settings.prebuilt))
    fail(
      'tmpDir',
      "a directory that holds none of the simulator's own files (not the machine's temporary directory or one above it, nor the bundles' or a prebuilt entry's directory)",
      given.tmpDir,
    )
  if (settings.prebuilt && given.build !== undefined)
    fail('build', "left out when 'prebuilt' is true (a prebuilt bundle is not built again)", given.build)
  // A Managed Instance's execution environment has at least 2 GiB (limits.ts): each worker thread holds
  // its own copy of the handler's modules.
  const normal =
    settings.workers !== undefined && given.memoryMb === undefined
      ? { ...settings, memoryMb: managedInstancesDefaultMemoryMb }
      : settings
  validateEnv(normal, given)
  return normal
}
/**
 * lambdaSimValidateOptions under its name before 0.2.
 * @deprecated use lambdaSimValidateOptions.
 * @example lambdaSimValidateOptions({ entry: 'src/handler.ts' })
 */
export const validateEnvironmentOptions = lambdaSimValidateOptions
