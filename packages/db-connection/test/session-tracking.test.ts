import { afterAll, describe, expect, it } from '@jest/globals'
import {
  admin,
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

// The state a reset does not put back by itself (found by test/session-fingerprint.property.test.ts),
// in the runtime client: mysql2's character set, and LAST_INSERT_ID() without a reset.
describe('after a reset, mysql2 and the server agree on the character set', () => {
  it.each(['auto', 'always'])(
    "SET NAMES latin1: the next invocations still find 'José' and store 'Zoë' (resetSession '%s')",
    async (resetSession) => {
      const { dsn } = await createTestUser(`names${resetSession}`)
      const table = `dbc_names_${resetSession}_${Date.now().toString(36)}`
      await (await admin()).query(
        `CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(16) CHARACTER SET utf8mb4)`,
      )
      try {
        await (await admin()).query(`INSERT INTO ${table} (v) VALUES ('José')`)
        const environment = await startHandler({ databaseUrl: dsn(), dbOptions: { resetSession } })
        const first = await call<Steps>(environment, {
          action: 'steps',
          steps: [{ sql: 'SET NAMES latin1' }, { sql: 'SELECT CONNECTION_ID() AS id' }],
        })
        const [{ id }] = first.results[1] as [{ id: number }]
        for (let invocation = 0; invocation < 2; invocation++) {
          const next = await call<Steps>(environment, {
            action: 'steps',
            steps: [
              { sql: `SELECT COUNT(*) AS n, CONNECTION_ID() AS id FROM ${table} WHERE v = 'José'` },
              { sql: `INSERT INTO ${table} (v) VALUES ('Zoë')` },
              { sql: `SELECT HEX(v) AS hex FROM ${table} WHERE id = LAST_INSERT_ID()` },
            ],
          })
          const [found] = next.results[0] as [{ n: number; id: number }]
          expect(found.id).toBe(id)
          expect(Number(found.n)).toBe(1)
          // Zoë in utf8mb4: 5A 6F C3AB.
          expect(next.results[2]).toEqual([{ hex: '5A6FC3AB' }])
        }
      } finally {
        await (await admin()).query(`DROP TABLE IF EXISTS ${table}`)
      }
    },
  )

  it("an INSERT's generated id does not reach the next invocation's LAST_INSERT_ID() (resetSession 'auto')", async () => {
    const { dsn } = await createTestUser('insertid')
    const table = `dbc_insertid_${Date.now().toString(36)}`
    await (await admin()).query(`CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY, v INT)`)
    try {
      const environment = await startHandler({ databaseUrl: dsn() })
      const first = await call<Steps>(environment, {
        action: 'steps',
        steps: [
          { sql: `INSERT INTO ${table} (v) VALUES (1)` },
          { sql: 'SELECT LAST_INSERT_ID() AS last, CONNECTION_ID() AS id' },
        ],
      })
      const [during] = first.results[1] as [{ last: number; id: number }]
      expect(Number(during.last)).toBeGreaterThan(0)
      const next = await call<Steps>(environment, {
        action: 'steps',
        steps: [{ sql: 'SELECT LAST_INSERT_ID() AS last, CONNECTION_ID() AS id' }],
      })
      expect(next.results[0]).toEqual([{ last: 0, id: during.id }])
    } finally {
      await (await admin()).query(`DROP TABLE IF EXISTS ${table}`)
    }
  })
})
