import { describe, expect, it } from '@jest/globals'
import { sleep, startedThings, waitFor, withDeadline } from '../src/index.ts'

describe('waits with deadlines', () => {
  it('withDeadline settles like the promise, or rejects naming what did not answer', async () => {
    await expect(withDeadline(Promise.resolve(7), 1_000, 'quick')).resolves.toBe(7)
    await expect(withDeadline(Promise.reject(new Error('own')), 1_000, 'failing')).rejects.toThrow('own')
    await expect(withDeadline(new Promise(() => undefined), 20, 'the peer')).rejects.toThrow(
      'the peer: no answer within 20 ms',
    )
  })

  it('waitFor returns the first value that is not undefined, and gives up naming what and the wait', async () => {
    let calls = 0
    await expect(
      waitFor(() => (++calls >= 3 ? calls : undefined), { what: 'three calls', everyMs: 1 }),
    ).resolves.toBe(3)
    await expect(waitFor(() => undefined, { what: 'never', withinMs: 30, everyMs: 5 })).rejects.toThrow(
      'never: not seen within 30 ms',
    )
  })
})

describe('startedThings', () => {
  it('stops everything one at a time in reverse order of starting, and reports a failure after stopping the rest', async () => {
    const started = startedThings()
    const stopped: string[] = []
    started.add({ shutdown: async () => void stopped.push('environment') })
    started.add({
      close: () => {
        stopped.push('peer')
        throw new Error('peer would not close')
      },
    })
    started.add({
      // Slow to stop: the next one must not start stopping before it is done.
      stop: async () => {
        await sleep(20)
        stopped.push('server')
      },
    })
    await expect(started.stopAll()).rejects.toThrow('peer would not close')
    expect(stopped).toEqual(['server', 'peer', 'environment'])
    // Nothing is stopped twice.
    await started.stopAll()
    expect(stopped).toHaveLength(3)
  })
})
