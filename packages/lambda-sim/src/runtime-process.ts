// One runtime process of an environment: aws-lambda-ric started with Lambda's environment variables and
// its own Runtime API, its init phase (over when every runtime thread has asked for an invocation), the
// watch on its memory, the freeze and the thaw, its end, and its shutdown as Lambda ends an environment.
// What it is asked to run is the environment's business (./environment.ts).
import { spawn } from 'node:child_process'
import type { Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { HandlerBundle } from './bundle.ts'
import { EnvironmentStartError } from './errors.ts'
import { Extensions } from './extensions.ts'
import { ProcessInvocations } from './invocation.ts'
import { heapShareOfMemory, stderrTailLines, watchEveryMs } from './limits.ts'
import type { LambdaSimSettings } from './options.ts'
import { exitError, heapRanOut, initExitMessage, outOfMemoryError, parseErrorBody } from './outcomes.ts'
import { type ParsedLine, RuntimeOutput } from './output.ts'
import { ProcessTree } from './process-tree.ts'
import { startRuntimeApi } from './runtime-api.ts'
import { ricEntry, runtimeClientArguments } from './runtime-client/location.ts'
import type { SerializedError } from './types.ts'

// The runtime's answer to an invocation (text; undefined when it was over the limit) or its error.
export interface RuntimeAnswer {
  requestId: string
  socket: Socket
  text?: string | undefined
  error?: SerializedError
}

/** What the process tells its environment. */
export interface RuntimeProcessEvents {
  next: (running: RuntimeProcess) => void
  answer: (running: RuntimeProcess, answer: RuntimeAnswer) => void
  overMemory: (running: RuntimeProcess) => void
  exit: (running: RuntimeProcess, error: SerializedError) => void
  stdoutLine: (parsed: ParsedLine, text: string) => void
  stderrLine: (text: string) => void
  // What the function wrote so far, for the message of an init that ended with the process.
  outputSoFar: () => string
}

export interface RuntimeProcessSpec {
  settings: LambdaSimSettings
  entry: string
  bundle: HandlerBundle
  captureDirectory: string
  name: string
  variables: (runtimeApi: string) => Record<string, string>
  events: RuntimeProcessEvents
}

export class RuntimeProcess {
  readonly tree: ProcessTree
  readonly output: RuntimeOutput
  readonly invocations = new ProcessInvocations()
  // The runtime's requests for an invocation, oldest first, not answered yet.
  readonly waitingNexts: ServerResponse[] = []
  readonly exited: Promise<void>
  readonly startedAt: number
  initialised = false
  initDurationMs: number | undefined
  frozen = false
  hasExited = false
  // Why it ended, when the simulator ended it (out of memory), for the invocations in flight.
  endedBecause: SerializedError | undefined
  readonly #spec: RuntimeProcessSpec
  readonly #server: Server
  readonly #extensions: Extensions
  readonly #stderrTail: string[] = []
  readonly #watchTimer: NodeJS.Timeout
  #onInitDone: ((error?: EnvironmentStartError) => void) | undefined

  /** Starts the runtime and resolves once its init phase is over; rejects (after its exit) if it fails. */
  static async start(spec: RuntimeProcessSpec): Promise<RuntimeProcess> {
    const extensions = new Extensions(spec.settings.noOpExtension)
    const startedAt = performance.now()
    let running: RuntimeProcess | undefined
    const { server, address } = await startRuntimeApi({
      next: (response) => {
        if (running) running.#onNext(response)
      },
      response: (requestId, body, socket) =>
        running && spec.events.answer(running, { requestId, socket, text: body.text }),
      error: (requestId, body, errorType, socket) =>
        running &&
        spec.events.answer(running, { requestId, socket, error: parseErrorBody(body.text, errorType) }),
      initError: (body, errorType) => {
        if (running) running.#onInitError(parseErrorBody(body.text, errorType))
      },
      // Extensions register during the init phase (Lambda Extensions API page).
      registerExtension: (name) =>
        !running || running.initialised
          ? { refused: 'extensions register during the init phase' }
          : { id: extensions.register(name) },
      extensionNext: (id, response) => extensions.waitForEvent(id, response),
    })
    running = new RuntimeProcess(spec, startedAt, server, address, extensions)
    await running.#init()
    return running
  }

  private constructor(
    spec: RuntimeProcessSpec,
    startedAt: number,
    server: Server,
    runtimeApi: string,
    extensions: Extensions,
  ) {
    this.#spec = spec
    this.startedAt = startedAt
    this.#server = server
    this.#extensions = extensions
    this.output = new RuntimeOutput(spec.captureDirectory, spec.name, spec.events.stdoutLine, (text) =>
      this.#onStderrLine(text),
    )
    const { memoryMb, runtimeClient } = spec.settings
    const child = spawn(
      process.execPath,
      [
        // Lambda's Node runtime sizes the heap from the function's memory the same way. Source maps are
        // off, as on Lambda unless NODE_OPTIONS says otherwise (env: { NODE_OPTIONS:
        // '--enable-source-maps' }): parsing a bundle's map on the first stack trace costs a database
        // handler's bundle about 35 MB of its memory (measured here: 112 MB against 88 MB after init).
        `--max-old-space-size=${Math.max(16, Math.floor(memoryMb * heapShareOfMemory))}`,
        '--disable-warning=ExperimentalWarning',
        ...runtimeClientArguments(runtimeClient),
        ricEntry,
      ],
      {
        env: spec.variables(runtimeApi),
        cwd: spec.bundle.directory,
        stdio: ['ignore', this.output.stdout.fd, this.output.stderr.fd],
        // Its own process group: the freeze and the kill reach whatever the handler starts.
        detached: true,
      },
    )
    if (child.pid === undefined) {
      // The spawn failed: Node says so in an 'error' event, which must have a listener.
      child.once('error', () => undefined)
      server.close()
      this.output.close()
      throw new EnvironmentStartError(`could not start the runtime (${process.execPath})`)
    }
    // A spawn that fails after the fact ends init with the reason, not a crash.
    child.once('error', (error) =>
      this.#onInitDone?.(
        new EnvironmentStartError(`could not start the runtime: ${error.message}`, { cause: error }),
      ),
    )
    this.tree = new ProcessTree(child)
    this.exited = new Promise((resolveExit) =>
      child.once('exit', (code, signal) => {
        this.#onExit(code, signal)
        resolveExit()
      }),
    )
    this.#watchTimer = setInterval(() => this.#watch(), watchEveryMs).unref()
  }

  get pid(): number {
    return this.tree.pid
  }

  #init(): Promise<void> {
    const { initTimeoutMs } = this.#spec.settings
    return new Promise<void>((resolveInit, rejectInit) => {
      const initTimer = setTimeout(
        () =>
          this.#onInitDone?.(
            new EnvironmentStartError(
              `init did not finish within ${initTimeoutMs} ms (Lambda's init phase limit is 10 s)`,
            ),
          ),
        initTimeoutMs,
      )
      this.#onInitDone = (error) => {
        clearTimeout(initTimer)
        this.#onInitDone = undefined
        if (!error) {
          this.initDurationMs = performance.now() - this.startedAt
          return resolveInit()
        }
        this.tree.killAll()
        void this.exited.then(() => rejectInit(error))
      }
    })
  }

  // Every runtime thread asks for an invocation for itself: init is over when each has asked once.
  #onNext(response: ServerResponse): void {
    this.waitingNexts.push(response)
    if (this.initialised) this.#spec.events.next(this)
    else if (this.waitingNexts.length >= (this.#spec.settings.workers ?? 1)) {
      this.initialised = true
      this.#onInitDone?.()
    }
  }

  #onInitError(error: SerializedError): void {
    if (this.initialised) return
    // The ric says only "index.handler is not a function"; the bundle's exports say what is there.
    const { bundle, entry } = this.#spec
    const exported =
      error.name === 'Runtime.HandlerNotFound' && bundle.exports
        ? ` (the bundle exports: ${bundle.exports.join(', ') || 'nothing'})`
        : ''
    this.#onInitDone?.(
      new EnvironmentStartError(`init of ${entry} failed: ${error.name}: ${error.message}${exported}`),
    )
  }

  #onStderrLine(text: string): void {
    this.#stderrTail.push(text)
    if (this.#stderrTail.length > stderrTailLines) this.#stderrTail.shift()
    this.#spec.events.stderrLine(text)
  }

  #watch(): void {
    if (this.frozen || this.hasExited) return
    this.output.drain()
    this.isOverMemory(true)
  }

  // Lambda's memory limit holds for the whole sandbox, not only the V8 heap: native buffers and child
  // processes count. Past it the environment discards the process (every process is killed) and the
  // invocations in flight fail. Looked at every 20 ms while it runs, and at every answer, so that a
  // handler that allocates and answers between two looks is still caught (and its spawned processes
  // are known before the freeze).
  isOverMemory(walk: boolean): boolean {
    if (this.endedBecause) return true
    const residentBytes = this.tree.residentBytes({ walk })
    const { memoryMb } = this.#spec.settings
    if (residentBytes <= memoryMb * 1024 * 1024) return false
    this.endedBecause = outOfMemoryError(residentBytes, memoryMb)
    this.#spec.events.overMemory(this)
    return true
  }

  freeze(): void {
    if (this.frozen || this.hasExited) return
    this.tree.freeze()
    this.frozen = true
  }

  thaw(): void {
    if (!this.frozen) return
    this.tree.thaw()
    this.frozen = false
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.hasExited = true
    this.frozen = false
    clearInterval(this.#watchTimer)
    this.output.drain(true)
    const { memoryMb } = this.#spec.settings
    const error = this.endedBecause ?? exitError({ code, signal, stderrTail: this.#stderrTail, memoryMb })
    if (!this.initialised) {
      const why = this.endedBecause || heapRanOut(this.#stderrTail) ? error : undefined
      this.#onInitDone?.(
        new EnvironmentStartError(initExitMessage({ code, signal }, why, this.#spec.events.outputSoFar())),
      )
    }
    this.#spec.events.exit(this, error)
    for (const next of this.waitingNexts) next.destroy()
    this.#extensions.close()
    this.#server.closeAllConnections()
    this.#server.close()
    this.output.close()
  }

  /**
   * Ends the process as Lambda ends an environment. With an extension registered (noOpExtension, or one
   * the function registered) the runtime gets SIGTERM, the extensions their SHUTDOWN event, and SIGKILL
   * comes after Lambda's budget; without one, Lambda sends no signal: the processes are killed. True
   * when SIGTERM was sent and the runtime exited within its budget.
   */
  async shutdown(): Promise<boolean> {
    if (this.hasExited) return false
    let exitedWithinGracePeriod = false
    if (this.#extensions.any) {
      const budgetMs = this.#extensions.budgetMs(this.#spec.settings.shutdownGraceMs)
      this.thaw()
      this.tree.terminate()
      this.#extensions.sendShutdown()
      let budgetTimer: NodeJS.Timeout | undefined
      const budgetOver = new Promise<'over'>((resolveBudget) => {
        budgetTimer = setTimeout(() => resolveBudget('over'), budgetMs)
      })
      exitedWithinGracePeriod = (await Promise.race([this.exited, budgetOver])) !== 'over'
      clearTimeout(budgetTimer)
    }
    this.tree.killAll()
    await this.exited
    return exitedWithinGracePeriod
  }
}
