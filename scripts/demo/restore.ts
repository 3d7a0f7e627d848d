// What the demo changes (on the database server above all: a global setting, users, a database), it
// undoes whatever happens: when it ends, when it fails, and when it is interrupted (SIGINT, SIGTERM).
//
// - Each change registers its undo before it is made, and every undo is idempotent (DROP … IF EXISTS,
//   SET back to the value read first), so an interruption between the two leaves nothing behind.
// - Work that changes something runs through `guard`: once restoring has begun no new work starts,
//   and the work already under way is waited for (within a deadline) before anything is undone, so
//   a CREATE USER in flight cannot land after its DROP USER.
// - Undos run last first, each within a deadline; one that fails does not stop the others, and is
//   printed as what to run by hand.
import { constants } from 'node:os'
import { withDeadline } from '@thaw/test-support'

interface Undo {
  what: string
  undo: () => unknown
  withinMs: number
}

export interface Restorer extends AsyncDisposable {
  // Registers how to undo a change, said as what to run by hand ("DROP DATABASE thaw_demo").
  // Throws once restoring has begun: the change must not be made.
  add(what: string, undo: () => unknown, withinMs?: number): void
  // Runs work that changes something, unless restoring has begun (then it rejects at once).
  guard<T>(what: string, work: () => Promise<T>): Promise<T>
  // Undoes every registered change, once; a second call gets the first one's promise. Never throws;
  // resolves to what could not be undone.
  restore(): Promise<string[]>
  // Stops listening for signals: once everything is restored, a signal ends the process as usual.
  dispose(): void
}

class Interrupted extends Error {
  override name = 'Interrupted'
}

export const createRestorer = ({ settleMs = 20_000 } = {}): Restorer => {
  const undos: Undo[] = []
  const underWay = new Set<Promise<unknown>>()
  let restoring: Promise<string[]> | undefined

  const restore = (): Promise<string[]> => {
    restoring ??= (async () => {
      const left: string[] = []
      await withDeadline(Promise.allSettled(underWay), settleMs, 'work under way').catch((error: Error) => {
        console.error(`${error.message}: undoing anyway`)
      })
      for (let next = undos.pop(); next; next = undos.pop()) {
        const { what, undo, withinMs } = next
        try {
          await withDeadline(Promise.resolve().then(undo), withinMs, `undo ${what}`)
        } catch (error) {
          left.push(what)
          console.error(`could not undo, do it by hand: ${what} (${(error as Error).message})`)
        }
      }
      return left
    })()
    return restoring
  }

  const onSignal = (signal: NodeJS.Signals): void => {
    const code = 128 + constants.signals[signal]
    if (restoring) {
      // A second signal while restoring: leave now, and say what may be left.
      console.error(`\n${signal} again: leaving now; check by hand: ${undos.map((u) => u.what).join('; ')}`)
      process.exit(code)
    }
    console.error(`\n${signal}: undoing what the demo changed before leaving`)
    void restore().then(() => process.exit(code))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const dispose = () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }

  return {
    add: (what, undo, withinMs = 30_000) => {
      if (restoring) throw new Interrupted(`restoring: not starting what needs "${what}" to undo`)
      undos.push({ what, undo, withinMs })
    },
    guard: (what, work) => {
      if (restoring) return Promise.reject(new Interrupted(`restoring: not starting ${what}`))
      const running = work()
      underWay.add(running)
      const forget = () => underWay.delete(running)
      running.then(forget, forget)
      return running
    },
    restore,
    dispose,
    // `await using restorer = createRestorer()`: leaving the scope, by its end or a throw, restores.
    [Symbol.asyncDispose]: async () => {
      await restore()
      dispose()
    },
  }
}
