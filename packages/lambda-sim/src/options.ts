import { existsSync, statSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import type { BundleOptions } from './bundle.ts'

export interface EnvironmentOptions {
  /** The handler's source file (TypeScript or JavaScript), bundled with esbuild as a deployment would. */
  entry: string
  /** The handler's export name. */
  exportName?: string
  /** The function's timeout: an invocation running longer fails and resets the environment. */
  timeoutMs?: number
  /** The function's memory; sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE and the V8 heap limit. */
  memoryMb?: number
  /** Extra environment variables for the function, on top of the ones Lambda sets. */
  env?: Record<string, string>
  /** The environment's /tmp (its TMPDIR). Default: a new directory, removed at shutdown. */
  tmpDir?: string
  /** Freeze the process (SIGSTOP) between invocations, as Lambda does. */
  freeze?: boolean
  functionName?: string
  region?: string
  /** Managed-Instances mode: the number of worker threads, each of which inits the handler once. */
  workers?: number
  /** Managed-Instances mode: how many invocations one worker thread takes at the same time. */
  concurrency?: number
  /** How long the init phase may take before startEnvironment fails. */
  initTimeoutMs?: number
  /** How long shutdown waits after SIGTERM before it sends SIGKILL. */
  shutdownGraceMs?: number
  /** Copy the function's stdout and stderr to this process's. */
  echoOutput?: boolean
  build?: BundleOptions
  /**
   * The entry is already a deployable ESM bundle (as a deployment pipeline built it): run it as it is,
   * without bundling it again.
   */
  prebuilt?: boolean
}

export const environmentDefaults = {
  exportName: 'handler',
  // Lambda's own defaults for a new function.
  timeoutMs: 3_000,
  memoryMb: 128,
  region: 'us-east-1',
  // Lambda gives the runtime 500 ms between SIGTERM and SIGKILL when extensions are registered.
  shutdownGraceMs: 500,
  // Lambda's init phase is limited to 10 s.
  initTimeoutMs: 10_000,
  echoOutput: false,
  // Managed Instances run each worker thread at this many concurrent invocations unless told otherwise.
  concurrency: 16,
} as const

const knownOptionNames = new Set<string>([
  'entry',
  'exportName',
  'timeoutMs',
  'memoryMb',
  'env',
  'tmpDir',
  'freeze',
  'functionName',
  'region',
  'workers',
  'concurrency',
  'initTimeoutMs',
  'shutdownGraceMs',
  'echoOutput',
  'build',
  'prebuilt',
])

const fail = (optionName: string, expected: string, actual: unknown): never => {
  throw new TypeError(
    `startEnvironment: option "${optionName}" must be ${expected}; got ${JSON.stringify(actual) ?? String(actual)}`,
  )
}

const requirePositiveInteger = (options: Record<string, unknown>, name: string) => {
  const value = options[name]
  if (value !== undefined && !(Number.isInteger(value) && (value as number) > 0))
    fail(name, 'a positive integer', value)
}

export const validateEnvironmentOptions = (options: unknown): EnvironmentOptions => {
  if (typeof options !== 'object' || options === null) return fail('options', 'an object', options)
  const record = options as Record<string, unknown>
  for (const name of Object.keys(record))
    if (!knownOptionNames.has(name))
      fail(name, `one of the known options (${[...knownOptionNames].join(', ')})`, record[name])
  if (typeof record.entry !== 'string' || record.entry === '')
    fail('entry', 'the path of the handler file', record.entry)
  if (!existsSync(record.entry as string)) fail('entry', 'an existing file', record.entry)
  for (const name of ['timeoutMs', 'memoryMb', 'workers', 'concurrency', 'initTimeoutMs'])
    requirePositiveInteger(record, name)
  if (
    record.shutdownGraceMs !== undefined &&
    !(Number.isInteger(record.shutdownGraceMs) && (record.shutdownGraceMs as number) >= 0)
  )
    fail('shutdownGraceMs', 'a non-negative integer', record.shutdownGraceMs)
  for (const name of ['exportName', 'functionName', 'region'])
    if (record[name] !== undefined && (typeof record[name] !== 'string' || record[name] === ''))
      fail(name, 'a non-empty string', record[name])
  for (const name of ['freeze', 'echoOutput', 'prebuilt'])
    if (record[name] !== undefined && typeof record[name] !== 'boolean') fail(name, 'a boolean', record[name])
  if (record.env !== undefined) {
    if (typeof record.env !== 'object' || record.env === null) fail('env', 'an object of strings', record.env)
    for (const [key, value] of Object.entries(record.env as object))
      if (typeof value !== 'string') fail(`env.${key}`, 'a string', value)
  }
  if (record.tmpDir !== undefined) {
    const tmpDir = record.tmpDir
    if (typeof tmpDir !== 'string' || !isAbsolute(tmpDir)) fail('tmpDir', 'an absolute path', tmpDir)
    if (existsSync(tmpDir as string) && !statSync(tmpDir as string).isDirectory())
      fail('tmpDir', 'a directory', tmpDir)
  }
  if (record.concurrency !== undefined && record.workers === undefined)
    fail('concurrency', 'used together with "workers" (Managed-Instances mode)', record.concurrency)
  if (record.prebuilt === true && record.build !== undefined)
    fail('build', 'left out when "prebuilt" is true (a prebuilt bundle is not built again)', record.build)
  if (record.build !== undefined && (typeof record.build !== 'object' || record.build === null))
    fail('build', 'an object of esbuild options (conditions, external, minify)', record.build)
  return record as unknown as EnvironmentOptions
}
