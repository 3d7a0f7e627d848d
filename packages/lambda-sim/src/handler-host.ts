// Loads a bundled handler once (the init phase) and runs invocations against it, in the process's
// main thread (classic Lambda) or in one worker thread (Lambda Managed Instances).
import { AsyncLocalStorage } from 'node:async_hooks'
import { performance } from 'node:perf_hooks'
import { format } from 'node:util'
import { threadId } from 'node:worker_threads'
import type { InvokeMessage, LogLine, ResultMessage } from './protocol.ts'
import { serializeError } from './protocol.ts'

type Handler = (event: unknown, context: unknown) => unknown

interface InvocationLogStore {
  lines: LogLine[]
}

const invocationLogStorage = new AsyncLocalStorage<InvocationLogStore>()

// Console output is attributed to the invocation whose async context wrote it, so that concurrent
// invocations in one thread (Managed Instances) each get their own lines. Output outside any
// invocation (init, or a timer that fires later) goes to the environment's log instead.
export const captureConsole = (onLineOutsideInvocation: (line: LogLine) => void): void => {
  const levels: Array<[keyof Console, LogLine['level']]> = [
    ['log', 'INFO'],
    ['info', 'INFO'],
    ['warn', 'WARN'],
    ['error', 'ERROR'],
    ['debug', 'DEBUG'],
    ['trace', 'TRACE'],
  ]
  for (const [method, level] of levels) {
    ;(console as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const line: LogLine = { level, message: format(...args) }
      const store = invocationLogStorage.getStore()
      if (store) store.lines.push(line)
      else onLineOutsideInvocation(line)
    }
  }
}

export interface LoadedHandler {
  handler: Handler
  initDurationMs: number
}

export const loadHandler = async (bundleFile: string, exportName: string): Promise<LoadedHandler> => {
  const initStart = performance.now()
  const handlerModule = (await import(bundleFile)) as Record<string, unknown>
  const handler = handlerModule[exportName]
  if (typeof handler !== 'function') {
    const exported = Object.keys(handlerModule).join(', ') || 'nothing'
    const error = new Error(
      `the export "${exportName}" is ${handler === undefined ? 'missing' : `a ${typeof handler}, not a function`} (the bundle exports: ${exported})`,
    )
    error.name = 'Runtime.HandlerNotFound'
    throw error
  }
  return { handler: handler as Handler, initDurationMs: performance.now() - initStart }
}

const createLambdaContext = (message: InvokeMessage) => {
  const environment = process.env
  const functionName = environment.AWS_LAMBDA_FUNCTION_NAME ?? 'function'
  const region = environment.AWS_REGION ?? 'us-east-1'
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: environment.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:123456789012:function:${functionName}`,
    memoryLimitInMB: environment.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
    awsRequestId: message.awsRequestId,
    logGroupName: environment.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${functionName}`,
    logStreamName: environment.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineEpochMs - Date.now()),
  }
}

// Runs invocations against one loaded handler; the first one after init is the cold start.
export const createInvocationRunner = ({ handler, initDurationMs }: LoadedHandler) => {
  let hasBeenInvoked = false
  return async (message: InvokeMessage): Promise<ResultMessage> => {
    const coldStart = !hasBeenInvoked
    hasBeenInvoked = true
    const store: InvocationLogStore = { lines: [] }
    const start = performance.now()
    const common = {
      type: 'result' as const,
      invocationId: message.invocationId,
      logs: store.lines,
      coldStart,
      ...(coldStart ? { initDurationMs } : {}),
      threadId,
    }
    try {
      const event = JSON.parse(message.eventJson) as unknown
      const result = await invocationLogStorage.run(store, () => handler(event, createLambdaContext(message)))
      // Lambda serialises the result as JSON; undefined is sent as null.
      const resultJson = JSON.stringify(result) ?? 'null'
      return { ...common, ok: true, resultJson, durationMs: performance.now() - start }
    } catch (error) {
      return { ...common, ok: false, error: serializeError(error), durationMs: performance.now() - start }
    }
  }
}
