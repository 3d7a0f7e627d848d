// What a pool has measured of its link to the server, and the margin a statement's stop needs on it.
// Stopping a statement at the invocation's deadline takes a connection (an idle one of the same user,
// or a new one: TCP, the server's greeting, authentication, TLS where configured), the KILL's round
// trip and the round trips that confirm the session left the server. statementMarginMs is what the
// user allowed; over a slow link (another availability zone, a TLS handshake, a loaded proxy) that is
// not enough, and a stop that has not finished when Lambda's deadline comes ends in Sandbox.Timedout
// with the statement still running. So the margin used is the larger of the two, from this pool's own
// measurements: no timer, no extra round trip (connects and round trips are timed where they happen).
import { packageName } from './errors.ts'
import { logEvent } from './log.ts'
import type { DbConnectionSettings } from './options.ts'
import { behindProxy } from './proxy.ts'
import type { PoolEntry } from './registry.ts'
import type { DbConnectionLogger } from './types.ts'

// The last few of each: one slow connect (a cold TLS session) weighs until newer ones replace it.
const kept = 5
// Round trips a stop spends after its connection is there: a look at what the session is doing, the
// KILL, and looks at the process list until it is gone (a KILLed session takes a moment to leave it).
const stopRoundTrips = 5
// A link is not equally fast every time, nor is a busy process's event loop: half as much again as
// measured (a quarter more failed one run in five through a proxy adding 50 ms each way, with the
// machine's two cores busy).
const headroom = 1.5
// What the handler needs after its await fails, and the cleanup before Middy's early timeout.
const handlerSlackMs = 50

const warnOnConsole: DbConnectionLogger = (event) => console.warn(`${packageName}: ${event.message}`)

interface Link {
  connects: number[]
  roundTrips: number[]
  warned: boolean
}
const links = new WeakMap<PoolEntry, Link>()

const linkOf = (entry: PoolEntry): Link => {
  let link = links.get(entry)
  if (!link) {
    link = { connects: [], roundTrips: [], warned: false }
    links.set(entry, link)
  }
  return link
}

const keep = (samples: number[], ms: number) => {
  samples.push(ms)
  if (samples.length > kept) samples.shift()
}

// A connect of this pool took `ms` (handshake and authentication).
export const recordConnect = (entry: PoolEntry, ms: number): void => keep(linkOf(entry).connects, ms)

// A round trip of this pool took `ms` (the tracking SET of a new connection, a ping).
export const recordRoundTrip = (entry: PoolEntry, ms: number): void => keep(linkOf(entry).roundTrips, ms)

const largest = (samples: number[]) => samples.reduce((most, ms) => Math.max(most, ms), 0)

// What a stop needs on this link, from what was measured (0 before anything was).
export const neededStopMs = (entry: PoolEntry): number => {
  const link = linkOf(entry)
  if (link.connects.length === 0 && link.roundTrips.length === 0) return 0
  return headroom * (largest(link.connects) + stopRoundTrips * largest(link.roundTrips)) + handlerSlackMs
}

// The margin before the deadline at which a running statement is stopped and a new one refused:
// statementMarginMs, or more when this link needs more (said once per pool, as a warning). 0 stays 0:
// the user asked for no stop at all.
export const stopMarginMs = (entry: PoolEntry, settings: DbConnectionSettings): number => {
  const configured = settings.statementMarginMs
  // Behind a proxy a stop only closes the connection to the proxy (proxy.ts): no connect, no KILL.
  if (configured === 0 || behindProxy(settings)) return configured
  const needed = Math.ceil(neededStopMs(entry))
  if (needed <= configured) return configured
  const link = linkOf(entry)
  if (!link.warned) {
    link.warned = true
    // Said even without a logger: the function's timeout and this link disagree, which its owner must
    // hear about (CloudWatch gets console.warn).
    logEvent(
      settings.logger ?? warnOnConsole,
      entry.label,
      'margin-too-small',
      `statementMarginMs ${configured} is less than stopping a statement takes on this link (about ${needed} ms: a connect of ${Math.ceil(largest(link.connects))} ms and round trips of ${Math.ceil(largest(link.roundTrips))} ms measured): statements are stopped ${needed} ms before the deadline`,
    )
  }
  return needed
}
