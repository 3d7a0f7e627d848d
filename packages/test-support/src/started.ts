// What a test file starts (environments, peers, servers), stopped after it whatever happened:
//   const started = startedThings()
//   afterAll(() => started.stopAll())
//   const environment = started.add(await startEnvironment(…))

export interface Stoppable {
  shutdown?: () => Promise<unknown> | unknown
  stop?: () => Promise<unknown> | unknown
  close?: () => Promise<unknown> | unknown
}

export interface StartedThings {
  add: <T extends Stoppable>(thing: T) => T
  stopAll: () => Promise<void>
}

// Async, so that a stop that throws at once is a rejection like any other, not an exception that
// skips the things still to stop.
const stopOne = async (thing: Stoppable): Promise<unknown> =>
  thing.shutdown?.() ?? thing.stop?.() ?? thing.close?.()

export const startedThings = (): StartedThings => {
  const things: Stoppable[] = []
  return {
    add: (thing) => {
      things.push(thing)
      return thing
    },
    // One at a time, in reverse order of starting: an environment has stopped before the peer it
    // talks to stops. Every thing is stopped even when one fails; the first failure is thrown after.
    stopAll: async () => {
      const failures: unknown[] = []
      for (const thing of things.splice(0).reverse()) {
        await stopOne(thing).catch((error: unknown) => failures.push(error))
      }
      if (failures.length > 0) throw failures[0]
    },
  }
}
