// Sharing one PostgreSQL server with a fleet: thaw gives back server slots it cannot use, and never
// touches a session that is not its own (never pg_terminate_backend: another session of the same role
// may be another function's, or another application's, mid-work; serverless-postgres 2.1 terminates
// its role's idle sessions above its threshold).
//
// - An idle limit on thaw's own sessions (fleet.idleTimeoutMs): PostgreSQL 14+ closes a session idle
//   that long outside a transaction (idle_session_timeout, 57P05), so the session a frozen environment
//   holds is closed by the server; after the thaw the pool sees the closed socket and opens a new one
//   before the handler's first statement. Never above what the session would have had (the server's,
//   the role's or the database's setting, read once). The first connection of a pool gets it by
//   set_config in the statement that reads the limits; every later one in its startup packet
//   (`options=-c idle_session_timeout=…`: no round trip, and DISCARD ALL keeps it, since a startup
//   setting is the session's reset value; the first session's set_config does not survive one, and that
//   session then keeps the server's own limit). A server without the setting (before 14) gets neither.
// - Giving back while crowded (fleet.giveBackAbove): each new connection counts the client backends
//   in pg_stat_activity (all, its role's, its database's) against the limits that apply to the role:
//   max_connections less superuser_reserved_connections (and reserved_connections, 16+), the role's
//   rolconnlimit, the database's datconnlimit (the last two do not bind a superuser). A connection
//   opened at or above giveBackAbove of the tightest, or after a connect was refused for too many
//   connections (53300), is closed (Terminate) when its invocation gives it back; the next invocation
//   opens one and looks again. The limits are read once per pool and again after a refusal; the
//   counts once per new connection; nothing on a warm invocation.
// - Behind a transaction pooler (proxy: 'transaction') nothing of this runs: pg_stat_activity counts
//   the pooler's server connections, not thaw's clients, a session setting would stay on whichever
//   server connection ran it, and the pooler queues clients instead of the server refusing them.
//
// Checked against PostgreSQL 15.20 and pg 8.23.1.
import { type ConnectionAdapter, logEvent } from '@thaw/db-core'
import type pg from 'pg'
import type { ClientConfig } from 'pg'
import type { PgConnectionSettings } from './options.ts'
import { processIdOf } from './pg-adapter.ts'

// Counted here, read by stats.ts. `givenBack`: connections closed after their invocation because the
// server (or the role, or the database) was crowded when they opened.
const counters = { givenBack: 0 }
export const fleetCounters = (): Readonly<typeof counters> => counters

// Client backends: autovacuum, WAL senders and background workers have slots of their own. A role
// without pg_read_all_stats sees only datid, pid and usesysid of another role's session (backend_type
// is null, PostgreSQL 15): a session with a database and a user counts, which may count another role's
// parallel or autovacuum worker too (a fuller server than it is, never an emptier one).
const counts = `SELECT count(*) AS server_count,
  count(*) FILTER (WHERE usesysid = (SELECT oid FROM pg_roles WHERE rolname = session_user)) AS role_count,
  count(*) FILTER (WHERE datid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS database_count
  FROM pg_stat_activity WHERE datid IS NOT NULL AND usesysid IS NOT NULL
    AND coalesce(backend_type, 'client backend') = 'client backend'`

// The limits that apply to this session's role, the counts, and (when $1 > 0) the idle limit set on
// this session: the lower of $1 and what it already had. idle_session_timeout is read in ms.
const limitsAndCounts = `SELECT current_setting('max_connections')::int - CASE WHEN r.rolsuper THEN 0
    ELSE current_setting('superuser_reserved_connections')::int
      + coalesce(current_setting('reserved_connections', true)::int, 0) END AS server_limit,
  CASE WHEN r.rolsuper THEN -1 ELSE r.rolconnlimit END AS role_limit,
  CASE WHEN r.rolsuper THEN -1 ELSE d.datconnlimit END AS database_limit,
  (SELECT set_config('idle_session_timeout',
      CASE WHEN s.setting::int > 0 AND s.setting::int < $1::int THEN s.setting ELSE $1::text END, false)
    FROM pg_settings s WHERE s.name = 'idle_session_timeout' AND $1::int > 0) AS idle_limit_ms,
  c.*
  FROM pg_roles r, pg_database d, (${counts}) c
  WHERE r.rolname = session_user AND d.datname = current_database()`

interface Limits {
  server: number
  role: number
  database: number
}

type Row = Record<string, string | number | null>

// The fullest of the three, as a fraction of its limit (a limit of -1 is none).
const fullnessOf = (limits: Limits, row: Row): number => {
  let fullness = 0
  for (const name of ['server', 'role', 'database'] as const) {
    const limit = limits[name]
    if (limit > 0) fullness = Math.max(fullness, Number(row[`${name}_count`]) / limit)
  }
  return fullness
}

