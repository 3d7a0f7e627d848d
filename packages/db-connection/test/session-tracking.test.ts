import { afterAll, describe, expect, it } from '@jest/globals'
import {
  call,
  closeAdmin,
  createTestUser,
  databaseName,
  dropTestUsers,
  startHandler,
  stopStarted,
} from './helpers.ts'

// The server, not the statement text, says what a statement changed in the session: thaw turns on
// session_track_* on its connections and reads the report from each OK packet.

afterAll(async () => {
  await stopStarted()
  await dropTestUsers()
  await closeAdmin()
})

type Steps = { results: unknown[] }

describe('the default database', () => {
  it.each(['auto', 'always', 'never'])(
    "USE another database does not reach the next invocation (resetSession '%s')",
    async (resetSession) => {
      const { dsn } = await createTestUser(`use${resetSession}`)
      const environment = await startHandler({ databaseUrl: dsn(), dbOptions: { resetSession } })
      const first = await call<Steps>(environment, {
        action: 'steps',
        steps: [{ sql: 'USE information_schema' }, { sql: 'SELECT DATABASE() AS db, CONNECTION_ID() AS id' }],
      })
      const [{ db, id }] = first.results[1] as [{ db: string; id: number }]
      expect(db).toBe('information_schema')
      const next = await call<Steps>(environment, {
        action: 'steps',
        steps: [{ sql: 'SELECT DATABASE() AS db, CONNECTION_ID() AS id' }],
      })
      const [after] = next.results[0] as [{ db: string; id: number }]
      // The same connection, back in the configured database.
      expect(after.id).toBe(id)
      expect(after.db).toBe(databaseName())
    },
  )
})

describe("state set behind comments, under resetSession 'auto'", () => {
  it.each([
    ['a block comment', "/* c */ SET time_zone = '+05:00'", '@@SESSION.time_zone', 'SYSTEM'],
    ['a line comment', '-- c\nSET wait_timeout = 7', '@@SESSION.wait_timeout', undefined],
    ['a versioned comment', "/*!40101 SET sql_mode = 'ANSI_QUOTES' */", '@@SESSION.sql_mode', undefined],
    ['a comment before a user variable', '/* c */ SET @leak = 42', '@leak', null],
  ])('%s: the next invocation sees the default', async (_name, sql, probe, expected) => {
    const { dsn } = await createTestUser('comment')
    const environment = await startHandler({ databaseUrl: dsn() })
    const before = await call<Steps>(environment, {
      action: 'steps',
      steps: [{ sql: `SELECT ${probe} AS v, CONNECTION_ID() AS id` }],
    })
    const [initial] = before.results[0] as [{ v: unknown; id: number }]
    const changed = await call<Steps>(environment, {
      action: 'steps',
      steps: [{ sql }, { sql: `SELECT ${probe} AS v` }],
    })
    const [during] = changed.results[1] as [{ v: unknown }]
    expect(during.v).not.toEqual(initial.v)
    const next = await call<Steps>(environment, {
      action: 'steps',
      steps: [{ sql: `SELECT ${probe} AS v, CONNECTION_ID() AS id` }],
    })
    const [after] = next.results[0] as [{ v: unknown; id: number }]
    expect(after.id).toBe(initial.id)
    expect(after.v).toEqual(expected === undefined ? initial.v : expected)
  })
})
