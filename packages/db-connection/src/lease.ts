// Leasing a healthy connection for an invocation: an idle one checked without a round trip (and with
// a ping after a long idle gap), a dead one replaced, a new one opened when none is idle.
import { type Invocation, openOrWait, prepareNewConnection } from './connect.ts'
import { DbConnectionError, dbConnectionErrorCodes } from './errors.ts'
import { fleetReady } from './fleet-hygiene.ts'
import { recordRoundTrip } from './link.ts'
import { logEvent } from './log.ts'
import {
  type CoreConnection,
  discardConnection,
  isConnectionDead,
  lastActiveTime,
  leaseFromPool,
  pingWithin,
  takeIdleConnection,
} from './mysql2-adapter.ts'
import type { DbConnectionSettings } from './options.ts'
import { behindProxy } from './proxy.ts'
import { countReplacement, type PoolEntry } from './registry.ts'
import { startTracking, trackingOf } from './session-tracking.ts'

// Counted here, read by stats.ts. `errors`: leases that failed, pings that failed.
const counters = { reusedInvocations: 0, validations: 0, errors: 0 }
export const leaseCounters = (): Readonly<typeof counters> => counters

const pollOnce = () => new Promise<void>((resolve) => setImmediate(resolve))

// Asks a connection's server to report session changes (session-tracking.ts), once per connection.
// False: it did not answer within validateTimeoutMs and was discarded; the caller takes another.
const readyToTrack = async ({ entry, settings }: Invocation, connection: CoreConnection) => {
  const sent = Date.now()
  const answer = await startTracking(
    connection,
    entry.pool,
    settings.validateTimeoutMs,
    behindProxy(settings),
  )
  if (answer === 'done') recordRoundTrip(entry, Date.now() - sent)
  if (answer !== 'discarded') return true
  counters.errors++
  logEvent(
    settings.logger,
    entry.label,
    'tracking-timeout',
    'the server did not answer the session-tracking SET in time: connection discarded, and its next connections are not asked (the reset falls back to anything but plain reads)',
    undefined,
    connection.threadId,
  )
  return false
}

export const acquireConnection = async (invocation: Invocation): Promise<CoreConnection> => {
  const { entry, settings } = invocation
  const { pool, fresh, poolOptions, label } = entry
  const log = settings.logger
  // Right after a thaw, the invocation arrives in the same event-loop turn as any FIN or RST the
  // kernel received while the process was frozen: let the loop poll once so mysql2 sees them.
  await pollOnce()
  const attempts = 2 * (poolOptions.connectionLimit ?? 1) + 2
  for (let attempt = 0; attempt < attempts; attempt++) {
    let connection: CoreConnection
    try {
      connection = takeIdleConnection(pool) ?? (await openOrWait(invocation))
    } catch (error) {
      counters.errors++
      if ((error as { code?: string }).code === dbConnectionErrorCodes.queueTimeout) {
        logEvent(log, label, 'queue-timeout', 'gave up waiting for a connection in the pool queue', error)
      } else {
        logEvent(log, label, 'connect-failed', 'opening a connection failed', error)
      }
      throw error
    }
    if (fresh.has(connection)) {
      fresh.delete(connection)
      logEvent(log, label, 'connected', 'opened a connection', undefined, connection.threadId)
      if ((await readyToTrack(invocation, connection)) && (await fleetReady(entry, settings, connection)))
        return connection
      continue
    }
    if (isConnectionDead(connection)) {
      countReplacement(entry, connection)
      logEvent(
        log,
        label,
        'replaced',
        'replaced a connection that died while idle',
        undefined,
        connection.threadId,
      )
      discardConnection(connection)
      continue
    }
    if (Date.now() - lastActiveTime(connection) >= settings.validateAfterIdleMs) {
      counters.validations++
      const pinged = Date.now()
      const answered = await pingWithin(connection, settings.validateTimeoutMs)
      if (answered) recordRoundTrip(entry, Date.now() - pinged)
      if (!answered) {
        countReplacement(entry, connection)
        counters.errors++
        logEvent(
          log,
          label,
          'replaced',
          'replaced an idle connection that failed its ping',
          undefined,
          connection.threadId,
        )
        discardConnection(connection)
        continue
      }
    }
    // A connection that has not been asked to report session changes yet (the one a KILL was sent
    // from, connect: 'init''s when its setup failed): once, here.
    if (
      trackingOf(connection) === undefined &&
      !((await readyToTrack(invocation, connection)) && (await fleetReady(entry, settings, connection)))
    )
      continue
    counters.reusedInvocations++
    return connection
  }
  throw new DbConnectionError(
    dbConnectionErrorCodes.noHealthyConnection,
    `no healthy connection to ${label} after ${attempts} attempts`,
  )
}

// connect: 'init' opens the first connection while the module initialises. A failure is counted and
// logged, never kept: the first invocation simply opens one itself.
export const connectAtInit = (entry: PoolEntry, settings: DbConnectionSettings): void => {
  prepareNewConnection(entry.pool, entry.poolOptions, undefined)
  leaseFromPool(entry.pool)
    .then(async (connection) => {
      await startTracking(connection, entry.pool, settings.validateTimeoutMs, behindProxy(settings))
      return connection
    })
    .then(
      (connection) => {
        // Its first use is validated like any idle connection: init may be followed by a long freeze.
        entry.fresh.delete(connection)
        connection.release()
      },
      (error: unknown) => {
        counters.errors++
        logEvent(settings.logger, entry.label, 'connect-failed', 'opening a connection at init failed', error)
      },
    )
}
