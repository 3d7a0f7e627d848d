import { describe, expect, it } from '@jest/globals'
import { sleep, waitFor } from '@thaw/test-support'
import { DeadlineWatch, type Watched } from '../src/index.ts'

// The one timer both drivers keep for every session's deadline: whatever order sessions come and go
// in, each is told at or after its own moment, and none that left is told. Real timers; nothing here
// needs a timer to be punctual, only never early and eventually on.

class Session implements Watched {
  calls: number[] = []
  looks = 0
  constructor(public at: number) {}
  dueAt() {
    this.looks++
    return this.at
  }
  due(now: number) {
    this.calls.push(now)
    // Acted: nothing more due (a driver's session stops, or finishes and leaves the watch).
    this.at = Number.POSITIVE_INFINITY
  }
}

describe('DeadlineWatch', () => {
  it('a session due sooner than the one the timer waits for is told at its own moment, the later one at its own', async () => {
    const watch = new DeadlineWatch<Session>()
    const later = new Session(Date.now() + 600_000)
    watch.add(later)
    const sooner = new Session(Date.now() + 50)
    const soonerAt = sooner.at
    watch.add(sooner)
    await waitFor(() => (sooner.calls.length > 0 ? true : undefined), {
      what: 'the sooner session told',
      withinMs: 5_000,
    })
    expect(sooner.calls[0]).toBeGreaterThanOrEqual(soonerAt)
    expect(later.calls).toEqual([])
    // Re-armed for the later one: brought nearer, it is told too.
    later.at = Date.now() + 20
    const laterAt = later.at
    watch.add(later)
    await waitFor(() => (later.calls.length > 0 ? true : undefined), {
      what: 'the later session told',
      withinMs: 5_000,
    })
    expect(later.calls[0]).toBeGreaterThanOrEqual(laterAt)
    expect(sooner.calls).toHaveLength(1)
  })

  it('a session that left the watch is not told, and the others still are', async () => {
    const watch = new DeadlineWatch<Session>()
    const gone = new Session(Date.now() + 20)
    const kept = new Session(Date.now() + 60)
    watch.add(gone)
    watch.add(kept)
    watch.delete(gone)
    expect(watch.sessions.has(gone)).toBe(false)
    await waitFor(() => (kept.calls.length > 0 ? true : undefined), {
      what: 'the kept session told',
      withinMs: 5_000,
    })
    expect(gone.calls).toEqual([])
  })

  it('a moment beyond what setTimeout takes (2^31-1 ms) waits, instead of firing at once', async () => {
    // Node fires after 1 ms when given more (TimeoutOverflowWarning), and the watch would then look at
    // its sessions and re-arm every millisecond: counted by the far session's dueAt() calls (one when
    // added, two when the near one's timer fires, two more each time that timer fires a moment early
    // and finds nothing due yet; without the cap, 171 in 100 ms).
    const watch = new DeadlineWatch<Session>()
    const far = new Session(Date.now() + 2 ** 32)
    watch.add(far)
    const near = new Session(Date.now() + 30)
    // Told after the near one's moment, so the far one had its chance to fire early.
    watch.add(near)
    await waitFor(() => (near.calls.length > 0 ? true : undefined), {
      what: 'the near session told',
      withinMs: 5_000,
    })
    // Then re-armed for the far one: it must wait, not look again every millisecond.
    await sleep(100)
    expect(far.calls).toEqual([])
    expect(far.looks).toBeLessThan(20)
    watch.delete(far)
  })
})
