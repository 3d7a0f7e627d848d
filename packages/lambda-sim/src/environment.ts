// One simulated execution environment: what is asked of its runtime (./runtime-process.ts). Classic
// environments take one invocation at a time (a turn each), frozen between them; Managed Instances
// queue what their concurrency cannot take yet. A timeout, an out-of-memory or a crash resets the
// environment: the next invocation inits afresh, /tmp kept.
import { randomUUID } from 'node:crypto'
import { basename, extname } from 'node:path'
import type { HandlerBundle } from './bundle.ts'
import { count, countedErrors } from './counts.ts'
import { dispatchTo } from './dispatch.ts'
import { LambdaSimError, lambdaSimErrorCodes } from './errors.ts'
import { eventJsonOf } from './event.ts'
import { FunctionOutput } from './function-output.ts'
import { Invocation } from './invocation.ts'
import { lambdaVariables } from './lambda-variables.ts'
import type { LambdaSimSettings } from './options.ts'
import { answeredOutcome, endedOutcome, failedToStart, timeoutError } from './outcomes.ts'
import { type RuntimeAnswer, RuntimeProcess } from './runtime-process.ts'
import { Sandbox } from './sandbox.ts'
import type { InvocationResult, InvokeOptions, SerializedError, ShutdownResult } from './types.ts'

export class LambdaEnvironment {
  readonly tmpDir: string
  readonly functionName: string
  /** What the function wrote outside invocations (and raw to stdout/stderr), the last 4 MiB of it. */
  readonly output: string[]
  /** How many times this environment has run its init phase (1, plus one per reset). */
  initCount = 0
  lastInitDurationMs: number | undefined

  readonly #settings: LambdaSimSettings
  readonly #entry: string
  readonly #bundle: HandlerBundle
  readonly #sandbox: Sandbox
  #running: RuntimeProcess | undefined
  #starting: Promise<RuntimeProcess> | undefined
  #classicTurn: Promise<unknown> = Promise.resolve()
  // Managed Instances: invocations waiting for a free slot of the environment's concurrency.
  readonly #queue: Invocation[] = []
  readonly #functionOutput: FunctionOutput
  #isShutDown = false
  #processCount = 0

  constructor(settings: LambdaSimSettings, entry: string, bundle: HandlerBundle) {
    this.#settings = settings
    this.#entry = entry
    this.#bundle = bundle
    this.#functionOutput = new FunctionOutput(settings.echoOutput)
    this.output = this.#functionOutput.chunks
    this.functionName = settings.functionName ?? basename(entry, extname(entry))
    this.#sandbox = new Sandbox(settings.tmpDir)
    this.tmpDir = this.#sandbox.tmpDir
  }

  get isManagedInstances(): boolean {
    return this.#settings.workers !== undefined
  }

