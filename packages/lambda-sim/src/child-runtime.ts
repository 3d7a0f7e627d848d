// The execution environment's process. Classic mode runs the handler in this thread, one invocation
// at a time; Managed-Instances mode starts worker threads, each of which inits the handler once and
// takes several invocations at the same time, and dispatches invocations to the least busy one.
import { Worker } from 'node:worker_threads'
import { captureConsole, createInvocationRunner, loadHandler } from './handler-host.ts'
import type {
  ChildToParentMessage,
  InvokeMessage,
  ParentToChildMessage,
  SerializedError,
} from './protocol.ts'
import { serializeError } from './protocol.ts'

export interface ChildRuntimeConfig {
  bundleFile: string
  exportName: string
  workers?: number
  concurrency: number
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChildRuntimeConfig
const sendToParent = (message: ChildToParentMessage) => process.send?.(message)

// A crash of the handler's code ends the environment, as Lambda's runtime does; the parent turns the
// process's exit into errors for the invocations in flight.
const reportFatalErrorAndExit = (error: unknown) => {
  sendToParent({ type: 'fatal', error: serializeError(error) })
  process.exitCode = 1
  process.disconnect?.()
  setImmediate(() => process.exit(1))
}
process.on('uncaughtException', reportFatalErrorAndExit)
process.on('unhandledRejection', reportFatalErrorAndExit)

const startClassicRuntime = async () => {
  captureConsole((line) => sendToParent({ type: 'log', line }))
  let runInvocation: ReturnType<typeof createInvocationRunner>
  try {
    const loaded = await loadHandler(config.bundleFile, config.exportName)
    runInvocation = createInvocationRunner(loaded)
    sendToParent({ type: 'ready', initDurationMs: loaded.initDurationMs, threads: 1 })
  } catch (error) {
    sendToParent({ type: 'init-failed', error: serializeError(error) })
    process.disconnect?.()
    return
  }
  process.on('message', async (message: ParentToChildMessage) => {
    if (message.type === 'invoke') sendToParent(await runInvocation(message))
  })
}

interface WorkerSlot {
  worker: Worker
  invocationsInFlight: number
}

const startManagedInstancesRuntime = async (workerCount: number) => {
  const workerRuntimeUrl = new URL(
    `./worker-runtime${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
    import.meta.url,
  )
  const slots: WorkerSlot[] = []
  const queuedInvocations: InvokeMessage[] = []
  const initStart = performance.now()

  const dispatchQueuedInvocations = () => {
    while (queuedInvocations.length > 0) {
      const leastBusySlot = slots.reduce((best, slot) =>
        slot.invocationsInFlight < best.invocationsInFlight ? slot : best,
      )
      if (leastBusySlot.invocationsInFlight >= config.concurrency) return
      leastBusySlot.invocationsInFlight++
      leastBusySlot.worker.postMessage(queuedInvocations.shift())
    }
  }

  const workersReady = Array.from({ length: workerCount }, () => {
    const worker = new Worker(workerRuntimeUrl, { workerData: config })
    const slot: WorkerSlot = { worker, invocationsInFlight: 0 }
    slots.push(slot)
    worker.on('error', reportFatalErrorAndExit)
    return new Promise<void>((resolve, reject: (error: SerializedError) => void) => {
      worker.on('message', (message: ChildToParentMessage) => {
        if (message.type === 'ready') return resolve()
        if (message.type === 'init-failed') return reject(message.error)
        if (message.type === 'result') {
          slot.invocationsInFlight--
          dispatchQueuedInvocations()
        }
        sendToParent(message)
      })
    })
  })
  try {
    await Promise.all(workersReady)
    sendToParent({ type: 'ready', initDurationMs: performance.now() - initStart, threads: workerCount })
  } catch (error) {
    sendToParent({ type: 'init-failed', error: error as SerializedError })
    process.exit(1)
  }
  process.on('message', (message: ParentToChildMessage) => {
    if (message.type === 'invoke') {
      queuedInvocations.push(message)
      dispatchQueuedInvocations()
    }
    // Signals reach only the main thread: pass the shutdown on so SIGTERM handlers in workers run.
    if (message.type === 'shutdown') for (const slot of slots) slot.worker.postMessage(message)
  })
}

// On SIGTERM, let go of the IPC channel so the process can exit as soon as the handler's own SIGTERM
// listeners (closeOnShutdown) have let go of their sockets; the parent sends SIGKILL after the grace.
process.on('SIGTERM', () => {
  process.disconnect?.()
})

if (config.workers === undefined) await startClassicRuntime()
else await startManagedInstancesRuntime(config.workers)
