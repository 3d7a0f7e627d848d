// The fleet's database side: a private MariaDB with a small max_connections, one application user,
// a bystander application holding idle sessions under that same user, and a sampler that counts the
// server's sessions (from root's connection, which MariaDB lets in even when the server is full).
import { type PrivateMariadb, startPrivateMariadb } from '@thaw/test-support'
import mysql from 'mysql2/promise'

export const fleetUser = 'fleet_app'

export interface FleetServer {
  db: PrivateMariadb
  admin: mysql.Connection
  // The application user's DSN: what every environment and the bystander use.
  appUrl: string
  maxConnections: number
  stop(): Promise<void>
}

export const startFleetServer = async (maxConnections: number): Promise<FleetServer> => {
  const db = await startPrivateMariadb({ variables: { max_connections: maxConnections } })
  const admin = await mysql.createConnection(db.rootUrl)
  const password = `fleet-${Math.random().toString(36).slice(2)}`
  await admin.query('CREATE DATABASE fleet')
  await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [fleetUser, '%', password])
  await admin.query('GRANT ALL ON fleet.* TO ?@?', [fleetUser, '%'])
  return {
    db,
    admin,
    appUrl: `mysql://${fleetUser}:${password}@${db.host}:${db.port}/fleet`,
    maxConnections,
    stop: async () => {
      await admin.end().catch(() => {})
      await db.stop()
    },
  }
}

// Another application of the same database user (an app server's idle pool): its sessions sleep
// while the fleet runs. A session that ends without the bystander closing it was killed by someone
// else; it is counted and opened again (the application would reconnect).
export interface Bystander {
  threadIds(): Set<number>
  killed(): number
  stop(): Promise<void>
}

export const startBystander = (url: string, sessions: number): Promise<Bystander> =>
  holdSessions(async () => {
    const connection = await mysql.createConnection(url)
    return {
      id: connection.threadId as number,
      end: () => connection.end(),
      // mysql2/promise re-emits the core connection's 'error' and 'end'.
      onEnd: (listener) => {
        connection.on('error', listener)
        connection.on('end', listener)
      },
    }
  }, sessions)

// One session a bystander holds, of whichever server (pg-server.ts's too).
export interface HeldSession {
  id: number
  end(): Promise<unknown>
  onEnd(listener: () => void): void
}

export const holdSessions = async (
  open: () => Promise<HeldSession>,
  sessions: number,
): Promise<Bystander> => {
  let stopping = false
  let killed = 0
  const held = new Map<number, HeldSession>()
  const connect = async (): Promise<void> => {
    for (;;) {
      if (stopping) return
      try {
        const session = await open()
        held.set(session.id, session)
        session.onEnd(() => {
          if (!held.delete(session.id) || stopping) return
          killed++
          setTimeout(() => void connect(), 500)
        })
        return
      } catch {
        // The server is full: try again shortly, as an application's pool would.
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    }
  }
  await Promise.all(Array.from({ length: sessions }, connect))
  return {
    threadIds: () => new Set(held.keys()),
    killed: () => killed,
    stop: async () => {
      stopping = true
      await Promise.all([...held.values()].map((session) => session.end().catch(() => {})))
      held.clear()
    },
  }
}

export interface Sample {
  // Threads_connected: every session, the sampler's and the bystander's included.
  server: number
  // Sessions of the fleet's functions (the application user's, less the bystander's).
  environments: number
  // Of those, sessions whose environment is frozen (not running an invocation).
  heldByFrozen: number
}

export interface Sampler {
  now(): Promise<Sample>
  peak(): Sample
  // Time-weighted means since start.
  average(): Sample
  stop(): Promise<void>
}

// Samples every `everyMs` (not punctual on a busy machine: the mean is weighted by the time each
// sample stood for, not by the count of samples).
export const startSampler = (
  admin: mysql.Connection,
  bystander: () => Set<number>,
  frozenSessions: () => Set<number>,
  everyMs = 200,
): Sampler =>
  sampleEvery(async () => {
    const [rows] = await admin.query(`SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?`, [
      fleetUser,
    ])
    const [status] = await admin.query(
      "SELECT VARIABLE_VALUE AS value FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED'",
    )
    const byst = bystander()
    const frozen = frozenSessions()
    let environments = 0
    let heldByFrozen = 0
    for (const { id } of rows as { id: number }[]) {
      if (byst.has(id)) continue
      environments++
      if (frozen.has(id)) heldByFrozen++
    }
    return { server: Number((status as { value: string }[])[0]?.value ?? 0), environments, heldByFrozen }
  }, everyMs)

// The sampling loop, peaks and time-weighted means of any server's `now` (pg-server.ts's too).
export const sampleEvery = (now: () => Promise<Sample>, everyMs: number): Sampler => {
  const peak: Sample = { server: 0, environments: 0, heldByFrozen: 0 }
  const weighted: Sample = { server: 0, environments: 0, heldByFrozen: 0 }
  let weight = 0
  let last: { at: number; sample: Sample } | undefined
  let stopped = false
  const record = (sample: Sample) => {
    const at = performance.now()
    if (last) {
      const dt = at - last.at
      weight += dt
      for (const key of Object.keys(weighted) as (keyof Sample)[]) weighted[key] += last.sample[key] * dt
    }
    last = { at, sample }
    for (const key of Object.keys(peak) as (keyof Sample)[]) peak[key] = Math.max(peak[key], sample[key])
  }
  const loop = async () => {
    while (!stopped) {
      record(await now())
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  }
  const running = loop()
  return {
    now,
    peak: () => ({ ...peak }),
    average: () => {
      const mean = (key: keyof Sample) => (weight > 0 ? weighted[key] / weight : 0)
      return {
        server: mean('server'),
        environments: mean('environments'),
        heldByFrozen: mean('heldByFrozen'),
      }
    },
    stop: async () => {
      stopped = true
      await running
    },
  }
}
