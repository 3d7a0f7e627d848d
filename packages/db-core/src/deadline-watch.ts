// The sessions holding a connection, and one timer for all their deadlines (per process, per worker
// thread): both drivers' sessions, each driver with its own watch.
// Each session used to arm a timer of its own at its first statement and clear it at its end: a
// setTimeout and a clearTimeout per invocation, and Node (24.21, lib/internal/timers.js) keeps one
// timer list per distinct delay in milliseconds, so nearly every invocation also made a list, put it in
// the timers' priority queue and took it out again. Here the one timer is set for the earliest moment
// a watched session must act; a session that must act sooner moves it earlier, and when it fires it
// acts for the sessions that are due and is set again for the next. In classic Lambda every
// invocation's deadline is later than the one before, so the timer is set about once per function
// timeout, not once per invocation. A timer that fires with nothing due (its session ended early)
// costs one look at the sessions still watched. Unref'd: it never keeps the process alive.

export interface Watched {
  // When the session must act next (epoch ms); Infinity for never.
  dueAt(): number
  // Called at or after dueAt().
  due(now: number): void
}

// Node refuses a delay above 2^31-1 ms (it would fire after 1 ms).
const longestDelayMs = 2 ** 31 - 1

export class DeadlineWatch<T extends Watched> {
  readonly #watched = new Set<T>()
  #timer: NodeJS.Timeout | undefined
  #armedFor = Number.POSITIVE_INFINITY
  readonly #fire = () => {
    this.#timer = undefined
    this.#armedFor = Number.POSITIVE_INFINITY
    const now = Date.now()
    // A session that acts may leave the set (finish): act on a copy.
    for (const session of [...this.#watched]) if (session.dueAt() <= now) session.due(now)
    let next = Number.POSITIVE_INFINITY
    for (const session of this.#watched) next = Math.min(next, session.dueAt())
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next)
  }

  // The sessions watched now (those holding a client).
  get sessions(): ReadonlySet<T> {
    return this.#watched
  }

  // From the session's first statement (its lease) to its end.
  add(session: T): void {
    this.#watched.add(session)
    const at = session.dueAt()
    if (at < this.#armedFor) this.#arm(at)
  }

  // The timer stays: it fires with nothing due, or for another session.
  delete(session: T): void {
    this.#watched.delete(session)
  }

  #arm(at: number) {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#armedFor = at
    // At least 1 ms: a timer may fire a fraction of a millisecond before Date.now() reaches `at`.
    this.#timer = setTimeout(this.#fire, Math.min(longestDelayMs, Math.max(1, at - Date.now()))).unref()
  }
}
