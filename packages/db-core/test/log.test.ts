// The logger hook's events: a driver error contributes its code and errno, never its message (a
// server's message may quote a statement's values, a password among them); no logger, no work.
import { describe, expect, it } from '@jest/globals'
import { type DbLogEvent, type DbLogEventName, dbLogEvents, logEvent } from '../src/index.ts'

describe('logEvent', () => {
  it('adds the error’s code and errno, never its message', () => {
    const events: DbLogEvent[] = []
    const error = Object.assign(new Error("Access denied for user 'app' using password 'hunter2'"), {
      code: 'ER_ACCESS_DENIED_ERROR',
      errno: 1045,
    })
    logEvent(
      (event) => events.push(event),
      'app@db:3306/orders',
      'connect-failed',
      'connect failed',
      error,
      42,
    )
    expect(events).toEqual([
      {
        level: 'warn',
        event: 'connect-failed',
        pool: 'app@db:3306/orders',
        message: 'connect failed: ER_ACCESS_DENIED_ERROR',
        code: 'ER_ACCESS_DENIED_ERROR',
        errno: 1045,
        threadId: 42,
      },
    ])
    expect(JSON.stringify(events)).not.toContain('hunter2')
  })

  it('says only what it knows: no code, errno or session without them', () => {
    const events: DbLogEvent[] = []
    logEvent((event) => events.push(event), 'p', 'rotation', 'retrying')
    logEvent((event) => events.push(event), 'p', 'connected', 'opened', undefined, null)
    expect(events).toEqual([
      { level: 'info', event: 'rotation', pool: 'p', message: 'retrying' },
      { level: 'debug', event: 'connected', pool: 'p', message: 'opened', threadId: null },
    ])
    expect(Object.keys(events[0] ?? {})).toEqual(['level', 'event', 'pool', 'message'])
  })

  it("gives every event its table's level, wherever it is logged", () => {
    const events: DbLogEvent[] = []
    for (const name of Object.keys(dbLogEvents) as DbLogEventName[])
      logEvent((event) => events.push(event), 'p', name, 'm')
    expect(events.map(({ event, level }) => [event, level])).toEqual(
      Object.entries(dbLogEvents).map(([name, { level }]) => [name, level]),
    )
  })
})
