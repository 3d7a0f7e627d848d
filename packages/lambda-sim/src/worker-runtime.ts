// One worker thread of a Managed-Instances environment: it inits the handler once, then runs every
// invocation it is given as soon as it arrives, so several overlap in this thread.
import { parentPort, workerData } from 'node:worker_threads'
import type { ChildRuntimeConfig } from './child-runtime.ts'
import { captureConsole, createInvocationRunner, loadHandler } from './handler-host.ts'
import type { ChildToParentMessage, ParentToChildMessage } from './protocol.ts'
import { serializeError } from './protocol.ts'

const port = parentPort
if (!port) throw new Error('worker-runtime runs only as a worker thread')
const config = workerData as ChildRuntimeConfig
const sendToMainThread = (message: ChildToParentMessage) => port.postMessage(message)

captureConsole((line) => sendToMainThread({ type: 'log', line }))
try {
  const loaded = await loadHandler(config.bundleFile, config.exportName)
  const runInvocation = createInvocationRunner(loaded)
  port.on('message', async (message: ParentToChildMessage) => {
    if (message.type === 'invoke') sendToMainThread(await runInvocation(message))
    if (message.type === 'shutdown') {
      // Signals are delivered only to the main thread; give this thread's SIGTERM listeners their turn,
      // then let the thread end once they have let go of what they hold.
      process.emit('SIGTERM', 'SIGTERM')
      port.unref()
    }
  })
  sendToMainThread({ type: 'ready', initDurationMs: loaded.initDurationMs, threads: 1 })
} catch (error) {
  sendToMainThread({ type: 'init-failed', error: serializeError(error) })
}
