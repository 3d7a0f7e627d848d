// One simulated execution environment: a child process that inits the handler once, takes
// invocations, is frozen with SIGSTOP between them, and is reset after a timeout or a crash.
import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, extname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleHandler, type HandlerBundle, prebuiltBundle } from './bundle.ts'
import type { ChildRuntimeConfig } from './child-runtime.ts'
import { type EnvironmentOptions, environmentDefaults, validateEnvironmentOptions } from './options.ts'
import { trackChildProcess } from './process-registry.ts'
import type { ChildToParentMessage, LogLine, ParentToChildMessage, SerializedError } from './protocol.ts'

interface InvocationOutcomeBase {
  requestId: string
  /** How long the handler ran (as Lambda's REPORT line's Duration), or until the failure was seen. */
  durationMs: number
  /** The first invocation after an init (of the process, or of its worker thread). */
  coldStart: boolean
  /** The init phase's duration, on a cold start. */
  initDurationMs?: number
  /** What the handler wrote with console.* during this invocation. */
  logs: LogLine[]
  /** The thread that ran it (Managed-Instances mode tells the worker threads apart by it). */
  threadId?: number
}

export type InvocationResult<Result = unknown> =
  | (InvocationOutcomeBase & { ok: true; result: Result })
  | (InvocationOutcomeBase & { ok: false; error: SerializedError })

interface PendingInvocation {
  requestId: string
  startedAt: number
  settle: (outcome: InvocationResult) => void
  timeoutTimer: NodeJS.Timeout
}

interface RunningProcess {
  child: ChildProcess
  exited: Promise<void>
  frozen: boolean
  // Invocations in flight in this process: they end with it, not with a process started after it.
  pending: Map<number, PendingInvocation>
  fatalError?: SerializedError
}

const maxOutputCharacters = 4 * 1024 * 1024

export class EnvironmentStartError extends Error {
  override name = 'EnvironmentStartError'
}

