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

const stopOne = (thing: Stoppable): Promise<unknown> =>
  Promise.resolve(thing.shutdown?.() ?? thing.stop?.() ?? thing.close?.())

export const startedThings = (): StartedThings => {
  const things: Stoppable[] = []
  return {
    add: (thing) => {
      things.push(thing)
      return thing
    },
    // In reverse order of starting: an environment stops before the peer it talks to.
    stopAll: async () => {
      const stopping = things.splice(0).reverse()
      const outcomes = await Promise.allSettled(stopping.map(stopOne))
      const failed = outcomes.find((outcome) => outcome.status === 'rejected')
      if (failed) throw (failed as PromiseRejectedResult).reason
    },
  }
}
