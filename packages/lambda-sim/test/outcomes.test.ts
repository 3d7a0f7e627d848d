// The outcome builders and Lambda's environment variables: pure functions, checked without a runtime.
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { lambdaVariables, optionVariables, preloadIn } from '../src/lambda-variables.ts'
import { maxLogLineBytes, maxResponseBytes } from '../src/limits.ts'
import {
  answeredOutcome,
  droppedLogsNotice,
  endedOutcome,
  exitError,
  failedToStart,
  initExitMessage,
  outOfMemoryError,
  parseErrorBody,
  timeoutError,
  withDroppedLogs,
} from '../src/outcomes.ts'

const invocation = { requestId: 'r-1', durationMs: 12.5, logs: [{ level: 'INFO' as const, message: 'hi' }] }
const firstOnThread = { threadId: 0, coldStart: true, initDurationMs: 80 }

describe('an answer', () => {
  it("is the runtime's JSON as the result, with the init phase's duration on a cold start", () => {
    expect(answeredOutcome(invocation, firstOnThread, '{"id":42}', undefined)).toEqual({
      ...invocation,
      ok: true,
      result: { id: 42 },
      coldStart: true,
      initDurationMs: 80,
      threadId: 0,
    })
    const warm = answeredOutcome(invocation, { ...firstOnThread, coldStart: false }, '1', undefined)
    expect(warm).not.toHaveProperty('initDurationMs')
  })

  it('is the text itself when it is not JSON (a streamed answer)', () => {
    expect(answeredOutcome(invocation, firstOnThread, 'one two', undefined)).toMatchObject({
      ok: true,
      result: 'one two',
    })
  })

  it("is Function.ResponseSizeTooLarge with Lambda's message when it was over the limit", () => {
    expect(answeredOutcome(invocation, firstOnThread, undefined, undefined)).toMatchObject({
      ok: false,
      error: {
        name: 'Function.ResponseSizeTooLarge',
        message: `Response payload size exceeded maximum allowed payload size (${maxResponseBytes} bytes).`,
      },
    })
    expect(maxResponseBytes).toBe(6_291_556)
  })

  it("is the runtime's error when it failed, read from Lambda's error shape", () => {
    const error = parseErrorBody(
      '{"errorType":"TypeError","errorMessage":"bad","trace":["a","b"]}',
      undefined,
    )
    expect(error).toEqual({ name: 'TypeError', message: 'bad', stack: 'a\nb' })
    expect(answeredOutcome(invocation, firstOnThread, undefined, error)).toMatchObject({ ok: false, error })
    // Not Lambda's shape: the header's type, else Error, and no message made up.
    expect(parseErrorBody('not json', 'Runtime.Unknown')).toEqual({ name: 'Runtime.Unknown', message: '' })
    expect(parseErrorBody(undefined, undefined)).toEqual({ name: 'Error', message: '' })
  })
})

describe('an invocation the platform ended', () => {
  it("times out with Lambda's message, never as a cold start", () => {
    expect(endedOutcome(invocation, timeoutError(3_000))).toEqual({
      ...invocation,
      ok: false,
      coldStart: false,
      error: { name: 'Sandbox.Timedout', message: 'Task timed out after 3.00 seconds' },
    })
  })

  it('ran out of memory, saying how much it used of how much', () => {
    expect(outOfMemoryError(300 * 1024 * 1024, 128)).toEqual({
      name: 'Runtime.OutOfMemory',
      message: 'Runtime exited with error: signal: killed (the environment used 300 MB of its 128 MB)',
    })
  })

  it("exited: the exit and the runtime's last error line, or the heap when V8 said it ran out", () => {
    const stderrTail = ['some line', 'RangeError [ERR_X]: the real one', 'at somewhere']
    expect(exitError({ code: 1, signal: null, stderrTail, memoryMb: 128 })).toEqual({
      name: 'Runtime.ExitError',
      message:
        "Runtime exited with error: exit status 1 (the runtime's last error: RangeError [ERR_X]: the real one)",
    })
    expect(exitError({ code: null, signal: 'SIGKILL', stderrTail: [], memoryMb: 128 })).toEqual({
      name: 'Runtime.ExitError',
      message: 'Runtime exited with signal: SIGKILL',
    })
    expect(
      exitError({
        code: null,
        signal: 'SIGABRT',
        stderrTail: ['FATAL: JavaScript heap out of memory'],
        memoryMb: 256,
      }),
    ).toEqual({
      name: 'Runtime.OutOfMemory',
      message: 'Runtime exited with error: signal: SIGABRT (JavaScript heap out of memory at 256 MB)',
    })
  })

  it('exited during init: the exit, why when known, and the last five lines', () => {
    const output = ['1', '2', '3', '4', '5', '6'].map((line) => `INFO\tline ${line}\n`).join('')
    expect(initExitMessage({ code: 3, signal: null }, undefined, output)).toBe(
      "the environment's process exited during init (code 3):\nINFO\tline 2\nINFO\tline 3\nINFO\tline 4\nINFO\tline 5\nINFO\tline 6",
    )
    expect(
      initExitMessage({ code: null, signal: 'SIGKILL' }, outOfMemoryError(200 * 1024 * 1024, 128), ''),
    ).toBe(
      "the environment's process exited during init (SIGKILL) Runtime.OutOfMemory: Runtime exited with error: signal: killed (the environment used 200 MB of its 128 MB)",
    )
  })

  it('never started: the start error, as a cold start of no duration', () => {
    expect(failedToStart('r-2', new TypeError('no runtime'))).toEqual({
      requestId: 'r-2',
      ok: false,
      error: { name: 'TypeError', message: 'no runtime' },
      durationMs: 0,
      coldStart: true,
      logs: [],
    })
  })
})

