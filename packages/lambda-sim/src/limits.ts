// Lambda's numbers, each with where AWS says it, and the simulator's own bounds below them. Every
// other module takes its limits from here.

/**
 * The synchronous request (event) limit: "Request must be smaller than 6291456 bytes for the
 * InvokeFunction operation" (RequestTooLargeException; Lambda quotas page, "Invocation payload
 * (request and response): 6 MB each").
 */
export const maxEventBytes = 6_291_456

/**
 * The synchronous response limit. The quotas page says 6 MB; the limit Lambda applies, as its own
 * error says, is 6,291,556 bytes: "Response payload size exceeded maximum allowed payload size
 * (6291556 bytes)." (Function.ResponseSizeTooLarge).
 */
export const maxResponseBytes = 6_291_556

export const responseTooLargeMessage = `Response payload size exceeded maximum allowed payload size (${maxResponseBytes} bytes).`

/** The function's timeout: 1 s to 900 s, 3 s by default (Lambda quotas page; CreateFunction's Timeout). */
export const timeoutMs = { minimum: 1, maximum: 900_000, default: 3_000 } as const

/** The function's memory: 128 MB to 10,240 MB (Lambda quotas page, "Configure Lambda function memory"). */
export const memoryMb = { minimum: 128, maximum: 10_240, default: 128 } as const

/**
 * A Managed Instance's execution environment has at least 2 GiB: ExecutionEnvironmentMemoryGiBPerVCpu
 * is 2.0 to 8.0 per vCPU (Lambda API reference, LambdaManagedInstancesCapacityProviderConfig).
 */
export const managedInstancesDefaultMemoryMb = 2_048

/** The init phase: 10 s ("Lambda execution environment lifecycle" page, Init phase). */
export const initTimeoutMs = 10_000

/**
 * The runtime's share of the shutdown phase after SIGTERM: 300 ms with external extensions only, 500 ms
 * once an internal one registered, and 2,000 ms for the whole phase, the SHUTDOWN event's deadline
 * ("Lambda Extensions API" page, Shutdown phase; aws-samples/graceful-shutdown-with-aws-lambda).
 */
export const runtimeShutdownBudgetMs = { external: 300, internal: 500 } as const
export const shutdownPhaseMs = 2_000

/** Lambda's Node runtime gives V8 this share of the function's memory as its heap limit. */
export const heapShareOfMemory = 0.9

/**
 * The longest log line kept whole: CloudWatch Logs' event limit, 256 KB (262,144 bytes; CloudWatch
 * Logs quotas page, "Event size"). A longer line is cut to it, and what is cut off is counted.
 */
export const maxLogLineBytes = 256 * 1024

// The simulator's own bounds (not Lambda's).

/** What an invocation keeps of its log lines by default (maxLogBytesPerInvocation), and its range. */
export const logBytesPerInvocation = {
  minimum: 1_024,
  maximum: 256 * 1024 * 1024,
  default: 1024 * 1024,
} as const

/** What the simulator keeps of what the function wrote outside invocations. */
export const maxOutputCharacters = 4 * 1024 * 1024

/** How often a running (not frozen) environment's memory and output are looked at. */
export const watchEveryMs = 20

/** The last lines of the runtime's stderr kept to say why it ended. */
export const stderrTailLines = 20
