// One pool per configuration per process (per worker thread), from @thaw/db-core's registry and pool,
// with pg.Client as the connection (pg-adapter.ts).
import { ConnectionPool, type CredentialSource, poolRegistry } from '@thaw/db-core'
import type pg from 'pg'
import { PgConnectionError, PgConnectionLimitError, pgConnectionErrorCodes } from './errors.ts'
import { fleetAdapter } from './fleet.ts'
import type { PgConnectionSettings } from './options.ts'
import { pgAdapter } from './pg-adapter.ts'

export type PgPool = ConnectionPool<pg.Client>

// pg's own default connect timeout is none at all: thaw's is the invocation's deadline at most.
const defaultConnectTimeoutMs = 10_000

const registry = poolRegistry<PgPool>()

export const registryCounters = (): { pools: number } => ({ pools: registry.created })

// Every pool this process made, for the counters (stats.ts sums them).
const allPools = new Set<PgPool>()
export const poolsMade = (): ReadonlySet<PgPool> => allPools

export const acquirePool = (settings: PgConnectionSettings, source: CredentialSource | undefined): PgPool =>
  registry.acquire(
    settings.key,
    () => {
      const pool = new ConnectionPool(
        {
          size: settings.max,
          validateAfterIdleMs: settings.validateAfterIdleMs,
          validateTimeoutMs: settings.validateTimeoutMs,
          connectTimeoutMs: settings.clientConfig.connectionTimeoutMillis ?? defaultConnectTimeoutMs,
          connectRetry: settings.connectRetry,
          label: settings.label,
          logger: settings.logger,
        },
        fleetAdapter(settings, pgAdapter),
        {
          queueTimeout: (message) => new PgConnectionError(pgConnectionErrorCodes.queueTimeout, message),
          noHealthyConnection: (message) =>
            new PgConnectionError(pgConnectionErrorCodes.noHealthyConnection, message),
          limit: (server, retries, waitedMs) => new PgConnectionLimitError(server, retries, waitedMs),
        },
        source,
      )
      allPools.add(pool)
      return pool
    },
    settings.closeOnShutdown,
  )

/**
 * Ends every pool and forgets it: the next middleware built for one of their configurations gets a
 * new pool. For tests and scripts; a function never needs it.
 * @example afterAll(() => closePools())
 */
export const closePools = (): Promise<void> => registry.closeAll()
