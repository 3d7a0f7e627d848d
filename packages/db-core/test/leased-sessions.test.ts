// The sweep of sessions whose after/onError never ran: classic mode finishes every one (a new
// invocation has begun), Managed Instances only those past their deadline; the sweep's promise settles
// when their cleanups have, and a session that finishes leaves the set.
import { describe, expect, it } from '@jest/globals'
import { finishOverdue } from '../src/index.ts'

class Session {
  finished = 0
  #set: Set<Session>
  #cleanup: (() => void) | undefined
  constructor(
    set: Set<Session>,
    readonly deadline: number,
    readonly slow = false,
  ) {
    this.#set = set
    set.add(this)
  }
  finish(): Promise<void> | undefined {
    this.finished++
    this.#set.delete(this)
    if (!this.slow) return undefined
    return new Promise<void>((resolve) => {
      this.#cleanup = resolve
    })
  }
  endCleanup() {
    this.#cleanup?.()
  }
}

describe('finishOverdue', () => {
  it('has nothing to wait for when no session holds a connection (the warm path)', () => {
    expect(finishOverdue(new Set<Session>(), true)).toBeUndefined()
  })

  it('finishes every session in classic mode, whatever its deadline', () => {
    const set = new Set<Session>()
    const sessions = [new Session(set, Date.now() + 60_000), new Session(set, Number.POSITIVE_INFINITY)]
    expect(finishOverdue(set, true)).toBeUndefined()
    expect(sessions.map((session) => session.finished)).toEqual([1, 1])
    expect(set.size).toBe(0)
  })

  it('finishes only the sessions past their deadline with Managed Instances', () => {
    const set = new Set<Session>()
    const overdue = new Session(set, Date.now() - 1)
    const running = new Session(set, Date.now() + 60_000)
    finishOverdue(set, false)
    expect([overdue.finished, running.finished]).toEqual([1, 0])
    expect([...set]).toEqual([running])
  })

  it('settles once the cleanups it started have', async () => {
    const set = new Set<Session>()
    const slow = [new Session(set, 0, true), new Session(set, 0, true)]
    new Session(set, 0)
    const sweep = finishOverdue(set, true)
    expect(sweep).toBeInstanceOf(Promise)
    let settled = false
    void sweep?.then(() => {
      settled = true
    })
    slow[0]?.endCleanup()
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBe(false)
    slow[1]?.endCleanup()
    await sweep
    expect(settled).toBe(true)
  })
})
