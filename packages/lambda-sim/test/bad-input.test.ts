import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import {
  type EnvironmentOptions,
  lambdaSimDefaults,
  lambdaSimValidateOptions,
  liveEnvironmentProcessCount,
  startEnvironment,
} from '../src/index.ts'
import { fixture } from './helpers.ts'

describe('startEnvironment with bad input', () => {
  it('names a missing entry', async () => {
    await expect(startEnvironment({ entry: '/nowhere/handler.ts' })).rejects.toThrow(
      '@thaw/lambda-sim: option \'entry\' must be the path of an existing handler file, got the string "/nowhere/handler.ts"',
    )
  })

  it('names an unknown option', async () => {
    const options = { entry: fixture('counter'), timeout: 3 } as unknown as EnvironmentOptions
    await expect(startEnvironment(options)).rejects.toThrow(
      /unknown option 'timeout' \(expected one of entry, exportName, timeoutMs,/,
    )
  })

  it.each([
    ['timeoutMs', 0, 'an integer from 1 to 900000 (milliseconds)'],
    ['memoryMb', 1.5, 'an integer from 128 to 10240 (MB)'],
    ['memoryMb', 64, 'an integer from 128 to 10240 (MB)'],
    ['workers', -1, 'an integer from 1 to 64'],
    ['tmpDir', 'relative/tmp', 'an absolute path of a directory'],
    ['freeze', 'yes', 'true or false'],
    ['initTimeoutMs', 2 ** 31, 'an integer from 1 to 2147483647 (milliseconds)'],
  ])('names option %s when it is %p', async (name, value, expected) => {
    const options = { entry: fixture('counter'), [name]: value } as unknown as EnvironmentOptions
    const refusal = startEnvironment(options)
    await expect(refusal).rejects.toThrow(`@thaw/lambda-sim: option '${name}' must be ${expected}, got `)
    await expect(refusal).rejects.toMatchObject({ cause: { package: '@thaw/lambda-sim', option: name } })
    await expect(refusal).rejects.toBeInstanceOf(TypeError)
  })

  it('names an export that is not a function, and leaves no process behind', async () => {
    await expect(startEnvironment({ entry: fixture('not-a-function') })).rejects.toThrow(
      /Runtime\.HandlerNotFound: index\.handler is not a function \(the bundle exports: handler, other\)/,
    )
    expect(liveEnvironmentProcessCount()).toBe(0)
  })

  it('reports a build error with the file and the missing import', async () => {
    await expect(startEnvironment({ entry: fixture('build-error') })).rejects.toThrow(/no-such-module/)
    expect(liveEnvironmentProcessCount()).toBe(0)
  })

  it('reports an init that throws', async () => {
    await expect(startEnvironment({ entry: fixture('init-throws') })).rejects.toThrow(
      /configuration is missing/,
    )
    expect(liveEnvironmentProcessCount()).toBe(0)
  })
})

describe('startEnvironment with a prebuilt bundle', () => {
  it('runs a deployment bundle as it is, without building it again', async () => {
    const { bundleHandler } = await import('../src/index.ts')
    const bundle = await bundleHandler(fixture('counter'), { minify: true })
    const environment = await startEnvironment({ entry: bundle.file, prebuilt: true })
    try {
      const outcome = await environment.invoke<{ invocationCount: number }>()
      expect(outcome.ok && outcome.result.invocationCount).toBe(1)
    } finally {
      await environment.shutdown()
    }
  })

  it('refuses build options for a prebuilt bundle, naming the option', async () => {
    await expect(
      startEnvironment({ entry: fixture('counter'), prebuilt: true, build: { minify: true } }),
    ).rejects.toThrow(/option 'build' must be left out when 'prebuilt' is true/)
  })
})

describe('lambdaSimValidateOptions, for any value', () => {
  const ranges = {
    timeoutMs: [1, 900_000],
    memoryMb: [128, 10_240],
    workers: [1, 64],
    initTimeoutMs: [1, 2 ** 31 - 1],
    maxLogBytesPerInvocation: [1_024, 256 * 1024 * 1024],
  } as const

  it('accepts an integer option inside its range and refuses it outside, naming the option and never its value', () => {
    const entry = fixture('counter')
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(ranges) as Array<keyof typeof ranges>)),
        fc.oneof(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.double(), fc.string(), fc.constant(null)),
        (name, value) => {
          const [minimum, maximum] = ranges[name]
          const valid =
            Number.isSafeInteger(value) && (value as number) >= minimum && (value as number) <= maximum
          const options = { entry, [name]: value }
          if (valid) expect(lambdaSimValidateOptions(options)[name]).toBe(value)
          else {
            let thrown: unknown
            try {
              lambdaSimValidateOptions(options)
            } catch (error) {
              thrown = error
            }
            expect(thrown).toBeInstanceOf(TypeError)
            expect((thrown as TypeError).message).toMatch(
              new RegExp(`^@thaw/lambda-sim: option '${name}' must be `),
            )
            expect((thrown as TypeError).cause).toEqual({ package: '@thaw/lambda-sim', option: name })
            if (typeof value === 'string' && value.length > 40)
              expect((thrown as TypeError).message).not.toContain(value)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('gives Managed Instances 2 GiB unless told otherwise, and classic environments 128 MB', () => {
    const entry = fixture('counter')
    expect(lambdaSimValidateOptions({ entry }).memoryMb).toBe(128)
    expect(lambdaSimValidateOptions({ entry, workers: 2 }).memoryMb).toBe(2_048)
    expect(lambdaSimValidateOptions({ entry, workers: 2, memoryMb: 512 }).memoryMb).toBe(512)
    expect(lambdaSimDefaults).toMatchObject({
      memoryMb: 128,
      timeoutMs: 3_000,
      initTimeoutMs: 10_000,
      concurrency: 16,
    })
  })
})