// One statement with a deadline: its rows, 'refused' (an error: a privilege, a view the server lacks)
// or 'lost' (no answer within timeoutMs).
const readWithin = async (
  client: pg.Client,
  text: string,
  values: unknown[],
  timeoutMs: number,
): Promise<Row[] | 'refused' | 'lost'> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'lost'>((resolve) => {
    timer = setTimeout(() => resolve('lost'), timeoutMs)
  })
  try {
    return await Promise.race([
      client.query(text, values).then(
        (result) => result.rows as Row[],
        () => 'refused' as const,
      ),
      late,
    ])
  } finally {
    clearTimeout(timer)
  }
}

const startupOptionRefused = (error: unknown): boolean => {
  const { code, message } = error as { code?: unknown; message?: unknown }
  return code === '08P01' && typeof message === 'string' && message.includes('options')
}

// The sessions that got the idle limit by set_config (those measured before the limit was known, the
// pool's first): DISCARD ALL puts it back to the server's default, which a startup option would
// have survived, so the release sets it again (release.ts).
// The limit as the server wrote it ('15s').
const idleLimitBySet = new WeakMap<pg.Client, string>()
export const idleLimitToRestore = (client: pg.Client): string | undefined => idleLimitBySet.get(client)

// The pool's adapter with the fleet's work around it: `makeAdapter` gets the fleet's own copy of the
// client configuration, to which the idle limit is added once it is known.
export const fleetAdapter = (
  settings: PgConnectionSettings,
  makeAdapter: (config: ClientConfig) => ConnectionAdapter<pg.Client>,
): ConnectionAdapter<pg.Client> => {
  const { idleTimeoutMs, giveBackAbove } = settings.fleet
  const config: ClientConfig = { ...settings.clientConfig }
  const inner = makeAdapter(config)
  if (settings.proxy !== 'none' || (idleTimeoutMs === 0 && giveBackAbove === false)) return inner
  // Connections to close when their invocation gives them back.
  const crowded = new WeakSet<pg.Client>()
  // undefined: to be read with the next new connection; null: cannot be read (refused, no answer).
  let limits: Limits | null | undefined
  let refused = false
  let idleLimitKnown = false

  const measure = async (client: pg.Client): Promise<void> => {
    if (refused) {
      refused = false
      crowded.add(client)
      return
    }
    if (limits === null || (limits !== undefined && giveBackAbove === false)) return
    const rows = await (limits === undefined
      ? readWithin(client, limitsAndCounts, [idleLimitKnown ? 0 : idleTimeoutMs], settings.validateTimeoutMs)
      : readWithin(client, counts, [], settings.validateTimeoutMs))
    const row = typeof rows === 'string' ? undefined : rows[0]
    if (!row) {
      limits = null
      logEvent(
        settings.logger,
        settings.label,
        'fleet-unread',
        `the server's connection limits could not be read (${rows === 'lost' ? 'no answer' : 'refused'}): fleet checks off for this pool`,
        undefined,
        processIdOf(client),
      )
      return
    }
    if (limits === undefined) {
      limits = {
        server: Number(row.server_limit),
        role: Number(row.role_limit),
        database: Number(row.database_limit),
      }
      if (!idleLimitKnown && row.idle_limit_ms !== null) {
        idleLimitBySet.set(client, String(row.idle_limit_ms))
        const own = config.options === undefined ? '' : `${config.options} `
        config.options = `${own}-c idle_session_timeout=${row.idle_limit_ms}`
      }
      idleLimitKnown = true
    }
    if (giveBackAbove !== false && fullnessOf(limits, row) >= giveBackAbove) crowded.add(client)
  }

  return {
    ...inner,
    async open(credentials, timeoutMs) {
      const started = Date.now()
      let client: pg.Client
      try {
        client = await inner.open(credentials, timeoutMs)
      } catch (error) {
        if (config.options === settings.clientConfig.options || !startupOptionRefused(error)) throw error
        // A pooler in front (pgbouncer 1.18 refuses the startup parameter 'options' with 08P01): its
        // server sessions are its own to close; this pool sends no idle limit any more.
        config.options = settings.clientConfig.options
        logEvent(
          settings.logger,
          settings.label,
          'fleet-idle-limit-refused',
          "the server (a pooler?) refused the idle limit as a startup option: connecting without it; set proxy: 'transaction' behind a transaction pooler",
          error,
        )
        client = await inner.open(credentials, Math.max(1, timeoutMs - (Date.now() - started)))
      }
      await measure(client)
      return client
    },
    // A connection to give back is not to be used again: the pool closes it when it comes back.
    isDead: (client) => crowded.has(client) || inner.isDead(client),
    destroy(client) {
      if (!crowded.has(client) || inner.isDead(client)) {
        inner.destroy(client)
        return
      }
      crowded.delete(client)
      counters.givenBack++
      logEvent(
        settings.logger,
        settings.label,
        'given-back',
        'the server was crowded when this connection opened: closed after its invocation',
        undefined,
        processIdOf(client),
      )
      inner.close(client)
    },
    refusal(error) {
      const refusal = inner.refusal(error)
      if (refusal === 'full' && giveBackAbove !== false) {
        refused = true
        // The limits may have changed (a lowered CONNECTION LIMIT): read again with the next connection.
        if (limits !== null) limits = undefined
      }
      return refusal
    },
  }
}
