// The PostgreSQL days of `pnpm fleet`: the same day (day.ts) against a private PostgreSQL with a small
// max_connections, for @thaw/pg-connection, serverless-postgres 2.1.2 as its README recommends, one
// module-scope pg.Client, and @thaw/pg-connection through a pgbouncer in transaction mode
// (proxy: 'transaction'; pool size half of max_connections). Besides the day's report, each day counts
// the sessions the server ended for pg_terminate_backend (its log).
import { bundleFleetHandler } from './bundle.ts'
import { type DayOptions, type DayReport, runDay } from './day.ts'
import { commonDay, type FleetDay, withOverrides } from './days.ts'
import { stopOnInterrupt } from './interrupt.ts'
import { startPgFleetServer } from './pg-server.ts'

// variant → the handler it bundles, whether it goes through the pooler, its thaw options.
const pgVariantTable: Record<string, { handler: string; pooled: boolean; thaw?: Record<string, unknown> }> = {
  'pg-thaw': { handler: 'pg-thaw', pooled: false },
  'pg-serverless-postgres': { handler: 'pg-serverless-postgres', pooled: false },
  'pg-module-scope': { handler: 'pg-module-scope', pooled: false },
  'pg-thaw-pgbouncer': { handler: 'pg-thaw', pooled: true, thaw: { proxy: 'transaction' } },
}
export const pgVariants = Object.keys(pgVariantTable)

export interface PgDayReport extends DayReport {
  // Sessions the server ended for pg_terminate_backend during the day (anyone's).
  terminated: number
}

export const runPgDays = async (
  variants: string[],
  options: DayOptions,
  maxConnections: number,
  thawOptions: Record<string, unknown>,
  progress: (line: string) => void,
): Promise<PgDayReport[]> => {
  const direct = await startPgFleetServer(maxConnections)
  const taken = stopOnInterrupt(() => direct.stop())
  const reports: PgDayReport[] = []
  try {
    const pooledLast = [...variants].sort(
      (a, b) => Number(pgVariantTable[a]?.pooled) - Number(pgVariantTable[b]?.pooled),
    )
    for (const variant of pooledLast) {
      const { handler, pooled, thaw } = pgVariantTable[variant] as (typeof pgVariantTable)[string]
      const server = pooled ? await direct.throughPooler() : direct
      const entry = await bundleFleetHandler(handler)
      const env: Record<string, string> = {
        FLEET_MAX_CONNECTIONS: String(maxConnections),
        ...(handler === 'pg-thaw' ? { FLEET_THAW_OPTIONS: JSON.stringify({ ...thawOptions, ...thaw }) } : {}),
      }
      const terminatedBefore = direct.terminated()
      const report = await runDay(variant, entry, server, options, env, progress)
      reports.push({ ...report, terminated: direct.terminated() - terminatedBefore })
      // The next variant starts on an empty server: the environments' sessions end with their
      // processes (the pooler keeps its server connections: its day is the last).
      const deadline = Date.now() + 30_000
      while (!pooled && (await direct.sessions()) > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
  } finally {
    taken()
    await direct.stop()
  }
  return reports
}

// A hundred environments against a private PostgreSQL's max_connections 40, a bystander of the same
// role holding 4 idle sessions.
export const pgServerLimitDay: FleetDay = {
  name: 'pg-server-limit',
  variants: pgVariants,
  play: async (chosen, overrides, progress) => {
    const options = withOverrides(
      { ...commonDay, environments: 100, workMs: 20, bystanderSessions: 4 },
      overrides,
    )
    const maxConnections = overrides.limit ?? 40
    const thawOptions = overrides.thawOptions
      ? (JSON.parse(overrides.thawOptions) as Record<string, unknown>)
      : {}
    return {
      heading: `PostgreSQL, server limit: ${options.environments} classic environments, max_connections ${maxConnections}`,
      limit: { value: maxConnections, label: `max_connections ${maxConnections}` },
      options,
      reports: await runPgDays(chosen, options, maxConnections, thawOptions, progress),
    }
  },
}
