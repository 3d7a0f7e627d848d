// What a handler starts is the environment's: frozen with it however deep it left the process group,
// thawed for the next invocation, counted in its memory, and killed with a crash or when the simulator's
// own process exits.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from '@jest/globals'
import { liveEnvironmentProcessCount } from '../src/index.ts'
import { fixture, settledProcessState, shutdownStartedEnvironments, startTestEnvironment } from './helpers.ts'

afterAll(shutdownStartedEnvironments)

const pidsOf = (outcome: { ok: boolean; result?: unknown }): number[] => {
  if (!outcome.ok) throw new Error(`the invocation failed: ${JSON.stringify(outcome)}`)
  return (outcome.result as { pids: number[] }).pids
}

describe('the processes a handler starts', () => {
  it('are frozen between invocations however deep they left the group, and killed with a crash', async () => {
    const environment = await startTestEnvironment('spawner')
    expect(liveEnvironmentProcessCount()).toBeGreaterThan(0)
    const pids = pidsOf(await environment.invoke({ action: 'chain' }))
    expect(pids).toHaveLength(3)
    for (const pid of pids) expect(await settledProcessState(pid, 'T')).toBe('T')
    await environment.invoke({ action: 'ok' })
    for (const pid of pids) expect(await settledProcessState(pid, 'T')).toBe('T')
    const crash = await environment.invoke({ action: 'crash' })
    expect(crash.ok).toBe(false)
    for (const pid of pids) expect(await settledProcessState(pid, 'gone')).toBe('gone')
  })

  it('is frozen when spawned outside the group just before the answer', async () => {
    const environment = await startTestEnvironment('spawner')
    const [pid] = pidsOf(await environment.invoke({ action: 'detached' })) as [number]
    expect(await settledProcessState(pid, 'T', 500)).toBe('T')
  })

  it('is thawed for the next invocation when it is in the group but no longer under the runtime', async () => {
    const environment = await startTestEnvironment('spawner', { timeoutMs: 1_000 })
    const [pid] = pidsOf(await environment.invoke({ action: 'orphan' })) as [number]
    expect(await settledProcessState(pid, 'T')).toBe('T')
    await environment.invoke({ action: 'ok' })
    // Thawed for the invocation, then frozen again after it: look while the next one runs.
    const running = environment.invoke({ action: 'hang' })
    expect(await settledProcessState(pid, 'S')).toBe('S')
    await running
  })

  it('count towards the memory limit', async () => {
    const environment = await startTestEnvironment('spawner', { memoryMb: 128 })
    const outcome = await environment.invoke({ action: 'hog' })
    expect(outcome).toMatchObject({ ok: false, error: { name: 'Runtime.OutOfMemory' } })
  })
})

describe('the simulator process', () => {
  it('takes a frozen environment with it when it exits without a shutdown', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=@thaw/source', fixture('exits-without-shutdown')],
      { timeout: 20_000 },
    )
    const pid = Number(stdout.trim())
    expect(pid).toBeGreaterThan(0)
    expect(await settledProcessState(pid, 'gone')).toBe('gone')
  }, 20_000)
})
