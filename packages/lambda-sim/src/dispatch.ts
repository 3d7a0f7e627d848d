// Handing invocations to a runtime: each waiting one answers a request of the runtime's for the next
// invocation, with Lambda's headers, while the environment's capacity allows (one at a time in classic
// mode, the concurrency with Managed Instances).
import { randomBytes } from 'node:crypto'
import type { Invocation } from './invocation.ts'
import type { RuntimeProcess } from './runtime-process.ts'

// An X-Ray trace header as Lambda makes one for an invocation that came without.
export const lambdaTraceId = (): string => {
  const epochHex = Math.floor(Date.now() / 1000).toString(16)
  return `Root=1-${epochHex}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`
}

export interface DispatchSettings {
  capacity: number
  timeoutMs: number
  functionArn: string
  onTimeout: (invocation: Invocation) => void
}

export const dispatchTo = (
  running: RuntimeProcess,
  queue: Invocation[],
  settings: DispatchSettings,
): void => {
  const { inFlight } = running.invocations
  while (queue.length > 0 && running.waitingNexts.length > 0 && inFlight.size < settings.capacity) {
    const invocation = queue.shift() as Invocation
    const next = running.waitingNexts.shift()
    if (!next || next.destroyed) {
      queue.unshift(invocation)
      continue
    }
    inFlight.set(invocation.requestId, invocation)
    running.invocations.dispatched++
    invocation.startedAt = performance.now()
    invocation.timeoutTimer = setTimeout(() => settings.onTimeout(invocation), settings.timeoutMs)
    const { clientContext, identity, traceId } = invocation.options
    // SIGCONT before the answer to /next, as Lambda thaws the environment before handing it an event.
    running.thaw()
    next.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(invocation.eventJson),
      'Lambda-Runtime-Aws-Request-Id': invocation.requestId,
      'Lambda-Runtime-Deadline-Ms': String(Date.now() + settings.timeoutMs),
      'Lambda-Runtime-Invoked-Function-Arn': settings.functionArn,
      'Lambda-Runtime-Trace-Id': traceId ?? lambdaTraceId(),
      ...(clientContext ? { 'Lambda-Runtime-Client-Context': JSON.stringify(clientContext) } : {}),
      ...(identity ? { 'Lambda-Runtime-Cognito-Identity': JSON.stringify(identity) } : {}),
    })
    next.end(invocation.eventJson)
  }
}
