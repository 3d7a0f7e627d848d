// One simulated execution environment. Its process is AWS's own runtime interface client
// (aws-lambda-ric 4.0.2), which loads the bundled handler and asks this simulator's Runtime API for
// invocations, as it asks Lambda's. Between invocations the process group is frozen (SIGSTOP) when the
// runtime asks for the next one, and thawed (SIGCONT) before that request is answered. A timeout, an
// out-of-memory or a crash resets the environment: the next invocation inits afresh, /tmp kept.
import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import type { Server, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, extname, join, resolve } from 'node:path'
import { bundleHandler, type HandlerBundle, prebuiltBundle } from './bundle.ts'
import { EnvironmentStartError, LambdaSimError, lambdaSimErrorCodes } from './errors.ts'
import { type LambdaSimOptions, type LambdaSimSettings, lambdaSimValidateOptions } from './options.ts'
import { type ParsedLine, RuntimeOutput } from './output.ts'
import { ProcessTree } from './process-tree.ts'
import { type ReceivedBody, startRuntimeApi } from './runtime-api.ts'
import type { InvocationResult, InvokeOptions, LogLine, SerializedError, ShutdownResult } from './types.ts'

export type { InvocationResult } from './types.ts'

// Lambda's synchronous request payload limit: "Request must be smaller than 6291456 bytes for the
// InvokeFunction operation" (RequestTooLargeException; Lambda quotas page: 6 MB request and response).
const maxEventBytes = 6_291_456
// What the simulator keeps of what the function wrote outside invocations.
const maxOutputCharacters = 4 * 1024 * 1024
// How often a running (not frozen) environment's memory and output are looked at.
const watchEveryMs = 20
// Lambda's shutdown budgets for the runtime after SIGTERM: 300 ms with external extensions, 500 ms with
// an internal one, 2,000 ms for the whole phase (Lambda Extensions API page, "Shutdown phase").
const runtimeShutdownBudgetMs = { external: 300, internal: 500 }

const ricEntry = createRequire(import.meta.url).resolve('aws-lambda-ric')

// What this process's environments did, for lambdaSimStats().
const counts = {
  inits: 0,
  invocations: 0,
  timeouts: 0,
  outOfMemory: 0,
  runtimeExits: 0,
  eventsRefused: 0,
  logLinesDropped: 0,
}
export const environmentCounts = (): Readonly<typeof counts> => ({ ...counts })

interface Invocation {
  requestId: string
  eventJson: string
  options: InvokeOptions
  timeoutTimer?: NodeJS.Timeout
  startedAt: number
  logs: LogLine[]
  logBytes: number
  dropped: { lines: number; bytes: number }
  // The runtime's answer, once it came (classic mode waits for the runtime to ask for the next).
  answer?: InvocationResult
  settle: (outcome: InvocationResult) => void
  settled: boolean
}

interface RegisteredExtension {
  name: string
  internal: boolean
  pendingNext?: ServerResponse
}

interface RuntimeProcess {
  tree: ProcessTree
  server: Server
  output: RuntimeOutput
  startedAt: number
  initialised: boolean
  initDurationMs?: number
  waitingNexts: ServerResponse[]
  inFlight: Map<string, Invocation>
  // Classic mode: the invocation answered, waiting for the runtime to ask for the next one.
  awaitingNext?: Invocation
  dispatchedCount: number
  threadsBySocket: Map<Socket, number>
  frozen: boolean
  exited: Promise<void>
  hasExited: boolean
  // Why it ended, when the simulator ended it (out of memory), for the invocations in flight.
  endedBecause?: SerializedError
  stderrTail: string[]
  extensions: Map<string, RegisteredExtension>
  watchTimer: NodeJS.Timeout
  onInitDone?: (error?: EnvironmentStartError) => void
}

const lambdaTraceId = () => {
  const epochHex = Math.floor(Date.now() / 1000).toString(16)
  return `Root=1-${epochHex}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`
}

