// What an invocation gives back, built from what happened: the runtime's answer or error, a timeout, the
// runtime's end (a crash, an exit, out of memory), a failed start, and the log lines not kept. Pure
// functions, shaped and worded as Lambda reports each.
import { maxLogLineBytes, responseTooLargeMessage } from './limits.ts'
import type { InvocationResult, LogLine, SerializedError } from './types.ts'

export interface OutcomeBase {
  requestId: string
  durationMs: number
  coldStart: boolean
  initDurationMs?: number
  logs: LogLine[]
  threadId?: number
}

// The body of the runtime's POST …/error (or …/init/error): Lambda's { errorType, errorMessage, trace }.
export const parseErrorBody = (text: string | undefined, errorType: string | undefined): SerializedError => {
  let parsed: { errorType?: unknown; errorMessage?: unknown; trace?: unknown } = {}
  try {
    parsed = JSON.parse(text ?? '{}')
  } catch {
    // The runtime sent something that is not Lambda's error shape: say so rather than guess.
  }
  const name =
    typeof parsed.errorType === 'string' && parsed.errorType ? parsed.errorType : (errorType ?? 'Error')
  const message = typeof parsed.errorMessage === 'string' ? parsed.errorMessage : ''
  const stack = Array.isArray(parsed.trace) && parsed.trace.length > 0 ? parsed.trace.join('\n') : undefined
  return { name, message, ...(stack ? { stack } : {}) }
}

// The runtime's POST …/response: its JSON as the result, the text itself when it is not JSON (a
// streamed answer), or Function.ResponseSizeTooLarge when it was over the limit (no text kept).
export const answerOutcome = (base: OutcomeBase, text: string | undefined): InvocationResult => {
  if (text === undefined)
    return {
      ...base,
      ok: false,
      error: { name: 'Function.ResponseSizeTooLarge', message: responseTooLargeMessage },
    }
  let result: unknown = text
  try {
    result = JSON.parse(text)
  } catch {
    // A streamed or non-JSON answer is given back as the text it is.
  }
  return { ...base, ok: true, result }
}

export const errorOutcome = (base: OutcomeBase, error: SerializedError): InvocationResult => ({
  ...base,
  ok: false,
  error,
})

// The runtime answered (text) or failed (error) an invocation, on a thread; a cold start carries the
// init phase's duration.
export const answeredOutcome = (
  invocation: { requestId: string; durationMs: number; logs: LogLine[] },
  thread: { threadId: number; coldStart: boolean; initDurationMs: number | undefined },
  text: string | undefined,
  error: SerializedError | undefined,
): InvocationResult => {
  const { threadId, coldStart, initDurationMs } = thread
  const base: OutcomeBase = {
    requestId: invocation.requestId,
    durationMs: invocation.durationMs,
    coldStart,
    ...(coldStart && initDurationMs !== undefined ? { initDurationMs } : {}),
    logs: invocation.logs,
    threadId,
  }
  return error ? errorOutcome(base, error) : answerOutcome(base, text)
}

export const timeoutError = (timeoutMs: number): SerializedError => ({
  name: 'Sandbox.Timedout',
  message: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
})

// An invocation the platform ended (a timeout, the runtime's end): never a cold start, since the
// runtime had taken it.
export const endedOutcome = (
  { requestId, durationMs, logs }: { requestId: string; durationMs: number; logs: LogLine[] },
  error: SerializedError,
): InvocationResult => ({ requestId, ok: false, error, durationMs, coldStart: false, logs })

export const outOfMemoryError = (residentBytes: number, memoryMb: number): SerializedError => ({
  name: 'Runtime.OutOfMemory',
  message: `Runtime exited with error: signal: killed (the environment used ${Math.round(residentBytes / 1024 / 1024)} MB of its ${memoryMb} MB)`,
})

// The runtime's own last error line on stderr (aws-lambda-ric 4.0.2 crashes formatting a thrown
// Object.create(null) or a hostile Proxy, for instance), cut to 300 characters.
export const lastErrorLine = (stderrTail: readonly string[]): string | undefined =>
  stderrTail.find((line) => /^[\w.]*(Error|Exception)\b[^:]*:/.test(line))?.slice(0, 300)

// V8 aborts when its heap is full and says so on stderr; Lambda reports it as running out of memory.
export const heapRanOut = (stderrTail: readonly string[]): boolean =>
  /heap out of memory/i.test(stderrTail.join('\n'))

export interface RuntimeEnd {
  code: number | null
  signal: NodeJS.Signals | null
  stderrTail: readonly string[]
  memoryMb: number
}

// Why the runtime's process ended, as the invocations it had taken see it.
export const exitError = ({ code, signal, stderrTail, memoryMb }: RuntimeEnd): SerializedError => {
  if (heapRanOut(stderrTail))
    return {
      name: 'Runtime.OutOfMemory',
      message: `Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`} (JavaScript heap out of memory at ${memoryMb} MB)`,
    }
  const lastWords = lastErrorLine(stderrTail)
  return {
    name: 'Runtime.ExitError',
    message: `Runtime exited with ${signal ? `signal: ${signal}` : `error: exit status ${code}`}${lastWords ? ` (the runtime's last error: ${lastWords})` : ''}`,
  }
}

// The init phase's failure when the process ended during it: the exit, why when it is known (out of
// memory), and the last five lines it wrote.
export const initExitMessage = (
  { code, signal }: Pick<RuntimeEnd, 'code' | 'signal'>,
  why: SerializedError | undefined,
  output: string,
): string => {
  const lastLines = output.trim().split('\n').slice(-5).join('\n')
  return `the environment's process exited during init (${signal ?? `code ${code}`})${why ? ` ${why.name}: ${why.message}` : ''}${lastLines ? `:\n${lastLines}` : ''}`
}

// An invocation that never reached a runtime: its environment could not start, or was shut down.
export const failedToStart = (requestId: string, error: Error): InvocationResult => ({
  requestId,
  ok: false,
  error: { name: error.name, message: error.message },
  durationMs: 0,
  coldStart: true,
  logs: [],
})

/** Log lines not kept whole: dropped past the capture limit, or cut at CloudWatch's event size. */
export interface DroppedLogs {
  // Lines not kept at all, and the bytes not kept (of those lines and of the cut ones).
  lines: number
  bytes: number
  // Lines kept, cut to maxLogLineBytes.
  cutLines: number
}

export const droppedLogsNotice = (dropped: DroppedLogs, limit: number): LogLine => {
  const parts: string[] = []
  if (dropped.lines > 0)
    parts.push(
      `${dropped.lines} more log lines (${dropped.bytes} bytes) were dropped: the capture keeps ${limit} bytes per invocation (maxLogBytesPerInvocation)`,
    )
  if (dropped.cutLines > 0)
    parts.push(
      `${dropped.cutLines} log ${dropped.cutLines === 1 ? 'line was' : 'lines were'} cut to ${maxLogLineBytes} bytes, CloudWatch Logs' event size${dropped.lines > 0 ? '' : ` (${dropped.bytes} bytes not kept)`}`,
    )
  return { level: 'WARN', message: `@thaw/lambda-sim: ${parts.join('; ')}` }
}

// The outcome with what was not kept said: counted in logsDropped, and in a last WARN line.
export const withDroppedLogs = (
  outcome: InvocationResult,
  dropped: DroppedLogs,
  limit: number,
): InvocationResult => {
  if (dropped.lines === 0 && dropped.cutLines === 0) return outcome
  return {
    ...outcome,
    logs: [...outcome.logs, droppedLogsNotice(dropped, limit)],
    logsDropped: { ...dropped },
  }
}