const childRuntimeFile = fileURLToPath(
  new URL(`./child-runtime${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
)

export class LambdaEnvironment {
  readonly tmpDir: string
  readonly functionName: string
  /**
   * What the function's process wrote to stdout and stderr, and console output outside invocations
   * (the last 4 MiB of it).
   */
  readonly output: string[] = []
  /** How many times this environment has run its init phase (1, plus one per reset). */
  initCount = 0
  lastInitDurationMs: number | undefined

  readonly #options: EnvironmentOptions
  readonly #bundle: HandlerBundle
  readonly #ownsTmpDir: boolean
  readonly #logStreamName: string
  #running: RunningProcess | undefined
  #starting: Promise<RunningProcess> | undefined
  #nextInvocationId = 1
  #classicInvocationQueue: Promise<unknown> = Promise.resolve()
  #isShutDown = false
  #outputCharacters = 0

  constructor(options: EnvironmentOptions, bundle: HandlerBundle) {
    this.#options = options
    this.#bundle = bundle
    this.functionName = options.functionName ?? basename(options.entry, extname(options.entry))
    this.#ownsTmpDir = options.tmpDir === undefined
    this.tmpDir = options.tmpDir ?? mkdtempSync(join(tmpdir(), 'thaw-lambda-sim-tmp-'))
    mkdirSync(this.tmpDir, { recursive: true })
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/')
    this.#logStreamName = `${today}/[$LATEST]${randomBytes(16).toString('hex')}`
  }

  get isManagedInstances(): boolean {
    return this.#options.workers !== undefined
  }

  get #freezeBetweenInvocations(): boolean {
    // Lambda Managed Instances run on instances that are never frozen; classic environments are.
    return this.#options.freeze ?? !this.isManagedInstances
  }

  /** The process id of the environment's process, while it runs. */
  get pid(): number | undefined {
    return this.#running?.child.pid
  }

  get isFrozen(): boolean {
    return this.#running?.frozen ?? false
  }

  #lambdaEnvironmentVariables(): Record<string, string> {
    const region = this.#options.region ?? environmentDefaults.region
    const memoryMb = this.#options.memoryMb ?? environmentDefaults.memoryMb
    return {
      PATH: '/var/lang/bin:/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      TMPDIR: this.tmpDir,
      LAMBDA_TASK_ROOT: this.#bundle.directory,
      LAMBDA_RUNTIME_DIR: this.#bundle.directory,
      _HANDLER: `index.${this.#options.exportName ?? environmentDefaults.exportName}`,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_LAMBDA_FUNCTION_NAME: this.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${this.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: this.#logStreamName,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      // Lambda hands the function its role's credentials in the environment. Fake ones here keep the
      // SDK's default provider chain from ever looking for an instance metadata service.
      AWS_ACCESS_KEY_ID: 'ASIATHAWLAMBDASIM000',
      AWS_SECRET_ACCESS_KEY: 'thaw-lambda-sim-secret-access-key',
      AWS_SESSION_TOKEN: 'thaw-lambda-sim-session-token',
      ...this.#options.env,
    }
  }

  // The output is kept for assertions and error messages, not as a log store: a long benchmark or
  // a chatty handler would otherwise grow it without bound. The oldest chunks go first.
  #appendOutput(text: string): void {
    this.output.push(text)
    this.#outputCharacters += text.length
    while (this.#outputCharacters > maxOutputCharacters && this.output.length > 1)
      this.#outputCharacters -= (this.output.shift() as string).length
    if (this.#options.echoOutput) process.stderr.write(text)
  }

  // The init phase: start the process, import the bundle (in each worker thread), wait until ready.
  async #startProcess(): Promise<RunningProcess> {
    const memoryMb = this.#options.memoryMb ?? environmentDefaults.memoryMb
    const runtimeConfig: ChildRuntimeConfig = {
      bundleFile: this.#bundle.file,
      exportName: this.#options.exportName ?? environmentDefaults.exportName,
      concurrency: this.#options.concurrency ?? environmentDefaults.concurrency,
      ...(this.#options.workers === undefined ? {} : { workers: this.#options.workers }),
    }
    const child = fork(childRuntimeFile, [JSON.stringify(runtimeConfig)], {
      execPath: process.execPath,
      // Lambda's Node runtime sizes the heap from the function's memory the same way.
      execArgv: [
        `--max-old-space-size=${Math.max(16, Math.floor(memoryMb * 0.9))}`,
        '--enable-source-maps',
        '--disable-warning=ExperimentalWarning',
      ],
      env: this.#lambdaEnvironmentVariables(),
      cwd: this.#bundle.directory,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    })
    trackChildProcess(child)
    child.stdout?.setEncoding('utf8').on('data', (text: string) => this.#appendOutput(text))
    child.stderr?.setEncoding('utf8').on('data', (text: string) => this.#appendOutput(text))
    const running: RunningProcess = {
      child,
      frozen: false,
      pending: new Map(),
      exited: new Promise((resolveExit) => child.once('exit', () => resolveExit())),
    }
    child.on('message', (message: ChildToParentMessage) => this.#onChildMessage(running, message))
    child.once('exit', (code, signal) => this.#onChildExit(running, code, signal))

    const initTimeoutMs = this.#options.initTimeoutMs ?? environmentDefaults.initTimeoutMs
    await new Promise<void>((resolveReady, rejectReady) => {
      // The init phase ends one way: ready, failed, timed out, or the process died. Each way stops
      // listening for the others.
      const settle = (error?: EnvironmentStartError) => {
        clearTimeout(initTimer)
        child.off('message', onMessage)
        child.off('exit', onExitDuringInit)
        if (error) {
          child.kill('SIGKILL')
          rejectReady(error)
        } else resolveReady()
      }
      const initTimer = setTimeout(
        () => settle(new EnvironmentStartError(`init did not finish within ${initTimeoutMs} ms`)),
        initTimeoutMs,
      )
      const onMessage = (message: ChildToParentMessage) => {
        if (message.type === 'ready') {
          this.lastInitDurationMs = message.initDurationMs
          settle()
        } else if (message.type === 'init-failed') {
          const { name, message: reason } = message.error
          settle(new EnvironmentStartError(`init of ${this.#options.entry} failed: ${name}: ${reason}`))
        }
      }
      const onExitDuringInit = (code: number | null, signal: NodeJS.Signals | null) => {
        const output = this.output.join('').trim().split('\n').slice(-5).join('\n')
        settle(
          new EnvironmentStartError(
            `the environment's process exited during init (${signal ?? `code ${code}`})${output ? `:\n${output}` : ''}`,
          ),
        )
      }
      child.on('message', onMessage)
      child.once('exit', onExitDuringInit)
    }).catch(async (error: unknown) => {
      await running.exited
      throw error
    })
    this.initCount++
    this.#running = running
    if (this.#freezeBetweenInvocations) this.#freeze(running)
    return running
  }

  async #ensureRunning(): Promise<RunningProcess> {
    if (this.#running) return this.#running
    this.#starting ??= this.#startProcess().finally(() => {
      this.#starting = undefined
    })
    return this.#starting
  }

  #freeze(running: RunningProcess): void {
    if (running.frozen || running.child.exitCode !== null || running.child.signalCode !== null) return
    running.child.kill('SIGSTOP')
    running.frozen = true
  }

  #thaw(running: RunningProcess): void {
    if (!running.frozen) return
    running.child.kill('SIGCONT')
    running.frozen = false
  }

  // A process that timed out or crashed is no longer the environment's, even before its exit is seen:
  // the next invocation inits a new one.
  #discard(running: RunningProcess): void {
    if (this.#running === running) this.#running = undefined
    running.child.kill('SIGKILL')
  }

  #onChildMessage(running: RunningProcess, message: ChildToParentMessage): void {
    if (message.type === 'log') this.#appendOutput(`${message.line.level}\t${message.line.message}\n`)
    if (message.type === 'fatal') running.fatalError = message.error
    if (message.type !== 'result') return
    const pending = running.pending.get(message.invocationId)
    if (!pending) return
    const base = {
      requestId: pending.requestId,
      durationMs: message.durationMs,
      coldStart: message.coldStart,
      logs: message.logs,
      threadId: message.threadId,
      ...(message.initDurationMs === undefined ? {} : { initDurationMs: message.initDurationMs }),
    }
    pending.settle(
      message.ok
        ? { ...base, ok: true, result: JSON.parse(message.resultJson ?? 'null') }
        : { ...base, ok: false, error: message.error ?? { name: 'Error', message: 'unknown error' } },
    )
  }

  #onChildExit(running: RunningProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#running === running) this.#running = undefined
    // Every invocation still in flight ends with the error Lambda reports when the runtime dies.
    const error: SerializedError = running.fatalError ?? {
      name: 'Runtime.ExitError',
      message: `Runtime exited with ${signal ? `signal: ${signal}` : `error: exit status ${code}`}`,
    }
    for (const pending of [...running.pending.values()])
      pending.settle({
        requestId: pending.requestId,
        ok: false,
        error,
        durationMs: performance.now() - pending.startedAt,
        coldStart: false,
        logs: [],
      })
  }

  /** Runs the init phase now, unless the environment's process is already running. */
  async init(): Promise<void> {
    await this.#ensureRunning()
  }

  /** Sends one invocation and waits for its outcome: the handler's result, or its error. */
  async invoke<Result = unknown>(event: unknown = {}): Promise<InvocationResult<Result>> {
    if (this.#isShutDown) throw new Error(`the environment of ${this.functionName} has been shut down`)
    // A classic environment runs one invocation at a time; Managed Instances take several.
    if (this.isManagedInstances) return this.#invokeNow<Result>(event)
    const turn = this.#classicInvocationQueue.then(() => this.#invokeNow<Result>(event))
    this.#classicInvocationQueue = turn.catch(() => undefined)
    return turn
  }

  async #invokeNow<Result>(event: unknown): Promise<InvocationResult<Result>> {
    const requestId = randomUUID()
    let running: RunningProcess
    try {
      running = await this.#ensureRunning()
    } catch (error) {
      const { name, message } = error as Error
      return { requestId, ok: false, error: { name, message }, durationMs: 0, coldStart: true, logs: [] }
    }
    const timeoutMs = this.#options.timeoutMs ?? environmentDefaults.timeoutMs
    const invocationId = this.#nextInvocationId++
    const outcome = new Promise<InvocationResult>((settleOutcome) => {
      const startedAt = performance.now()
      const timeoutTimer = setTimeout(() => {
        // Lambda stops a timed-out invocation by resetting the environment; /tmp stays as it is.
        const timedOut = running.pending.get(invocationId)
        timedOut?.settle({
          requestId,
          ok: false,
          error: {
            name: 'Sandbox.Timedout',
            message: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
          },
          durationMs: performance.now() - startedAt,
          coldStart: false,
          logs: [],
        })
        this.#discard(running)
      }, timeoutMs)
      running.pending.set(invocationId, {
        requestId,
        startedAt,
        timeoutTimer,
        settle: (result) => {
          clearTimeout(timeoutTimer)
          running.pending.delete(invocationId)
          settleOutcome(result)
        },
      })
    })
    this.#thaw(running)
    const message: ParentToChildMessage = {
      type: 'invoke',
      invocationId,
      awsRequestId: requestId,
      eventJson: JSON.stringify(event) ?? 'null',
      deadlineEpochMs: Date.now() + timeoutMs,
    }
    running.child.send(message)
    const result = await outcome
    if (running.pending.size === 0 && this.#running === running && this.#freezeBetweenInvocations)
      this.#freeze(running)
    return result as InvocationResult<Result>
  }

  /** Kills the environment's process at once (SIGKILL), mid-invocation if one is running. */
  async crash(): Promise<void> {
    const running = this.#running
    if (!running) return
    this.#discard(running)
    await running.exited
  }

  /**
   * Ends the environment as Lambda does: SIGTERM (the handler's SIGTERM listeners run), then SIGKILL
   * after the grace period. Resolves with whether the process exited within the grace period.
   */
  async shutdown(): Promise<{ exitedWithinGracePeriod: boolean }> {
    if (this.#isShutDown) return { exitedWithinGracePeriod: true }
    this.#isShutDown = true
    const running = this.#running ?? (await this.#starting?.catch(() => undefined))
    let exitedWithinGracePeriod = true
    if (running) {
      this.#thaw(running)
      if (running.child.connected) running.child.send({ type: 'shutdown' } satisfies ParentToChildMessage)
      running.child.kill('SIGTERM')
      const graceMs = this.#options.shutdownGraceMs ?? environmentDefaults.shutdownGraceMs
      let graceTimer: NodeJS.Timeout | undefined
      const graceOver = new Promise<'grace-over'>((resolveGrace) => {
        graceTimer = setTimeout(() => resolveGrace('grace-over'), graceMs)
      })
      if ((await Promise.race([running.exited, graceOver])) === 'grace-over') {
        exitedWithinGracePeriod = false
        running.child.kill('SIGKILL')
        await running.exited
      }
      clearTimeout(graceTimer)
    }
    if (this.#ownsTmpDir) rmSync(this.tmpDir, { recursive: true, force: true })
    return { exitedWithinGracePeriod }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown()
  }
}

/** Bundles the handler and starts one execution environment, returning once its init phase is done. */
export const startEnvironment = async (options: EnvironmentOptions): Promise<LambdaEnvironment> => {
  const validated = validateEnvironmentOptions(options)
  const entry = resolve(validated.entry)
  const bundle = validated.prebuilt ? prebuiltBundle(entry) : await bundleHandler(entry, validated.build)
  const environment = new LambdaEnvironment({ ...validated, entry }, bundle)
  try {
    await environment.init()
  } catch (error) {
    await environment.shutdown()
    throw error
  }
  return environment
}
