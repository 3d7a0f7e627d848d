// What an invocation gives back, shaped as Lambda reports it.

export interface SerializedError {
  // Lambda's errorType: the handler's error name, or the platform's (Sandbox.Timedout, Runtime.ExitError…).
  name: string
  message: string
  stack?: string
  code?: string
}

export interface LogLine {
  level: 'INFO' | 'WARN' | 'ERROR' | 'DEBUG' | 'TRACE' | 'FATAL'
  message: string
}

interface InvocationOutcomeBase {
  requestId: string
  /** From the event handed to the runtime to its answer (Lambda's REPORT Duration). */
  durationMs: number
  /** The first invocation after an init (of the process, or of one runtime thread). */
  coldStart: boolean
  /** The init phase's duration, on a cold start. */
  initDurationMs?: number
  /** What the function logged during this invocation (its lines carrying this request id). */
  logs: LogLine[]
  /**
   * Log lines not kept whole (the last line of `logs` says so too): `lines` past the capture limit,
   * not kept; `cutLines` kept cut at 256 KB, CloudWatch Logs' event size; `bytes` not kept of both.
   */
  logsDropped?: { lines: number; bytes: number; cutLines: number }
  /** The runtime thread that answered: 0 in classic mode, 1… for Managed Instances' worker threads. */
  threadId?: number
}

export type InvocationResult<Result = unknown> =
  | (InvocationOutcomeBase & { ok: true; result: Result })
  | (InvocationOutcomeBase & { ok: false; error: SerializedError })

/** The optional parts of an invocation that Lambda passes as Runtime API headers. */
export interface InvokeOptions {
  /** Lambda-Runtime-Client-Context (context.clientContext), as a mobile SDK would send it. */
  clientContext?: Record<string, unknown>
  /** Lambda-Runtime-Cognito-Identity (context.identity). */
  identity?: { cognitoIdentityId: string; cognitoIdentityPoolId: string }
  /** Lambda-Runtime-Trace-Id; a new X-Ray trace header when left out. */
  traceId?: string
}

export interface ShutdownResult {
  /**
   * The runtime got SIGTERM (an extension was registered) and exited before its budget ran out. False
   * when it was killed: after its budget, or at once because no extension asked for SIGTERM.
   */
  exitedWithinGracePeriod: boolean
}
