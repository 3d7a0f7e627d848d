import { describe, expect, it } from '@jest/globals'
import { type EnvironmentOptions, liveEnvironmentProcessCount, startEnvironment } from '../src/index.ts'
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
