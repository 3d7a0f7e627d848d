// The statement deadline's timer: it fires marginMs before the invocation's deadline and never
// before, a disarmed one never fires, and there is none without a deadline or a margin. Nothing here
// needs the timer to be punctual: only "not before" and "eventually" are asserted.
import { describe, expect, it } from '@jest/globals'
import { sleep, waitFor } from '@thaw/test-support'
import { armStatementDeadline } from '../src/index.ts'

describe('armStatementDeadline', () => {
  it('fires no earlier than marginMs before the deadline', async () => {
    let firedAt: number | undefined
    const armedAt = Date.now()
    const { deadline } = armStatementDeadline(300, 200, () => {
      firedAt = Date.now()
    })
    expect(deadline).toBeGreaterThanOrEqual(armedAt + 300)
    const at = await waitFor(() => firedAt, { what: 'the deadline timer', withinMs: 10_000 })
    // Node rounds a timer to whole milliseconds, and Date.now() may read 1 ms short of that.
    expect(at).toBeGreaterThanOrEqual(armedAt + 99)
  })

  it('never fires once disarmed', async () => {
    let fired = false
    const { disarm } = armStatementDeadline(60, 50, () => {
      fired = true
    })
    disarm()
    // A witness timer armed later for later: once it has run, the disarmed one would have too.
    await sleep(50)
    expect(fired).toBe(false)
  })

  it('arms nothing outside an invocation, or with no margin', async () => {
    let fired = 0
    const outside = armStatementDeadline(undefined, 200, () => fired++)
    expect(outside.deadline).toBe(Number.POSITIVE_INFINITY)
    const before = Date.now()
    const noMargin = armStatementDeadline(1, 0, () => fired++)
    expect(noMargin.deadline).toBeGreaterThanOrEqual(before + 1)
    await sleep(20)
    expect(fired).toBe(0)
  })
})
