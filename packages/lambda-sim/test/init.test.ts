import { afterAll, describe, expect, it } from '@jest/globals'
import {
  EnvironmentStartError,
  lambdaSimErrorCodes,
  liveEnvironmentProcessCount,
  startEnvironment,
} from '../src/index.ts'
import { fixture, shutdownStartedEnvironments, startTestEnvironment } from './helpers.ts'

afterAll(shutdownStartedEnvironments)

describe('the init phase', () => {
  it('fails past initTimeoutMs (Lambda: 10 s), with a coded error, and leaves no process behind', async () => {
    const start = startEnvironment({
      entry: fixture('slow-init'),
      initTimeoutMs: 300,
      env: { INIT_MS: '5000' },
    })
    await expect(start).rejects.toBeInstanceOf(EnvironmentStartError)
    await expect(start).rejects.toMatchObject({ code: lambdaSimErrorCodes.initFailed })
    await expect(start).rejects.toThrow(
      "init did not finish within 300 ms (Lambda's init phase limit is 10 s)",
    )
    expect(liveEnvironmentProcessCount()).toBe(0)
  })

  it('counts the runtime start and the module in the init duration, and is frozen once done', async () => {
    const environment = await startTestEnvironment('slow-init', { env: { INIT_MS: '200' } })
    expect(environment.lastInitDurationMs).toBeGreaterThanOrEqual(200)
    expect(environment.isFrozen).toBe(true)
    const outcome = await environment.invoke()
    expect(outcome).toMatchObject({
      ok: true,
      coldStart: true,
      initDurationMs: environment.lastInitDurationMs,
    })
  })
})
