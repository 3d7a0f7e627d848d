// Messages between the simulator (parent), the environment's process (child) and its worker threads.
// They travel as JSON over the IPC channel, as events and results travel as JSON through Lambda.

export interface SerializedError {
  name: string
  message: string
  stack?: string
  code?: string
}

export interface LogLine {
  level: 'INFO' | 'WARN' | 'ERROR' | 'DEBUG' | 'TRACE'
  message: string
}

export interface InvokeMessage {
  type: 'invoke'
  invocationId: number
  awsRequestId: string
  eventJson: string
  // Epoch milliseconds at which the invocation times out; both sides read the same clock.
  deadlineEpochMs: number
}

export interface ReadyMessage {
  type: 'ready'
  initDurationMs: number
  threads: number
}

export interface InitFailedMessage {
  type: 'init-failed'
  error: SerializedError
}

export interface ResultMessage {
  type: 'result'
  invocationId: number
  ok: boolean
  // The handler's return value as Lambda would send it: JSON text (undefined becomes null).
  resultJson?: string
  error?: SerializedError
  logs: LogLine[]
  durationMs: number
  coldStart: boolean
  initDurationMs?: number
  threadId: number
}

export interface LogMessage {
  type: 'log'
  line: LogLine
}

export interface FatalMessage {
  type: 'fatal'
  error: SerializedError
}

export interface ShutdownMessage {
  type: 'shutdown'
}

export type ParentToChildMessage = InvokeMessage | ShutdownMessage
export type ChildToParentMessage =
  | ReadyMessage
  | InitFailedMessage
  | ResultMessage
  | LogMessage
  | FatalMessage

export const serializeError = (error: unknown): SerializedError => {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return {
      name: error.name,
      message: error.message,
      ...(error.stack ? { stack: error.stack } : {}),
      ...(typeof code === 'string' ? { code } : {}),
    }
  }
  return { name: 'Error', message: String(error) }
}