const parseErrorBody = (body: ReceivedBody, errorType: string | undefined): SerializedError => {
  let parsed: { errorType?: unknown; errorMessage?: unknown; trace?: unknown } = {}
  try {
    parsed = JSON.parse(body.text ?? '{}')
  } catch {
    // The runtime sent something that is not Lambda's error shape: say so rather than guess.
  }
  const name =
    typeof parsed.errorType === 'string' && parsed.errorType ? parsed.errorType : (errorType ?? 'Error')
  const message = typeof parsed.errorMessage === 'string' ? parsed.errorMessage : ''
  const stack = Array.isArray(parsed.trace) && parsed.trace.length > 0 ? parsed.trace.join('\n') : undefined
  return { name, message, ...(stack ? { stack } : {}) }
}

export class LambdaEnvironment {
  readonly tmpDir: string
  readonly functionName: string
  /** What the function wrote outside invocations (and raw to stdout/stderr), the last 4 MiB of it. */
  readonly output: string[] = []
  /** How many times this environment has run its init phase (1, plus one per reset). */
  initCount = 0
  lastInitDurationMs: number | undefined

  readonly #settings: LambdaSimSettings
  readonly #entry: string
  readonly #bundle: HandlerBundle
  readonly #ownsTmpDir: boolean
  readonly #logStreamName: string
  readonly #captureDirectory: string
  #running: RuntimeProcess | undefined
  #starting: Promise<RuntimeProcess> | undefined
  #classicTurn: Promise<unknown> = Promise.resolve()
  // Managed Instances: invocations waiting for a free slot of the environment's concurrency.
  readonly #queue: Invocation[] = []
  readonly #byRequestId = new Map<string, Invocation>()
  #isShutDown = false
  #outputCharacters = 0
  #processCount = 0

  constructor(settings: LambdaSimSettings, entry: string, bundle: HandlerBundle) {
    this.#settings = settings
    this.#entry = entry
    this.#bundle = bundle
    this.functionName = settings.functionName ?? basename(entry, extname(entry))
    this.#ownsTmpDir = settings.tmpDir === undefined
    this.tmpDir = settings.tmpDir ?? mkdtempSync(join(tmpdir(), 'thaw-lambda-sim-tmp-'))
    mkdirSync(this.tmpDir, { recursive: true })
    this.#captureDirectory = mkdtempSync(join(tmpdir(), 'thaw-lambda-sim-output-'))
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/')
    this.#logStreamName = `${today}/[$LATEST]${randomBytes(16).toString('hex')}`
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
    return this.#running?.tree.pid
  }

  get isFrozen(): boolean {
    return this.#running?.frozen ?? false
  }

