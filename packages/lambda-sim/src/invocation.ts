// One invocation as the environment follows it, and the invocations one runtime process has taken.
import type { Socket } from 'node:net'
import { logBytesPerInvocation } from './limits.ts'
import { type DroppedLogs, withDroppedLogs } from './outcomes.ts'
import type { ParsedLine } from './output.ts'
import type { InvocationResult, InvokeOptions, LogLine } from './types.ts'

export class Invocation {
  readonly requestId: string
  readonly eventJson: string
  readonly options: InvokeOptions
  readonly logs: LogLine[] = []
  readonly dropped: DroppedLogs = { lines: 0, bytes: 0, cutLines: 0 }
  startedAt = performance.now()
  timeoutTimer: NodeJS.Timeout | undefined
  // The runtime's answer, once it came (classic mode waits for the runtime to ask for the next).
  answer: InvocationResult | undefined
  settled = false
  readonly #settle: (outcome: InvocationResult) => void
  readonly #maxLogBytes: number
  #logBytes = 0

  constructor(
    requestId: string,
    eventJson: string,
    options: InvokeOptions,
    settle: (outcome: InvocationResult) => void,
    maxLogBytes: number = logBytesPerInvocation.default,
  ) {
    this.requestId = requestId
    this.eventJson = eventJson
    this.options = options
    this.#settle = settle
    this.#maxLogBytes = maxLogBytes
  }

  get durationMs(): number {
    return performance.now() - this.startedAt
  }

  // A line of the runtime's that carries this invocation's request id. Kept while the capture has room
  // (a line cut at CloudWatch's event size counts what was cut off); past it, counted and not kept,
  // and so is every later line, so that what is kept is a prefix of what was written. False when the
  // line is not one of the runtime's JSON lines, for the environment's output to keep.
  capture(parsed: ParsedLine): boolean {
    if (this.dropped.lines === 0 && this.#logBytes + parsed.bytes <= this.#maxLogBytes) {
      const line = parsed.line()
      if (!line) return false
      this.logs.push(line)
      this.#logBytes += parsed.bytes
      if (parsed.cutBytes > 0) {
        this.dropped.cutLines++
        this.dropped.bytes += parsed.cutBytes
      }
      return true
    }
    this.dropped.lines++
    this.dropped.bytes += parsed.bytes + parsed.cutBytes
    return true
  }

  // Ends the invocation with its outcome, and what its logs could not keep said; returns what it gave.
  settle(outcome: InvocationResult): InvocationResult {
    clearTimeout(this.timeoutTimer)
    this.settled = true
    const final = withDroppedLogs(outcome, this.dropped, this.#maxLogBytes)
    this.#settle(final)
    return final
  }
}

// What one runtime process has taken: the invocations in flight, the classic one answered and waiting
// for the runtime's next request, and the threads that answered.
export class ProcessInvocations {
  readonly inFlight = new Map<string, Invocation>()
  awaitingNext: Invocation | undefined
  dispatched = 0
  readonly #threadsBySocket = new Map<Socket, number>()

  get idle(): boolean {
    return this.inFlight.size === 0 && this.awaitingNext === undefined
  }

  // Classic: thread 0, a cold start on the process's first invocation. Managed Instances: aws-lambda-ric
  // posts each answer from the worker thread that ran it, on that thread's own keep-alive connection
  // (aws-lambda-cpp keeps one curl handle per thread; the JavaScript client one poster per thread): the
  // connection names the thread, and its first answer is that thread's cold start.
  threadOf(socket: Socket, managedInstances: boolean): { threadId: number; coldStart: boolean } {
    if (!managedInstances) return { threadId: 0, coldStart: this.dispatched === 1 }
    const known = this.#threadsBySocket.get(socket)
    if (known !== undefined) return { threadId: known, coldStart: false }
    const threadId = this.#threadsBySocket.size + 1
    this.#threadsBySocket.set(socket, threadId)
    return { threadId, coldStart: true }
  }
}