  get #freezeBetweenInvocations(): boolean {
    // Lambda Managed Instances run on instances that are never frozen; classic environments are.
    return this.#settings.freeze ?? !this.isManagedInstances
  }

  /** The runtime's process id, while it runs. */
  get pid(): number | undefined {
    return this.#running?.pid
  }

  get isFrozen(): boolean {
    return this.#running?.frozen ?? false
  }

  // The init phase: one new runtime process at a time.
  async #ensureRunning(): Promise<RuntimeProcess> {
    if (this.#running) return this.#running
    this.#starting ??= this.#startProcess().finally(() => {
      this.#starting = undefined
    })
    return this.#starting
  }

  async #startProcess(): Promise<RuntimeProcess> {
    const running = await RuntimeProcess.start({
      settings: this.#settings,
      entry: this.#entry,
      bundle: this.#bundle,
      captureDirectory: this.#sandbox.captureDirectory,
      name: `runtime-${++this.#processCount}`,
      variables: (runtimeApi) =>
        lambdaVariables(this.#settings, this.functionName, this.#bundle, this.#sandbox, runtimeApi),
      events: {
        next: (process) => this.#onNext(process),
        answer: (process, answer) => this.#onAnswer(process, answer),
        overMemory: (process) => this.#discard(process),
        exit: (process, error) => this.#onExit(process, error),
        stdoutLine: (parsed, text) => this.#functionOutput.stdoutLine(parsed, text),
        stderrLine: (text) => this.#functionOutput.stderrLine(text),
        outputSoFar: () => this.#functionOutput.text(),
      },
    })
    this.initCount++
    count('inits')
    this.lastInitDurationMs = running.initDurationMs
    this.#running = running
    this.#becomeIdleIfDone(running)
    return running
  }

  // A process that timed out or ran out of memory is no longer the environment's, even before its exit
  // is seen: the next invocation inits a new one.
  #discard(running: RuntimeProcess): void {
    if (this.#running === running) this.#running = undefined
    running.tree.killAll()
  }

  // The runtime asks for an invocation after answering one (its first requests end init).
  #onNext(running: RuntimeProcess): void {
    const answered = running.invocations.awaitingNext
    if (answered) {
      running.invocations.awaitingNext = undefined
      this.#becomeIdleIfDone(running)
      this.#finish(answered, answered.answer as InvocationResult)
    }
    this.#dispatch(running)
    // Managed Instances with freeze: true freeze once every thread is back and nothing waits.
    if (this.isManagedInstances) this.#becomeIdleIfDone(running)
  }

  // Nothing in flight or queued: freeze (when the environment freezes), and let the output files
  // start again from empty while nothing can write to them.
  #becomeIdleIfDone(running: RuntimeProcess): void {
    if (!running.invocations.idle || this.#queue.length > 0) return
    if (running.waitingNexts.length < (this.#settings.workers ?? 1)) return
    running.output.drain()
    if (!this.#freezeBetweenInvocations) return
    running.freeze()
    running.output.drain()
    running.output.reset()
  }

  #dispatch(running: RuntimeProcess): void {
    dispatchTo(running, this.#queue, {
      capacity: this.isManagedInstances ? this.#settings.concurrency : 1,
      timeoutMs: this.#settings.timeoutMs,
      functionArn: `arn:aws:lambda:${this.#settings.region}:123456789012:function:${this.functionName}`,
      onTimeout: (invocation) => this.#onTimeout(running, invocation),
    })
  }

  #onAnswer(running: RuntimeProcess, { requestId, socket, text, error }: RuntimeAnswer): void {
    const { invocations } = running
    const invocation = invocations.inFlight.get(requestId)
    if (!invocation) return
    // Over the limit: the process is being killed, and its exit ends this invocation as out of memory.
    if (running.isOverMemory(false)) return
    invocations.inFlight.delete(requestId)
    clearTimeout(invocation.timeoutTimer)
    // Everything the runtime wrote for this invocation was written before it answered.
    running.output.drain()
    const thread = invocations.threadOf(socket, this.isManagedInstances)
    const outcome = answeredOutcome(
      invocation,
      { ...thread, initDurationMs: running.initDurationMs },
      text,
      error,
    )
    if (this.isManagedInstances) {
      this.#finish(invocation, outcome)
      this.#dispatch(running)
      this.#becomeIdleIfDone(running)
      return
    }
    // Classic: the invocation is over for the caller once the runtime asks for the next one (its logs
    // are all in then, and it is frozen), or its time is up.
    invocation.answer = outcome
    invocations.awaitingNext = invocation
    invocation.timeoutTimer = setTimeout(
      () => this.#onTimeout(running, invocation),
      Math.max(1, this.#settings.timeoutMs - outcome.durationMs),
    )
  }

  #finish(invocation: Invocation, outcome: InvocationResult): void {
    if (invocation.settled) return
    const final = invocation.settle(outcome)
    count('invocations')
    count('logLinesDropped', invocation.dropped.lines)
    const counted = final.ok ? undefined : countedErrors[final.error.name]
    if (counted) count(counted)
    this.#functionOutput.forget(invocation)
  }

  #onTimeout(running: RuntimeProcess, invocation: Invocation): void {
    if (invocation.settled) return
    // Lambda stops a timed-out invocation by resetting the environment; /tmp stays as it is.
    const outcome = invocation.answer ?? endedOutcome(invocation, timeoutError(this.#settings.timeoutMs))
    running.invocations.inFlight.delete(invocation.requestId)
    if (running.invocations.awaitingNext === invocation) running.invocations.awaitingNext = undefined
    running.output.drain()
    this.#finish(invocation, outcome)
    this.#discard(running)
  }

  #onExit(running: RuntimeProcess, error: SerializedError): void {
    if (this.#running === running) this.#running = undefined
    const { invocations } = running
    const answered = invocations.awaitingNext
    invocations.awaitingNext = undefined
    if (answered) this.#finish(answered, answered.answer as InvocationResult)
    for (const invocation of invocations.inFlight.values())
      this.#finish(invocation, endedOutcome(invocation, error))
    invocations.inFlight.clear()
    // Managed Instances: what waited for a slot goes to the next process.
    if (this.#queue.length > 0 && !this.#isShutDown)
      this.#ensureRunning().then(
        (next) => this.#dispatch(next),
        (startError: Error) => this.#failWaiting(startError),
      )
  }

  #failWaiting(error: Error): void {
    for (const invocation of this.#queue.splice(0))
      this.#finish(invocation, failedToStart(invocation.requestId, error))
  }

  /** Runs the init phase now, unless the environment's runtime is already running. */
  async init(): Promise<void> {
    await this.#ensureRunning()
  }

  /**
   * Sends one invocation and waits for its outcome: the handler's result, or its error. Throws (before
   * anything reaches the runtime) for an event JSON cannot carry faithfully, or one over Lambda's 6 MB.
   */
  async invoke<Result = unknown>(
    event: unknown = {},
    options: InvokeOptions = {},
  ): Promise<InvocationResult<Result>> {
    const { functionName } = this
    if (this.#isShutDown)
      throw new LambdaSimError(
        lambdaSimErrorCodes.shutDown,
        `the environment of ${functionName} has been shut down`,
      )
    let eventJson: string
    try {
      eventJson = eventJsonOf(event)
    } catch (refusal) {
      count('eventsRefused')
      throw refusal
    }
    // A classic environment runs one invocation at a time; Managed Instances take several.
    if (this.isManagedInstances) return this.#invokeNow<Result>(eventJson, options)
    const turn = this.#classicTurn.then(() => this.#invokeNow<Result>(eventJson, options))
    this.#classicTurn = turn.catch(() => undefined)
    return turn
  }

  async #invokeNow<Result>(eventJson: string, options: InvokeOptions): Promise<InvocationResult<Result>> {
    const requestId = randomUUID()
    let running: RuntimeProcess
    try {
      running = await this.#ensureRunning()
    } catch (error) {
      return failedToStart(requestId, error as Error) as InvocationResult<Result>
    }
    const outcome = new Promise<InvocationResult>((settle) => {
      const { maxLogBytesPerInvocation } = this.#settings
      const invocation = new Invocation(requestId, eventJson, options, settle, maxLogBytesPerInvocation)
      this.#functionOutput.track(invocation)
      this.#queue.push(invocation)
    })
    this.#dispatch(running)
    return (await outcome) as InvocationResult<Result>
  }

  /** Kills the environment's processes at once (SIGKILL), mid-invocation if one is running. */
  async crash(): Promise<void> {
    const running = this.#running
    if (!running) return
    this.#discard(running)
    await running.exited
  }

  /** Ends the environment as Lambda does (RuntimeProcess.shutdown); what waited fails; a made /tmp goes. */
  async shutdown(): Promise<ShutdownResult> {
    if (this.#isShutDown) return { exitedWithinGracePeriod: true }
    this.#isShutDown = true
    const running = this.#running ?? (await this.#starting?.catch(() => undefined))
    const exitedWithinGracePeriod = running ? await running.shutdown() : false
    this.#failWaiting(new Error('the environment was shut down'))
    this.#sandbox.remove()
    return { exitedWithinGracePeriod }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown()
  }
}
