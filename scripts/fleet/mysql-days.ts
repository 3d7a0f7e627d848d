// The MySQL days (MariaDB 10.11, a private server of the command's own): one against the server's
// max_connections, one against the application user's own MAX_USER_CONNECTIONS on a server with room
// to spare. The same variants play both: @thaw/db-connection, serverless-mysql 2.1 as its README
// recommends, and one module-scope mysql2 connection.
import { bundleFleetHandler } from './bundle.ts'
import { type DayOptions, type DayReport, runDay } from './day.ts'
import { commonDay, type FleetDay, type FleetDayRun, type FleetOverrides, withOverrides } from './days.ts'
import { stopOnInterrupt } from './interrupt.ts'
import { type FleetServer, fleetUser, startFleetServer } from './server.ts'

const variants = ['thaw', 'serverless-mysql', 'module-scope'] as const

// Each handler is bundled once per run, all before the first day plays: every day plays the same code,
// even when the sources change while the command runs.
const bundles = new Map<string, Promise<string>>()
const bundled = (variant: string): Promise<string> => {
  let entry = bundles.get(variant)
  if (!entry) {
    entry = bundleFleetHandler(variant)
    bundles.set(variant, entry)
  }
  return entry
}

// Each variant on the same server, one after another; the next starts once the last one's sessions
// have ended (they end with their processes).
const playVariants = async (
  server: FleetServer,
  chosen: string[],
  options: DayOptions,
  overrides: FleetOverrides,
  progress: (line: string) => void,
): Promise<DayReport[]> => {
  const reports: DayReport[] = []
  await Promise.all(variants.map(bundled))
  for (const variant of chosen) {
    const entry = await bundled(variant)
    const env: Record<string, string> =
      variant === 'thaw' && overrides.thawOptions ? { FLEET_THAW_OPTIONS: overrides.thawOptions } : {}
    reports.push(await runDay(variant, entry, server, options, env, progress))
    const deadline = Date.now() + 30_000
    for (;;) {
      const [rows] = await server.admin.query(
        'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?',
        [fleetUser],
      )
      if (Number((rows as { n: number }[])[0]?.n) === 0 || Date.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
  return reports
}

// A MySQL day: a private server with `maxConnections`, prepared by `limitUser` (which says what the
// fleet plays against), then every chosen variant.
const mysqlDay = (
  name: string,
  defaults: Pick<DayOptions, 'environments' | 'workMs' | 'bystanderSessions'>,
  server: (limit: number | undefined) => { maxConnections: number; limit: number },
  describe: (options: DayOptions, limit: number) => { heading: string; label: string },
  limitUser?: (server: FleetServer, limit: number) => Promise<unknown>,
): FleetDay => ({
  name,
  variants,
  play: async (chosen, overrides, progress): Promise<FleetDayRun> => {
    const options = withOverrides({ ...commonDay, ...defaults }, overrides)
    const { maxConnections, limit } = server(overrides.limit)
    const started = await startFleetServer(maxConnections)
    const taken = stopOnInterrupt(() => started.stop())
    try {
      await limitUser?.(started, limit)
      const { heading, label } = describe(options, limit)
      return {
        heading,
        limit: { value: limit, label },
        options,
        reports: await playVariants(started, chosen, options, overrides, progress),
      }
    } finally {
      taken()
      await started.stop()
    }
  },
})

// A hundred environments against max_connections 40 (MariaDB 10.11 raises a smaller value to 10), a
// bystander holding 4 idle sessions.
export const mysqlServerLimitDay = mysqlDay(
  'mysql-server-limit',
  { environments: 100, workMs: 20, bystanderSessions: 4 },
  (limit) => {
    const maxConnections = Math.max(10, limit ?? 40)
    return { maxConnections, limit: maxConnections }
  },
  (options, limit) => ({
    heading: `MySQL, server limit: ${options.environments} classic environments, max_connections ${limit}`,
    label: `max_connections ${limit}`,
  }),
)

// 24 environments of a user limited to 8 connections (its account's MAX_USER_CONNECTIONS) on a server
// with max_connections 151 (MariaDB's default), a bystander holding one idle session of that user,
// bursts of one 50 ms statement each.
export const mysqlUserLimitDay = mysqlDay(
  'mysql-user-limit',
  { environments: 24, workMs: 50, bystanderSessions: 1 },
  (limit) => ({ maxConnections: 151, limit: limit ?? 8 }),
  (options, limit) => ({
    heading: `MySQL, user limit: ${options.environments} classic environments, the user's MAX_USER_CONNECTIONS ${limit} (max_connections 151)`,
    label: `MAX_USER_CONNECTIONS ${limit}`,
  }),
  (server, limit) =>
    server.admin.query(`ALTER USER ?@? WITH MAX_USER_CONNECTIONS ${Number(limit)}`, [fleetUser, '%']),
)
