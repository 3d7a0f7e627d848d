// Every event the database middlewares give the logger hook: its level and when it comes. The event
// type (DbLogEvent['event']) and docs/log-events.md follow from this table (scripts/docs-options.ts
// writes the page), so a new event cannot be logged before it is named here.
export const dbLogEvents = {
  connected: { level: 'debug', when: 'a connection was opened', drivers: 'both' },
  replaced: {
    level: 'info',
    when: 'an idle connection was found dead (closed while the environment was frozen, or it failed its ping after validateAfterIdleMs) and another is used',
    drivers: 'both',
  },
  rotation: {
    level: 'info',
    when: 'the server refused the password: the credentials are fetched anew and the connect tried once more',
    drivers: 'both',
  },
  backoff: {
    level: 'info',
    when: "the server has too many connections: the next connect comes after a jittered wait, within the invocation's deadline",
    drivers: 'both',
  },
  'connect-failed': {
    level: 'warn',
    when: "opening a connection failed (the error's code is in the event); the invocation's statement fails with it",
    drivers: 'both',
  },
  'queue-timeout': {
    level: 'warn',
    when: "every connection of the pool stayed leased by other invocations until the invocation's deadline margin",
    drivers: 'both',
  },
  'rollback-failed': {
    level: 'warn',
    when: 'the ROLLBACK of a transaction the handler left open was refused or not answered within validateTimeoutMs: the connection is discarded',
    drivers: 'both',
  },
  'reset-failed': {
    level: 'warn',
    when: "the session reset after an invocation (COM_RESET_CONNECTION; DISCARD ALL, and on a pool's first session the fleet's idle limit set again) was refused or not answered within validateTimeoutMs: the connection is discarded",
    drivers: 'both',
  },
  abandoned: {
    level: 'warn',
    when: "a statement was still running when it had to end (the invocation's deadline near, or no deadline known and the invocation over): its connection is given up, never handed on (db-connection closes it and KILLs its session, and the message says whether the server then no longer showed it; pg-connection closes it when the server did not confirm the cancel in time)",
    drivers: 'both',
  },
  'late-statement': {
    level: 'warn',
    when: 'a statement was sent through context.db after its invocation ended: refused, not sent',
    drivers: 'both',
  },
  'given-back': {
    level: 'debug',
    when: 'a connection opened while the server was crowded was closed after its invocation (fleet)',
    drivers: 'both',
  },
  'fleet-unread': {
    level: 'warn',
    when: "the server's connection limits could not be read: the fleet checks are off for this pool",
    drivers: 'pg-connection',
  },
  'fleet-idle-limit-refused': {
    level: 'info',
    when: "the server (a pooler?) refused the idle limit thaw sets on its own sessions as a startup option: it connects without it (behind a transaction pooler, set proxy: 'transaction')",
    drivers: 'pg-connection',
  },
  'tracking-timeout': {
    level: 'warn',
    when: 'a new connection did not answer the session-tracking SET in time: discarded, and the next connections reset after anything but plain reads',
    drivers: 'db-connection',
  },
  'margin-too-small': {
    level: 'warn',
    when: 'statementMarginMs is less than stopping a statement takes on this link (measured): the stop comes earlier than configured (on the console without a logger)',
    drivers: 'db-connection',
  },
} as const

export type DbLogEventName = keyof typeof dbLogEvents
