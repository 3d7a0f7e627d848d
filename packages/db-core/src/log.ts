// The logger hook's events, built one way for every module of every database middleware. Never a
// password: `pool` is the label (user@host:port/database), and an error contributes only its code and
// errno (a SQLSTATE is PostgreSQL's code).
import { type DbLogEventName, dbLogEvents } from './log-events.ts'
import type { DbLogEvent, DbLogger } from './types.ts'

export type LogLevel = DbLogEvent['level']

// The event's level is its entry's in dbLogEvents: one event, one level, wherever it is logged.
export const logEvent = (
  logger: DbLogger | undefined,
  pool: string,
  event: DbLogEventName,
  message: string,
  error?: unknown,
  threadId?: number | null,
): void => {
  if (!logger) return
  const cause = error as { code?: string; errno?: number } | undefined
  logger({
    level: dbLogEvents[event].level,
    event,
    pool,
    message: cause?.code ? `${message}: ${cause.code}` : message,
    ...(cause?.code ? { code: cause.code } : {}),
    ...(typeof cause?.errno === 'number' ? { errno: cause.errno } : {}),
    ...(threadId !== undefined ? { threadId } : {}),
  })
}