  get #functionArn(): string {
    return `arn:aws:lambda:${this.#settings.region}:123456789012:function:${this.functionName}`
  }

  #lambdaEnvironmentVariables(runtimeApi: string): Record<string, string> {
    const { region, memoryMb, exportName, workers, concurrency } = this.#settings
    const moduleName = basename(this.#bundle.file, extname(this.#bundle.file))
    return {
      PATH: '/var/lang/bin:/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      TMPDIR: this.tmpDir,
      LAMBDA_TASK_ROOT: this.#bundle.directory,
      LAMBDA_RUNTIME_DIR: this.#bundle.directory,
      _HANDLER: `${moduleName}.${exportName}`,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_LAMBDA_RUNTIME_API: runtimeApi,
      AWS_LAMBDA_FUNCTION_NAME: this.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${this.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: this.#logStreamName,
      // The JSON log format carries the request id on every line: that is how lines find their invocation.
      AWS_LAMBDA_LOG_FORMAT: 'JSON',
      // The ric's own switch to ask for /next with node:http rather than its native client. The native
      // client waits for /next in curl on a libuv pool thread, and at exit Node joins the pool: a SIGTERM
      // listener's process.exit() then hangs until SIGKILL (seen here with aws-lambda-ric 4.0.2 on Node
      // 24.21), and in multi-concurrency mode each worker thread's wait takes a pool thread from the
      // handlers' fs and dns calls. Answers and errors still go through the native client.
      AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1: 'true',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      // Lambda hands the function its role's credentials in the environment. Fake ones here keep the
      // SDK's default provider chain from ever looking for an instance metadata service.
      AWS_ACCESS_KEY_ID: 'ASIATHAWLAMBDASIM000',
      AWS_SECRET_ACCESS_KEY: 'thaw-lambda-sim-secret-access-key',
      AWS_SESSION_TOKEN: 'thaw-lambda-sim-session-token',
      ...(workers === undefined
        ? {}
        : {
            AWS_LAMBDA_MAX_CONCURRENCY: String(concurrency),
            AWS_LAMBDA_NODEJS_WORKER_COUNT: String(workers),
          }),
      ...this.#settings.env,
    }
  }

  // The output is kept for assertions and error messages, not as a log store: a long benchmark or a
  // chatty handler would otherwise grow it without bound. The oldest chunks go first.
  #appendOutput(text: string): void {
    this.output.push(text)
    this.#outputCharacters += text.length
    while (this.#outputCharacters > maxOutputCharacters && this.output.length > 1)
      this.#outputCharacters -= (this.output.shift() as string).length
  }

  #onStdoutLine(parsed: ParsedLine, text: string): void {
    if (this.#settings.echoOutput) process.stderr.write(`${text}\n`)
    const invocation = parsed.requestId === undefined ? undefined : this.#byRequestId.get(parsed.requestId)
    if (invocation && !invocation.settled) {
      const limit = this.#settings.maxLogBytesPerInvocation
      if (invocation.dropped.lines === 0 && invocation.logBytes + parsed.bytes <= limit) {
        const line = parsed.line()
        if (line) {
          invocation.logs.push(line)
          invocation.logBytes += parsed.bytes
          return
        }
      } else {
        invocation.dropped.lines++
        invocation.dropped.bytes += parsed.bytes
        return
      }
    }
    const line = parsed.line()
    this.#appendOutput(line ? `${line.level}\t${line.message}\n` : `${text}\n`)
  }

  #onStderrLine(running: () => RuntimeProcess | undefined, text: string): void {
    if (this.#settings.echoOutput) process.stderr.write(`${text}\n`)
    const tail = running()?.stderrTail
    if (tail) {
      tail.push(text)
      if (tail.length > 20) tail.shift()
    }
    this.#appendOutput(`${text}\n`)
  }

  // The init phase: the Runtime API, the runtime's process, and its first request for an invocation.
  async #startProcess(): Promise<RuntimeProcess> {
    const processNumber = ++this.#processCount
    const startedAt = performance.now()
    let current: RuntimeProcess | undefined
    const output = new RuntimeOutput(
      this.#captureDirectory,
      `runtime-${processNumber}`,
      (parsed, text) => this.#onStdoutLine(parsed, text),
      (text) => this.#onStderrLine(() => current, text),
    )
    const extensions = new Map<string, RegisteredExtension>()
    if (this.#settings.noOpExtension) extensions.set(randomUUID(), { name: 'thaw-no-op', internal: false })
    const { server, address } = await startRuntimeApi({
      next: (response) => current && this.#onNext(current, response),
      response: (requestId, body, socket) => current && this.#onAnswer(current, requestId, socket, body),
      error: (requestId, body, errorType, socket) =>
        current && this.#onAnswer(current, requestId, socket, undefined, parseErrorBody(body, errorType)),
      initError: (body, errorType) => {
        if (!current || current.initialised) return
        const { name, message } = parseErrorBody(body, errorType)
        // The ric says only "index.handler is not a function"; the bundle's exports say what is there.
        const exported =
          name === 'Runtime.HandlerNotFound' && this.#bundle.exports
            ? ` (the bundle exports: ${this.#bundle.exports.join(', ') || 'nothing'})`
            : ''
        current.onInitDone?.(
          new EnvironmentStartError(`init of ${this.#entry} failed: ${name}: ${message}${exported}`),
        )
      },
      registerExtension: (name, events) => {
        // Extensions register during the init phase (Lambda Extensions API page).
        if (!current || current.initialised) return { refused: 'extensions register during the init phase' }
        const id = randomUUID()
        extensions.set(id, { name, internal: true })
        void events
        return { id }
      },
      extensionNext: (id, response) => {
        const extension = extensions.get(id)
        if (!extension) return false
        extension.pendingNext = response
        return true
      },
    })
    const { memoryMb } = this.#settings
    const child = spawn(
      process.execPath,
      [
        // Lambda's Node runtime sizes the heap from the function's memory the same way. Source maps are
        // off, as on Lambda unless NODE_OPTIONS says otherwise (env: { NODE_OPTIONS:
        // '--enable-source-maps' }): parsing a bundle's map on the first stack trace costs a database
        // handler's bundle about 35 MB of its memory (measured here: 112 MB against 88 MB after init).
        `--max-old-space-size=${Math.max(16, Math.floor(memoryMb * 0.9))}`,
        '--disable-warning=ExperimentalWarning',
        ricEntry,
      ],
      {
        env: this.#lambdaEnvironmentVariables(address),
        cwd: this.#bundle.directory,
        stdio: ['ignore', output.stdout.fd, output.stderr.fd],
        // Its own process group: the freeze and the kill reach whatever the handler starts.
        detached: true,
      },
    )
    if (child.pid === undefined) {
      // The spawn failed: Node says so in an 'error' event, which must have a listener.
      child.once('error', () => undefined)
      server.close()
      output.close()
      throw new EnvironmentStartError(`could not start the runtime (${process.execPath})`)
    }
    const tree = new ProcessTree(child)
    let markExited: () => void = () => undefined
    const running: RuntimeProcess = {
      tree,
      server,
      output,
      startedAt,
      initialised: false,
      waitingNexts: [],
      inFlight: new Map(),
      dispatchedCount: 0,
      threadsBySocket: new Map(),
      frozen: false,
      hasExited: false,
      exited: new Promise((resolveExit) => {
        markExited = resolveExit
      }),
      stderrTail: [],
      extensions,
      watchTimer: setInterval(() => this.#watch(running), watchEveryMs).unref(),
    }
    current = running
    // A spawn that fails after the fact (the binary vanished) ends init with the reason, not a crash.
    child.once('error', (error) =>
      running.onInitDone?.(
        new EnvironmentStartError(`could not start the runtime: ${error.message}`, { cause: error }),
      ),
    )
    child.once('exit', (code, signal) => {
      this.#onExit(running, code, signal)
      markExited()
    })

    const { initTimeoutMs } = this.#settings
    await new Promise<void>((resolveInit, rejectInit) => {
      const initTimer = setTimeout(
        () =>
          running.onInitDone?.(
            new EnvironmentStartError(
              `init did not finish within ${initTimeoutMs} ms (Lambda's init phase limit is 10 s)`,
            ),
          ),
        initTimeoutMs,
      )
      running.onInitDone = (error) => {
        clearTimeout(initTimer)
        running.onInitDone = undefined
        if (error) {
          tree.killAll()
          rejectInit(error)
        } else resolveInit()
      }
    }).catch(async (error: unknown) => {
      await running.exited
      throw error
    })
    this.initCount++
    counts.inits++
    running.initDurationMs = performance.now() - startedAt
    this.lastInitDurationMs = running.initDurationMs
    this.#running = running
    this.#becomeIdleIfDone(running)
    return running
  }

  #watch(running: RuntimeProcess): void {
    if (running.frozen || running.hasExited) return
    running.output.drain()
    this.#isOverMemory(running, true)
  }

  // Lambda's memory limit holds for the whole sandbox, not only the V8 heap: native buffers and child
  // processes count. Past it, every process is killed and the invocations in flight fail. Looked at
  // every 20 ms while the runtime runs, and at every answer, so that a handler that allocates and
  // answers between two looks is still caught (and its spawned processes are known before the freeze).
  #isOverMemory(running: RuntimeProcess, walk: boolean): boolean {
    if (running.endedBecause) return true
    const residentBytes = running.tree.residentBytes({ walk })
    if (residentBytes <= this.#settings.memoryMb * 1024 * 1024) return false
    running.endedBecause = {
      name: 'Runtime.OutOfMemory',
      message: `Runtime exited with error: signal: killed (the environment used ${Math.round(residentBytes / 1024 / 1024)} MB of its ${this.#settings.memoryMb} MB)`,
    }
    this.#discard(running)
    return true
  }

  async #ensureRunning(): Promise<RuntimeProcess> {
    if (this.#running) return this.#running
    this.#starting ??= this.#startProcess().finally(() => {
      this.#starting = undefined
    })
    return this.#starting
  }

  #freeze(running: RuntimeProcess): void {
    if (running.frozen || running.hasExited) return
    running.tree.freeze()
    running.frozen = true
  }

  #thaw(running: RuntimeProcess): void {
    if (!running.frozen) return
    running.tree.thaw()
    running.frozen = false
  }

  // A process that timed out or ran out of memory is no longer the environment's, even before its exit
  // is seen: the next invocation inits a new one.
  #discard(running: RuntimeProcess): void {
    if (this.#running === running) this.#running = undefined
    running.tree.killAll()
  }

  // The runtime asks for an invocation: at the end of init, and after each answer.
  #onNext(running: RuntimeProcess, response: ServerResponse): void {
    running.waitingNexts.push(response)
    if (!running.initialised) {
      // Every worker thread polls for itself; init is done when each has asked once.
      if (running.waitingNexts.length >= (this.#settings.workers ?? 1)) {
        running.initialised = true
        running.onInitDone?.()
      }
      return
    }
    const answered = running.awaitingNext
    if (answered) {
      running.awaitingNext = undefined
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
    if (running.inFlight.size > 0 || this.#queue.length > 0 || running.awaitingNext) return
    if (running.waitingNexts.length < (this.#settings.workers ?? 1)) return
    running.output.drain()
    if (!this.#freezeBetweenInvocations) return
    this.#freeze(running)
    running.output.drain()
    running.output.reset()
  }

  #dispatch(running: RuntimeProcess): void {
    const capacity = this.#settings.workers === undefined ? 1 : this.#settings.concurrency
    while (this.#queue.length > 0 && running.waitingNexts.length > 0 && running.inFlight.size < capacity) {
      const invocation = this.#queue.shift() as Invocation
      const next = running.waitingNexts.shift() as ServerResponse
      if (next.destroyed) {
        this.#queue.unshift(invocation)
        continue
      }
      running.inFlight.set(invocation.requestId, invocation)
      running.dispatchedCount++
      const { timeoutMs } = this.#settings
      invocation.startedAt = performance.now()
      invocation.timeoutTimer = setTimeout(() => this.#onTimeout(running, invocation), timeoutMs)
      const { clientContext, identity, traceId } = invocation.options
      // SIGCONT before the answer to /next, as Lambda thaws the environment before handing it an event.
      this.#thaw(running)
      next.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(invocation.eventJson),
        'Lambda-Runtime-Aws-Request-Id': invocation.requestId,
        'Lambda-Runtime-Deadline-Ms': String(Date.now() + timeoutMs),
        'Lambda-Runtime-Invoked-Function-Arn': this.#functionArn,
        'Lambda-Runtime-Trace-Id': traceId ?? lambdaTraceId(),
        ...(clientContext ? { 'Lambda-Runtime-Client-Context': JSON.stringify(clientContext) } : {}),
        ...(identity ? { 'Lambda-Runtime-Cognito-Identity': JSON.stringify(identity) } : {}),
      })
      next.end(invocation.eventJson)
    }
  }

  #threadOf(running: RuntimeProcess, socket: Socket): { threadId: number; coldStart: boolean } {
    if (!this.isManagedInstances) return { threadId: 0, coldStart: running.dispatchedCount === 1 }
    // aws-lambda-ric posts each answer from the worker thread that ran it, on that thread's own
    // keep-alive connection (aws-lambda-cpp keeps one curl handle per thread): the connection names
    // the thread, and its first answer is that thread's cold start.
    const known = running.threadsBySocket.get(socket)
    if (known !== undefined) return { threadId: known, coldStart: false }
    const threadId = running.threadsBySocket.size + 1
    running.threadsBySocket.set(socket, threadId)
    return { threadId, coldStart: true }
  }

  #onAnswer(
    running: RuntimeProcess,
    requestId: string,
    socket: Socket,
    body: ReceivedBody | undefined,
    error?: SerializedError,
  ): void {
    const invocation = running.inFlight.get(requestId)
    if (!invocation) return
    // Over the limit: the process is being killed, and its exit ends this invocation as out of memory.
    if (this.#isOverMemory(running, false)) return
    running.inFlight.delete(requestId)
    clearTimeout(invocation.timeoutTimer)
    // Everything the runtime wrote for this invocation was written before it answered.
    running.output.drain()
    const { threadId, coldStart } = this.#threadOf(running, socket)
    const base = {
      requestId,
      durationMs: performance.now() - invocation.startedAt,
      coldStart,
      ...(coldStart && running.initDurationMs !== undefined
        ? { initDurationMs: running.initDurationMs }
        : {}),
      logs: invocation.logs,
      threadId,
    }
    let outcome: InvocationResult
    if (error) outcome = { ...base, ok: false, error }
    else if (body?.text === undefined)
      outcome = {
        ...base,
        ok: false,
        error: {
          name: 'Function.ResponseSizeTooLarge',
          message: `Response payload size exceeded maximum allowed payload size (6291556 bytes).`,
        },
      }
    else {
      let result: unknown = body.text
      try {
        result = JSON.parse(body.text)
      } catch {
        // A streamed or non-JSON answer is given back as the text it is.
      }
      outcome = { ...base, ok: true, result }
    }
    if (this.isManagedInstances) {
      this.#finish(invocation, outcome)
      this.#dispatch(running)
      this.#becomeIdleIfDone(running)
      return
    }
    // Classic: the invocation is over for the caller once the runtime asks for the next one (its logs
    // are all in then, and it is frozen), or its time is up.
    invocation.answer = outcome
    running.awaitingNext = invocation
    invocation.timeoutTimer = setTimeout(
      () => this.#onTimeout(running, invocation),
      Math.max(1, this.#settings.timeoutMs - outcome.durationMs),
    )
  }

  #finish(invocation: Invocation, outcome: InvocationResult): void {
    if (invocation.settled) return
    clearTimeout(invocation.timeoutTimer)
    const { dropped } = invocation
    if (dropped.lines > 0) {
      outcome.logs.push({
        level: 'WARN',
        message: `@thaw/lambda-sim: ${dropped.lines} more log lines (${dropped.bytes} bytes) were dropped: the capture keeps ${this.#settings.maxLogBytesPerInvocation} bytes per invocation (maxLogBytesPerInvocation)`,
      })
      outcome.logsDropped = { ...dropped }
    }
    invocation.settled = true
    counts.invocations++
    counts.logLinesDropped += dropped.lines
    if (!outcome.ok && outcome.error.name === 'Sandbox.Timedout') counts.timeouts++
    if (!outcome.ok && outcome.error.name === 'Runtime.OutOfMemory') counts.outOfMemory++
    if (!outcome.ok && outcome.error.name === 'Runtime.ExitError') counts.runtimeExits++
    this.#byRequestId.delete(invocation.requestId)
    invocation.settle(outcome)
  }

  #onTimeout(running: RuntimeProcess, invocation: Invocation): void {
    if (invocation.settled) return
    // Lambda stops a timed-out invocation by resetting the environment; /tmp stays as it is.
    const outcome: InvocationResult = invocation.answer ?? {
      requestId: invocation.requestId,
      ok: false,
      error: {
        name: 'Sandbox.Timedout',
        message: `Task timed out after ${(this.#settings.timeoutMs / 1000).toFixed(2)} seconds`,
      },
      durationMs: performance.now() - invocation.startedAt,
      coldStart: false,
      logs: invocation.logs,
    }
    running.inFlight.delete(invocation.requestId)
    if (running.awaitingNext === invocation) running.awaitingNext = undefined
    running.output.drain()
    this.#finish(invocation, outcome)
    this.#discard(running)
  }

  #onExit(running: RuntimeProcess, code: number | null, signal: NodeJS.Signals | null): void {
    running.hasExited = true
    running.frozen = false
    clearInterval(running.watchTimer)
    if (this.#running === running) this.#running = undefined
    running.output.drain(true)
    const stderr = running.stderrTail.join('\n')
    // V8 aborts when its heap is full and says so on stderr; Lambda reports it as running out of memory.
    const heapOutOfMemory = /heap out of memory/i.test(stderr)
    // A value the runtime itself cannot handle (aws-lambda-ric 4.0.2 crashes formatting a thrown
    // Object.create(null) or a hostile Proxy) ends the process: say what it said last.
    const lastWords = running.stderrTail
      .find((line) => /^[\w.]*(Error|Exception)\b[^:]*:/.test(line))
      ?.slice(0, 300)
    const error: SerializedError =
      running.endedBecause ??
      (heapOutOfMemory
        ? {
            name: 'Runtime.OutOfMemory',
            message: `Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`} (JavaScript heap out of memory at ${this.#settings.memoryMb} MB)`,
          }
        : {
            name: 'Runtime.ExitError',
            message: `Runtime exited with ${signal ? `signal: ${signal}` : `error: exit status ${code}`}${lastWords ? ` (the runtime's last error: ${lastWords})` : ''}`,
          })
    if (!running.initialised) {
      const lastLines = this.output.join('').trim().split('\n').slice(-5).join('\n')
      const why = running.endedBecause || heapOutOfMemory ? ` ${error.name}: ${error.message}` : ''
      running.onInitDone?.(
        new EnvironmentStartError(
          `the environment's process exited during init (${signal ?? `code ${code}`})${why}${lastLines ? `:\n${lastLines}` : ''}`,
        ),
      )
    }
    const answered = running.awaitingNext
    running.awaitingNext = undefined
    if (answered) this.#finish(answered, answered.answer as InvocationResult)
    for (const invocation of running.inFlight.values())
      this.#finish(invocation, {
        requestId: invocation.requestId,
        ok: false,
        error,
        durationMs: performance.now() - invocation.startedAt,
        coldStart: false,
        logs: invocation.logs,
      })
    running.inFlight.clear()
    for (const next of running.waitingNexts) next.destroy()
    for (const extension of running.extensions.values()) extension.pendingNext?.destroy()
    running.server.closeAllConnections()
    running.server.close()
    running.output.close()
    // Managed Instances: what waited for a slot goes to the next process.
    if (this.#queue.length > 0 && !this.#isShutDown)
      void this.#ensureRunning().then(
        (next) => this.#dispatch(next),
        (startError: Error) => {
          for (const invocation of this.#queue.splice(0))
            this.#finish(invocation, this.#failedToStart(invocation.requestId, startError))
        },
      )
  }

  #failedToStart(requestId: string, error: Error): InvocationResult {
    return {
      requestId,
      ok: false,
      error: { name: error.name, message: error.message },
      durationMs: 0,
      coldStart: true,
      logs: [],
    }
  }

  /** Runs the init phase now, unless the environment's runtime is already running. */
  async init(): Promise<void> {
    await this.#ensureRunning()
  }

  /**
   * Sends one invocation and waits for its outcome: the handler's result, or its error. Throws (before
   * anything reaches the runtime) for an event JSON cannot carry, or one over Lambda's 6 MB.
   */
  async invoke<Result = unknown>(
    event: unknown = {},
    options: InvokeOptions = {},
  ): Promise<InvocationResult<Result>> {
    if (this.#isShutDown)
      throw new LambdaSimError(
        lambdaSimErrorCodes.shutDown,
        `the environment of ${this.functionName} has been shut down`,
      )
    let eventJson: string | undefined
    try {
      eventJson = JSON.stringify(event)
    } catch (cause) {
      counts.eventsRefused++
      throw new LambdaSimError(
        lambdaSimErrorCodes.eventRefused,
        `the event cannot be sent: JSON cannot serialise it (${(cause as Error).name}); Lambda events are JSON`,
        { cause },
      )
    }
    if (eventJson === undefined) {
      counts.eventsRefused++
      throw new LambdaSimError(
        lambdaSimErrorCodes.eventRefused,
        `the event cannot be sent: JSON has no text for a ${typeof event}`,
      )
    }
    const eventBytes = Buffer.byteLength(eventJson)
    if (eventBytes > maxEventBytes) {
      counts.eventsRefused++
      throw new LambdaSimError(
        lambdaSimErrorCodes.eventRefused,
        `the event is ${eventBytes} bytes: Lambda refuses a synchronous request over ${maxEventBytes} bytes (RequestTooLargeException)`,
      )
    }
    const json = eventJson
    // A classic environment runs one invocation at a time; Managed Instances take several.
    if (this.isManagedInstances) return this.#invokeNow<Result>(json, options)
    const turn = this.#classicTurn.then(() => this.#invokeNow<Result>(json, options))
    this.#classicTurn = turn.catch(() => undefined)
    return turn
  }

  async #invokeNow<Result>(eventJson: string, options: InvokeOptions): Promise<InvocationResult<Result>> {
    const requestId = randomUUID()
    let running: RuntimeProcess
    try {
      running = await this.#ensureRunning()
    } catch (error) {
      return this.#failedToStart(requestId, error as Error) as InvocationResult<Result>
    }
    const outcome = new Promise<InvocationResult>((settle) => {
      const invocation: Invocation = {
        requestId,
        eventJson,
        options,
        startedAt: performance.now(),
        logs: [],
        logBytes: 0,
        dropped: { lines: 0, bytes: 0 },
        settle,
        settled: false,
      }
      this.#byRequestId.set(requestId, invocation)
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

  /**
   * Ends the environment as Lambda does. With an extension registered (noOpExtension, or one the
   * function registered) the runtime gets SIGTERM, the extensions their SHUTDOWN event, and SIGKILL
   * comes after Lambda's budget; without one, Lambda sends no signal: the processes are killed.
   */
  async shutdown(): Promise<ShutdownResult> {
    if (this.#isShutDown) return { exitedWithinGracePeriod: true }
    this.#isShutDown = true
    const running = this.#running ?? (await this.#starting?.catch(() => undefined))
    let exitedWithinGracePeriod = false
    if (running && !running.hasExited) {
      const extensions = [...running.extensions.values()]
      if (extensions.length === 0) running.tree.killAll()
      else {
        const anyInternal = extensions.some((extension) => extension.internal)
        const budgetMs =
          this.#settings.shutdownGraceMs ??
          (anyInternal ? runtimeShutdownBudgetMs.internal : runtimeShutdownBudgetMs.external)
        this.#thaw(running)
        running.tree.terminate()
        const shutdownEvent = JSON.stringify({
          eventType: 'SHUTDOWN',
          shutdownReason: 'spindown',
          deadlineMs: Date.now() + 2_000,
        })
        for (const extension of extensions) {
          extension.pendingNext?.writeHead(200, { 'Content-Type': 'application/json' })
          extension.pendingNext?.end(shutdownEvent)
          extension.pendingNext = undefined
        }
        let budgetTimer: NodeJS.Timeout | undefined
        const budgetOver = new Promise<'over'>((resolveBudget) => {
          budgetTimer = setTimeout(() => resolveBudget('over'), budgetMs)
        })
        exitedWithinGracePeriod = (await Promise.race([running.exited, budgetOver])) !== 'over'
        clearTimeout(budgetTimer)
        running.tree.killAll()
      }
      await running.exited
    }
    for (const invocation of this.#queue.splice(0))
      this.#finish(
        invocation,
        this.#failedToStart(invocation.requestId, new Error('the environment was shut down')),
      )
    rmSync(this.#captureDirectory, { recursive: true, force: true })
    if (this.#ownsTmpDir) rmSync(this.tmpDir, { recursive: true, force: true })
    return { exitedWithinGracePeriod }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown()
  }
}

/** Bundles the handler and starts one execution environment, returning once its init phase is done. */
export const startEnvironment = async (options: LambdaSimOptions): Promise<LambdaEnvironment> => {
  const settings = lambdaSimValidateOptions(options)
  const entry = resolve(settings.entry)
  const bundle = settings.prebuilt
    ? prebuiltBundle(entry)
    : await bundleHandler(entry, {
        ...(settings.build.conditions ? { conditions: settings.build.conditions } : {}),
        ...(settings.build.external ? { external: settings.build.external } : {}),
        minify: settings.build.minify,
      })
  const environment = new LambdaEnvironment(settings, entry, bundle)
  try {
    await environment.init()
  } catch (error) {
    await environment.shutdown()
    throw error
  }
  return environment
}