describe('log lines not kept', () => {
  const outcome = answeredOutcome(invocation, firstOnThread, '1', undefined)

  it('leave the outcome as it is when every line was kept whole', () => {
    expect(withDroppedLogs(outcome, { lines: 0, bytes: 0, cutLines: 0 }, 1024)).toBe(outcome)
  })

  it('are counted and said in a last WARN line, dropped or cut', () => {
    const dropped = withDroppedLogs(outcome, { lines: 3, bytes: 300, cutLines: 0 }, 1024)
    expect(dropped.logsDropped).toEqual({ lines: 3, bytes: 300, cutLines: 0 })
    expect(dropped.logs.at(-1)).toEqual({
      level: 'WARN',
      message:
        '@thaw/lambda-sim: 3 more log lines (300 bytes) were dropped: the capture keeps 1024 bytes per invocation (maxLogBytesPerInvocation)',
    })
    expect(droppedLogsNotice({ lines: 0, bytes: 5000, cutLines: 1 }, 1024).message).toBe(
      `@thaw/lambda-sim: 1 log line was cut to ${maxLogLineBytes} bytes, CloudWatch Logs' event size (5000 bytes not kept)`,
    )
    // The invocation's own list of lines is not changed.
    expect(outcome.logs).toHaveLength(1)
  })
})

describe("Lambda's environment variables", () => {
  const settings = {
    region: 'eu-west-1',
    memoryMb: 256,
    exportName: 'handler',
    concurrency: 16,
    env: {},
    runtimeClient: 'javascript' as const,
  }
  const bundle = { file: '/b/abc/index.mjs', directory: '/b/abc' }
  const sandbox = { tmpDir: '/t/tmp', logStreamName: '2026/01/01/[$LATEST]x' }

  it("name the handler, the function, its memory, region, /tmp and the Runtime API, as Lambda's do", () => {
    const variables = lambdaVariables(
      { ...settings, workers: undefined },
      'orders',
      bundle,
      sandbox,
      '127.0.0.1:9',
    )
    expect(variables).toMatchObject({
      _HANDLER: 'index.handler',
      LAMBDA_TASK_ROOT: '/b/abc',
      AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9',
      AWS_LAMBDA_FUNCTION_NAME: 'orders',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/orders',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/01/01/[$LATEST]x',
      AWS_LAMBDA_LOG_FORMAT: 'JSON',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      TMPDIR: '/t/tmp',
    })
    expect(variables).not.toHaveProperty('AWS_LAMBDA_MAX_CONCURRENCY')
    const managed = lambdaVariables(
      { ...settings, workers: 2, env: { STAGE: 'test' } },
      'o',
      bundle,
      sandbox,
      'x',
    )
    expect(managed).toMatchObject({
      AWS_LAMBDA_MAX_CONCURRENCY: '16',
      AWS_LAMBDA_NODEJS_WORKER_COUNT: '2',
      STAGE: 'test',
    })
  })

  it('that an option sets are the values of those options', () => {
    const variables = lambdaVariables({ ...settings, workers: 2 }, 'orders', bundle, sandbox, 'x')
    const fromOptions = optionVariables({ ...settings, workers: 2, tmpDir: '/t/tmp' }, 'orders')
    for (const [name, { value }] of Object.entries(fromOptions)) expect(variables[name]).toBe(value)
  })

  it('refuse a NODE_OPTIONS preload, whatever its spelling, and nothing else', () => {
    expect(preloadIn('--require /x/y.js')).toBe('--require')
    expect(preloadIn('--enable-source-maps -r ./z')).toBe('-r')
    expect(preloadIn('--import=file:///a.mjs')).toBe('--import')
    expect(preloadIn('--experimental-loader ./l.mjs')).toBe('--experimental-loader')
    const harmless = fc.constantFrom(
      '--enable-source-maps',
      '--stack-trace-limit=50',
      '--no-deprecation',
      '--trace-warnings',
    )
    fc.assert(fc.property(fc.array(harmless), (flags) => preloadIn(flags.join(' ')) === undefined))
  })
})
