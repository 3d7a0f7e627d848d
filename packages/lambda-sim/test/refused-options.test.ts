// Options that would break the environment are refused at construction with a TypeError naming the
// option: a preload in NODE_OPTIONS, the variables the runtime's wiring is built on, a variable an
// option sets given another value, a tmpDir holding the simulator's own files, and the native runtime
// client where it is not built.
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it } from '@jest/globals'
import {
  bundleHandler,
  lambdaSimValidateOptions,
  liveEnvironmentProcessCount,
  startEnvironment,
} from '../src/index.ts'
import { nativeRuntimeClientIsBuilt } from '../src/runtime-client/location.ts'
import { fixture } from './helpers.ts'

const refusal = (options: Record<string, unknown>): TypeError => {
  try {
    lambdaSimValidateOptions({ entry: fixture('counter'), ...options })
  } catch (error) {
    return error as TypeError
  }
  throw new Error(`accepted: ${JSON.stringify(options)}`)
}

describe('env', () => {
  it.each([
    ['--require /opt/wrapper.js', '--require'],
    ['-r ./local.js', '-r'],
    ['--enable-source-maps --import=file:///hook.mjs', '--import'],
    ['--loader ./loader.mjs', '--loader'],
    ['--experimental-loader=./loader.mjs', '--experimental-loader'],
  ])('refuses NODE_OPTIONS %p, naming the preload', (nodeOptions, flag) => {
    const error = refusal({ env: { NODE_OPTIONS: nodeOptions } })
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toMatch(
      new RegExp(
        `^@thaw/lambda-sim: option 'env.NODE_OPTIONS' must be Node options without a preload \\(${flag}: `,
      ),
    )
    expect(error.cause).toEqual({ package: '@thaw/lambda-sim', option: 'env.NODE_OPTIONS' })
  })

  it('takes NODE_OPTIONS that load nothing, as Lambda does (source maps, stack depth)', () => {
    const settings = lambdaSimValidateOptions({
      entry: fixture('counter'),
      env: { NODE_OPTIONS: '--enable-source-maps --stack-trace-limit=50' },
    })
    expect(settings.env.NODE_OPTIONS).toBe('--enable-source-maps --stack-trace-limit=50')
  })

  it.each([
    'AWS_LAMBDA_RUNTIME_API',
    '_HANDLER',
    'LAMBDA_TASK_ROOT',
    'AWS_LAMBDA_LOG_FORMAT',
    '_LAMBDA_TELEMETRY_LOG_FD',
  ])("refuses %s, which the runtime's wiring is built on", (name) => {
    const error = refusal({ env: { [name]: 'x' } })
    expect(error.message).toMatch(
      new RegExp(`^@thaw/lambda-sim: option 'env.${name}' must be left out: the simulator sets it \\(`),
    )
    expect(error.cause).toEqual({ package: '@thaw/lambda-sim', option: `env.${name}` })
  })

  it('refuses a variable an option sets unless it has the value the option gives it', () => {
    expect(refusal({ region: 'eu-west-1', env: { AWS_REGION: 'us-east-1' } }).message).toBe(
      `@thaw/lambda-sim: option 'env.AWS_REGION' must be left out or "eu-west-1", the value option 'region' gives it, got the string "us-east-1"`,
    )
    expect(refusal({ env: { AWS_LAMBDA_MAX_CONCURRENCY: '4' } }).message).toMatch(
      /^@thaw\/lambda-sim: option 'env.AWS_LAMBDA_MAX_CONCURRENCY' must be left out: option 'concurrency' sets it, got /,
    )
    expect(refusal({ memoryMb: 256, env: { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128' } }).cause).toEqual({
      package: '@thaw/lambda-sim',
      option: 'env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
    })
    // The same value as the option's is no contradiction (a Managed-Instances helper may set it too).
    const settings = lambdaSimValidateOptions({
      entry: fixture('counter'),
      workers: 2,
      concurrency: 4,
      env: { AWS_LAMBDA_MAX_CONCURRENCY: '4', AWS_REGION: 'us-east-1' },
    })
    expect(settings.env).toEqual({ AWS_LAMBDA_MAX_CONCURRENCY: '4', AWS_REGION: 'us-east-1' })
  })

  it('refuses at startEnvironment, before anything starts', async () => {
    await expect(
      startEnvironment({ entry: fixture('counter'), env: { NODE_OPTIONS: '--require x' } }),
    ).rejects.toThrow(TypeError)
    expect(liveEnvironmentProcessCount()).toBe(0)
  })
})

describe('tmpDir', () => {
  it.each([
    ['/', '/'],
    ["the machine's temporary directory", tmpdir()],
    ['a directory above it', dirname(tmpdir())],
    ["a directory inside the simulator's bundles", join(tmpdir(), 'thaw-lambda-sim', 'bundles', 'mine')],
  ])('refuses %s, which holds the simulator’s own files', (_, tmpDir) => {
    const error = refusal({ tmpDir })
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toMatch(
      /^@thaw\/lambda-sim: option 'tmpDir' must be a directory that holds none of the simulator's own files \(/,
    )
    expect(error.cause).toEqual({ package: '@thaw/lambda-sim', option: 'tmpDir' })
  })

  it("refuses the directory of a prebuilt entry, and takes a directory of the environment's own", async () => {
    const bundle = await bundleHandler(fixture('counter'), { conditions: ['@thaw/source'] })
    expect(() =>
      lambdaSimValidateOptions({ entry: bundle.file, prebuilt: true, tmpDir: dirname(dirname(bundle.file)) }),
    ).toThrow(/option 'tmpDir' must be a directory that holds none of the simulator's own files/)
    const own = join(tmpdir(), `thaw-lambda-sim-own-tmp-${process.pid}`)
    expect(lambdaSimValidateOptions({ entry: fixture('counter'), tmpDir: own }).tmpDir).toBe(own)
  })
})

describe('runtimeClient', () => {
  it("is 'javascript' by default, and 'native' only where aws-lambda-ric's native client is built", () => {
    expect(lambdaSimValidateOptions({ entry: fixture('counter') }).runtimeClient).toBe('javascript')
    if (nativeRuntimeClientIsBuilt())
      expect(
        lambdaSimValidateOptions({ entry: fixture('counter'), runtimeClient: 'native' }).runtimeClient,
      ).toBe('native')
    else
      expect(refusal({ runtimeClient: 'native' }).message).toBe(
        `@thaw/lambda-sim: option 'runtimeClient' must be 'javascript' until aws-lambda-ric's native client is built (pnpm --filter @thaw/lambda-sim build:native-reference), got the string "native"`,
      )
    expect(refusal({ runtimeClient: 'curl' }).message).toBe(
      `@thaw/lambda-sim: option 'runtimeClient' must be 'javascript' or 'native', got the string "curl"`,
    )
  })
})
