import { readdirSync, readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from '@jest/globals'
import { waitFor } from '@thaw/test-support'
import {
  bundleHandler,
  EnvironmentStartError,
  lambdaSimErrorCodes,
  liveEnvironmentProcessCount,
  startEnvironment,
} from '../src/index.ts'
import { fixture, shutdownStartedEnvironments, startTestEnvironment } from './helpers.ts'

afterAll(shutdownStartedEnvironments)

// The esbuild service processes this process has started that are still running (Linux /proc: a
// child's stat names its state and its parent after its name in parentheses; an ended child that
// Node has not reaped yet is a zombie, 'Z').
const runningEsbuildChildren = (): number[] =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        return stat.includes('(esbuild)') && afterName[0] !== 'Z' && Number(afterName[1]) === process.pid
      } catch {
        return false // a process that ended while the listing was read
      }
    })
    .map(Number)

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

// Another test file run earlier in this jest worker may have left a service of its own (esbuild used
// directly, as scripts/build-examples.ts does): only the services this file's builds start count, the
// earlier tests' included.
const runningBeforeThisFile = new Set(runningEsbuildChildren())

describe('bundling', () => {
  it('leaves no esbuild service running once no build is in flight', async () => {
    // Two builds at once (the second must not lose its service to the first one's end), then none.
    const [echo, counter] = await Promise.all([
      bundleHandler(fixture('echo'), { conditions: ['@thaw/source'], minify: true }),
      bundleHandler(fixture('counter'), { conditions: ['@thaw/source'], minify: true }),
    ])
    expect(echo.buildDurationMs).toBeGreaterThan(0)
    expect(counter.buildDurationMs).toBeGreaterThan(0)
    // The service ends on a signal: give it time to act on it (a deadline, not a guess).
    const noService = () =>
      runningEsbuildChildren().every((pid) => runningBeforeThisFile.has(pid)) ? true : undefined
    await waitFor(noService, { what: 'the esbuild service ending after the builds' })
    // And the next build starts a service of its own again.
    const again = await bundleHandler(fixture('echo'), { conditions: ['@thaw/source'], external: ['none'] })
    expect(again.buildDurationMs).toBeGreaterThan(0)
    await waitFor(noService, { what: 'the esbuild service ending after the third build' })
  })
})
