// What the fleet tests share: a private MariaDB 10.11 with server settings of the test's own (the
// shared server's are not ours to change), one application user (optionally WITH
// MAX_USER_CONNECTIONS), a bystander application holding idle sessions under that user, and
// "environments": middlewares with a pool of their own (one connection, as in a classic Lambda
// environment). Between invocations an environment's connection sits idle in its pool, which is what
// the server sees of a frozen environment.
import { randomUUID } from 'node:crypto'
import middy from '@middy/core'
import { type PrivateMariadb, startPrivateMariadb } from '@thaw/test-support'
import mysql from 'mysql2/promise'
import dbConnection from '../src/index.ts'

export interface FleetTestbedOptions {
  variables?: Record<string, string | number>
  // The account's own MAX_USER_CONNECTIONS (none when absent).
  maxUserConnections?: number
}

export interface FleetEvent {
  sql?: string
  workMs?: number
}

export type FleetTestbed = Awaited<ReturnType<typeof startFleetTestbed>>

export const appUser = 'fleet_test'

export const parseUrl = (url: string) => {
  const parsed = new URL(url)
  return {
    host: parsed.hostname,
    port: Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: parsed.pathname.slice(1),
  }
}

export const startFleetTestbed = async ({ variables, maxUserConnections }: FleetTestbedOptions = {}) => {
  const server: PrivateMariadb = await startPrivateMariadb({ variables: variables ?? {} })
  const root = await mysql.createConnection(server.rootUrl)
  await root.query('CREATE DATABASE fleet')
  const limit = maxUserConnections === undefined ? '' : ` WITH MAX_USER_CONNECTIONS ${maxUserConnections}`
  await root.query(`CREATE USER ?@? IDENTIFIED BY ?${limit}`, [appUser, '%', 'fleet-pw'])
  await root.query('GRANT ALL ON fleet.* TO ?@?', [appUser, '%'])
  const appUrl = `mysql://${appUser}:fleet-pw@127.0.0.1:${server.port}/fleet`

  const kills = async () => {
    const [rows] = await root.query("SHOW GLOBAL STATUS LIKE 'Com_kill'")
    return Number((rows as { Value: string }[])[0]?.Value)
  }

  const appSessions = async () => {
    const [rows] = await root.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [
      appUser,
    ])
    return new Set((rows as { id: number }[]).map((row) => row.id))
  }

  // Another application of the same user, holding idle sessions; `ended` counts those someone ended.
  const bystander = async (sessions: number) => {
    const connections = await Promise.all(
      Array.from({ length: sessions }, () => mysql.createConnection(appUrl)),
    )
    let ended = 0
    for (const connection of connections) {
      connection.on('error', () => ended++)
      connection.on('end', () => ended++)
    }
    return {
      ids: connections.map((connection) => connection.threadId as number),
      ended: () => ended,
      stop: () => Promise.all(connections.map((connection) => connection.end().catch(() => {}))),
    }
  }

  let environmentCount = 0
  // One environment: its own pool (a connect attribute of its own makes another configuration).
  // `options`: more middleware options (fleet, proxy, …), `timeoutMs`: each invocation's deadline.
  const environment = (fleet?: Record<string, unknown>, timeoutMs = 4_000, options = {}) => {
    const name = `env-${++environmentCount}`
    const middlewareOptions = {
      config: { ...parseUrl(appUrl), connectAttributes: { fleet_environment: name } },
      ...(fleet ? { fleet } : {}),
      ...options,
    }
    const handler = middy<FleetEvent>()
      .use(dbConnection(middlewareOptions))
      .handler(async (event: FleetEvent, context) => {
        const [rows] = await context.db.query(
          event.sql ??
            'SELECT CONNECTION_ID() AS id, @@session.wait_timeout AS waitTimeout, SLEEP(?) AS slept',
          [(event.workMs ?? 0) / 1000],
        )
        return (rows as { id: number; waitTimeout: number }[])[0]
      })
    const invoke = (event: FleetEvent = {}) => {
      const deadline = Date.now() + timeoutMs
      return handler(event, {
        getRemainingTimeInMillis: () => deadline - Date.now(),
        functionName: 'fleet-test',
        awsRequestId: randomUUID(),
      } as never) as Promise<{ id: number; waitTimeout: number }>
    }
    return { name, invoke, options: middlewareOptions }
  }

  return {
    server,
    root,
    appUrl,
    kills,
    appSessions,
    bystander,
    environment,
    stop: async () => {
      await root.end().catch(() => {})
      await server.stop()
    },
  }
}
