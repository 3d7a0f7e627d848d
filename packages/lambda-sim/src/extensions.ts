// The extensions of one runtime process, as far as shutdown needs them: the no-op external one
// (noOpExtension), the ones the function registers during init (counted as internal), their waiting
// `event/next` requests, and the SHUTDOWN event with Lambda's budget for the runtime after SIGTERM.
import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { runtimeShutdownBudgetMs, shutdownPhaseMs } from './limits.ts'

interface RegisteredExtension {
  name: string
  internal: boolean
  pendingNext?: ServerResponse
}

export class Extensions {
  readonly #registered = new Map<string, RegisteredExtension>()

  constructor(noOpExtension: boolean) {
    if (noOpExtension) this.#registered.set(randomUUID(), { name: 'thaw-no-op', internal: false })
  }

  get any(): boolean {
    return this.#registered.size > 0
  }

  register(name: string): string {
    const id = randomUUID()
    this.#registered.set(id, { name, internal: true })
    return id
  }

  // An extension's request for its next event: kept until shutdown. False for an unknown id.
  waitForEvent(id: string, response: ServerResponse): boolean {
    const extension = this.#registered.get(id)
    if (!extension) return false
    extension.pendingNext = response
    return true
  }

  // Lambda's budget for the runtime after SIGTERM: 300 ms with external extensions only, 500 ms once
  // an internal one registered.
  budgetMs(shutdownGraceMs: number | undefined): number {
    const anyInternal = [...this.#registered.values()].some((extension) => extension.internal)
    return (
      shutdownGraceMs ?? (anyInternal ? runtimeShutdownBudgetMs.internal : runtimeShutdownBudgetMs.external)
    )
  }

  sendShutdown(): void {
    const shutdownEvent = JSON.stringify({
      eventType: 'SHUTDOWN',
      shutdownReason: 'spindown',
      deadlineMs: Date.now() + shutdownPhaseMs,
    })
    for (const extension of this.#registered.values()) {
      extension.pendingNext?.writeHead(200, { 'Content-Type': 'application/json' })
      extension.pendingNext?.end(shutdownEvent)
      extension.pendingNext = undefined
    }
  }

  // The process ended: the requests still waiting end with it.
  close(): void {
    for (const extension of this.#registered.values()) extension.pendingNext?.destroy()
  }
}
