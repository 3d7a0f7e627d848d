import { describe, expect, it } from '@jest/globals'
import { type EnvironmentOptions, liveEnvironmentProcessCount, startEnvironment } from '../src/index.ts'
import { fixture } from './helpers.ts'

describe('startEnvironment with bad input', () => {
  it('names a missing entry', async () => {
    await expect(startEnvironment({ entry: '/nowhere/handler.ts' })).rejects.toThrow(
      'option "entry" must be an existing file; got "/nowhere/handler.ts"',
    )
  })

  it('names an unknown option', async () => {
    const options = { entry: fixture('counter'), timeout: 3 } as unknown as EnvironmentOptions
    await expect(startEnvironment(options)).rejects.toThrow(
      /option "timeout" must be one of the known options/,
    )
  })

  it.each([
    ['timeoutMs', 0, 'a positive integer'],
    ['memoryMb', 1.5, 'a positive integer'],
    ['workers', -1, 'a positive integer'],
    ['tmpDir', 'relative/tmp', 'an absolute path'],
    ['freeze', 'yes', 'a boolean'],
  ])('names option %s when it is %p', async (name, value, expected) => {
    const options = { entry: fixture('counter'), [name]: value } as unknown as EnvironmentOptions
    await expect(startEnvironment(options)).rejects.toThrow(`option "${name}" must be ${expected}`)
  })

  it('names an export that is not a function, and leaves no process behind', async () => {
    await expect(startEnvironment({ entry: fixture('not-a-function') })).rejects.toThrow(
      /the export "handler" is a string, not a function \(the bundle exports: handler, other\)/,
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
    ).rejects.toThrow(/option "build" must be left out when "prebuilt" is true/)
  })
})
