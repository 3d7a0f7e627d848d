// The host is AWS's own runtime client (aws-lambda-ric) talking to the simulator's Runtime API: the
// context it builds comes from the Runtime API's headers, and the freeze and the reset reach every
// process of the environment.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { waitFor } from '@thaw/test-support'
import { liveEnvironmentProcessCount } from '../src/index.ts'
import {
  processState,
  settledProcessState,
  shutdownStartedEnvironments,
  sleep,
  startTestEnvironment,
} from './helpers.ts'

afterAll(shutdownStartedEnvironments)

interface ContextResult {
  awsRequestId: string
  invokedFunctionArn: string
  functionName: string
  memoryLimitInMB: string
  logGroupName: string
  logStreamName: string
  clientContext: unknown
  identity: unknown
  remainingMs: number
  traceId: string | null
  hasAwsLambdaGlobal: string
}

const ticksIn = (file: string) => (existsSync(file) ? Number(readFileSync(file, 'utf8') || 0) : 0)

describe('the Runtime API', () => {
  it("hands the runtime Lambda's headers, from which aws-lambda-ric builds the context", async () => {
    const environment = await startTestEnvironment('context', {
      functionName: 'orders-api',
      region: 'eu-west-1',
      memoryMb: 256,
      timeoutMs: 2_000,
    })
    const clientContext = { client: { installation_id: 'i-1' }, custom: { tier: 'gold' } }
    const identity = { cognitoIdentityId: 'eu-west-1:abc', cognitoIdentityPoolId: 'eu-west-1:pool' }
    const traceId = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'
    const outcome = await environment.invoke<ContextResult>({}, { clientContext, identity, traceId })
    if (!outcome.ok) throw new Error(outcome.error.message)
    expect(outcome.result).toMatchObject({
      awsRequestId: outcome.requestId,
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:orders-api',
      functionName: 'orders-api',
      memoryLimitInMB: '256',
      logGroupName: '/aws/lambda/orders-api',
      clientContext,
      identity,
      traceId,
      hasAwsLambdaGlobal: 'function',
    })
    expect(outcome.result.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/)
    expect(outcome.result.remainingMs).toBeLessThanOrEqual(2_000)
    expect(outcome.result.remainingMs).toBeGreaterThan(0)
    const plain = await environment.invoke<ContextResult>()
    expect(plain.ok && plain.result.clientContext).toBeNull()
    expect(plain.ok && plain.result.traceId).toMatch(
      /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/,
    )
  })
})

describe('the freeze and the reset reach every process of the environment', () => {
  it.each([
    ['in the runtime process group', false],
    ['in a session of its own (detached)', true],
  ])('freezes a process the handler spawned %s, and kills it at shutdown', async (_, detached) => {
    const environment = await startTestEnvironment('hostile', { timeoutMs: 5_000 })
    const tickFile = join(environment.tmpDir, `ticks-${detached}`)
    const outcome = await environment.invoke<{ childPid: number }>({ spawn: { detached, tickFile } })
    if (!outcome.ok) throw new Error(outcome.error.message)
    const { childPid } = outcome.result
    await waitFor(() => (ticksIn(tickFile) > 0 ? true : undefined), { what: 'the spawned ticker' })
    // A spawned child is found by the memory watch; the next invocation's freeze includes it.
    await environment.invoke({})
    expect(await settledProcessState(childPid, 'T')).toBe('T')
    const frozenAt = ticksIn(tickFile)
    await sleep(300)
    // 300 ms at one tick per 10 ms would be ~30 ticks; frozen, none (one may land as SIGSTOP arrives).
    expect(ticksIn(tickFile) - frozenAt).toBeLessThanOrEqual(1)
    await environment.shutdown()
    expect(await settledProcessState(childPid, 'gone')).toBe('gone')
  })

  it('kills the timed-out runtime and what it spawned before the next init', async () => {
    const environment = await startTestEnvironment('hostile', { timeoutMs: 1_000 })
    const tickFile = join(environment.tmpDir, 'ticks')
    const spawned = await environment.invoke<{ childPid: number; pid: number }>({
      spawn: { detached: true, tickFile },
    })
    if (!spawned.ok) throw new Error(spawned.error.message)
    const firstPid = environment.pid as number
    const timedOut = await environment.invoke({ hangMs: 10_000 })
    expect(timedOut).toMatchObject({
      ok: false,
      error: { name: 'Sandbox.Timedout', message: 'Task timed out after 1.00 seconds' },
    })
    expect(await settledProcessState(firstPid, 'gone')).toBe('gone')
    expect(await settledProcessState(spawned.result.childPid, 'gone')).toBe('gone')
    const after = await environment.invoke<{ invocations: number; pid: number }>({})
    expect(after).toMatchObject({ ok: true, coldStart: true, result: { invocations: 1 } })
    expect(after.ok && after.result.pid).not.toBe(firstPid)
  })

  it('kills what the handler spawned when the environment crashes', async () => {
    const environment = await startTestEnvironment('hostile')
    const tickFile = join(environment.tmpDir, 'ticks')
    const spawned = await environment.invoke<{ childPid: number }>({ spawn: { detached: false, tickFile } })
    if (!spawned.ok) throw new Error(spawned.error.message)
    await environment.crash()
    expect(await settledProcessState(spawned.result.childPid, 'gone')).toBe('gone')
  })

  it('thaws before it answers: a frozen runtime runs the next event at once', async () => {
    const environment = await startTestEnvironment('ticker')
    const pid = environment.pid as number
    expect(await settledProcessState(pid, 'T')).toBe('T')
    const outcome = await environment.invoke<{ ticks: number }>()
    expect(outcome.ok).toBe(true)
    expect(await settledProcessState(pid, 'T')).toBe('T')
    expect(await processState(pid)).toBe('T')
  })

  it('leaves no process behind once shut down', async () => {
    await shutdownStartedEnvironments()
    expect(liveEnvironmentProcessCount()).toBe(0)
  })
})
