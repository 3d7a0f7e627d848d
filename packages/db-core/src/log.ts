// The logger hook's events, built one way for every module of every database middleware. Never a
// password: `pool` is the label (user@host:port/database), and an error contributes only its code and
// errno (a SQLSTATE is PostgreSQL's code).
import type { DbLogEvent, DbLogger } from './types.ts'

export type LogLevel = DbLogEvent['level']

export const logEvent = (
  logger: DbLogger | undefined,
  pool: string,
  level: LogLevel,
  event: string,
  message: string,
  error?: unknown,
  threadId?: number | null,
): void => {
  if (!logger) return
  const cause = error as { code?: string; errno?: number } | undefined
  logger({
    level,
    event,
    pool,
    message: cause?.code ? `${message}: ${cause.code}` : message,
    ...(cause?.code ? { code: cause.code } : {}),
    ...(typeof cause?.errno === 'number' ? { errno: cause.errno } : {}),
    ...(threadId !== undefined ? { threadId } : {}),
  })
}
