// The PostgreSQL fleet's database side: a private PostgreSQL (its own data directory and port) with a
// small max_connections and its log collected, one application role, a bystander application holding
// idle sessions under that same role, a sampler counting the server's client backends (as postgres,
// which superuser_reserved_connections lets in when the server is full), and, for the pooler's day, a
// pgbouncer in transaction mode in front of it.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { type Pgbouncer, startPgbouncer } from '../../packages/pg-connection/test/pgbouncer.ts'
import { startPrivatePostgres } from '../../packages/pg-connection/test/private-postgres.ts'
import { type Bystander, holdSessions, type Sample, type Sampler, sampleEvery } from './server.ts'

export const pgFleetRole = 'fleet_app'

export interface PgFleetServer {
  // Tells day.ts this is PostgreSQL: the bystander and the sampler come from here.
  pg: true
  appUrl: string
  maxConnections: number
  startBystander(sessions: number): Promise<Bystander>
  startSampler(bystander: () => Set<number>, frozenSessions: () => Set<number>): Sampler
  // The same server through a pgbouncer (pool_mode=transaction) started on first use.
  throughPooler(): Promise<PgFleetServer>
  // The fleet role's sessions now.
  sessions(): Promise<number>
  // Sessions the server ended for pg_terminate_backend (its log: "terminating connection due to
  // administrator command"), since the server started.
  terminated(): number
  stop(): Promise<void>
}

export const startPgFleetServer = async (maxConnections: number): Promise<PgFleetServer> => {
  const server = await startPrivatePostgres({
    max_connections: maxConnections,
    logging_collector: 'on',
    log_directory: 'log',
  })
  const { admin, port } = server
  const password = `fleet-${Math.random().toString(36).slice(2)}`
  await admin.query('CREATE DATABASE fleet')
  await admin.query(`CREATE ROLE ${pgFleetRole} LOGIN PASSWORD '${password}'`)
  await admin.query(`ALTER DATABASE fleet OWNER TO ${pgFleetRole}`)
  let bouncer: Pgbouncer | undefined
  const make = (url: string): PgFleetServer => ({
    pg: true,
    appUrl: url,
    maxConnections,
    startBystander: (sessions) => startPgBystander(url, sessions),
    startSampler: (bystander, frozen) => sampleEvery(countSessions(admin, bystander, frozen), 200),
    throughPooler: async () => {
      bouncer ??= await startPgbouncer({ host: '127.0.0.1', port, database: 'fleet' }, [pgFleetRole], {
        password,
        maxClientConn: 1000,
        poolSize: Math.floor(maxConnections / 2),
      })
      return make(`postgres://${pgFleetRole}:${password}@127.0.0.1:${bouncer.port}/fleet`)
    },
    sessions: async () =>
      Number(
        (await admin.query('SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1', [pgFleetRole]))
          .rows[0]?.n,
      ),
    terminated: () => {
      const directory = join(server.data, 'log')
      let count = 0
      for (const file of readdirSync(directory)) {
        const text = readFileSync(join(directory, file), 'utf8')
        count += text.split('terminating connection due to administrator command').length - 1
      }
      return count
    },
    stop: async () => {
      await bouncer?.stop()
      await server.stop()
    },
  })
  return make(`postgres://${pgFleetRole}:${password}@127.0.0.1:${port}/fleet`)
}

// Another application of the same role (an app server's idle pool, application_name 'bystander'):
// a session that ends without the bystander closing it was ended by someone else; it is counted and
// opened again (the application would reconnect).
const startPgBystander = (url: string, sessions: number): Promise<Bystander> =>
  holdSessions(async () => {
    const client = new pg.Client({ connectionString: url, application_name: 'bystander' })
    client.on('error', () => {})
    await client.connect()
    return {
      id: (client as unknown as { processID: number }).processID,
      end: () => client.end(),
      onEnd: (listener) => client.on('end', listener),
    }
  }, sessions)

// Every client backend (`server`: the sampler's and the bystander's included), and the fleet role's.
const countSessions =
  (admin: pg.Client, bystander: () => Set<number>, frozenSessions: () => Set<number>) =>
  async (): Promise<Sample> => {
    const { rows } = await admin.query(
      "SELECT pid, usename FROM pg_stat_activity WHERE backend_type = 'client backend'",
    )
    const byst = bystander()
    const frozen = frozenSessions()
    let environments = 0
    let heldByFrozen = 0
    for (const { pid, usename } of rows as { pid: number; usename: string }[]) {
      if (usename !== pgFleetRole || byst.has(pid)) continue
      environments++
      if (frozen.has(pid)) heldByFrozen++
    }
    return { server: rows.length, environments, heldByFrozen }
  }
