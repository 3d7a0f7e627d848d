import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import middy, { type MiddlewareObj } from '@middy/core'
import { databaseUrl, waitFor } from '@thaw/test-support'
import fc from 'fast-check'
import mysql from 'mysql2/promise'
import dbConnection, { closePools, type DbConnectionContext } from '../src/index.ts'
import { admin, closeAdmin, createTestUser, databaseName, dropTestUsers, lambdaContext } from './helpers.ts'

// Generated evidence, in-process against the real MariaDB: state set by any
// disguise never reaches the next invocation, and no chain of middlewares around dbConnection leaves a
// connection leased, a transaction open or a lock held.

const suffix = randomBytes(3).toString('hex')
const table = `dbc_prop_${suffix}`
let dsn: string

// Each kind: how to leave the state behind, how the next invocation sees it, what it must see instead.
interface Kind {
  name: string
  sql: string
  probe: string
  expected: unknown
  // Whether the statement can run inside a procedure, or be PREPAREd (USE can be neither).
  procedure: boolean
  prepared: boolean
}
const lock = `dbc_prop_lock_${suffix}`
const kinds: Kind[] = [
  {
    name: 'session variable',
    sql: "SET SESSION time_zone = '+05:00'",
    probe: 'SELECT @@SESSION.time_zone AS v',
    expected: 'SYSTEM',
    procedure: true,
    prepared: true,
  },
  {
    name: 'sql_mode',
    sql: "SET sql_mode = 'ANSI_QUOTES'",
    probe: "SELECT @@SESSION.sql_mode LIKE '%ANSI_QUOTES%' AS v",
    expected: 0,
    procedure: true,
    prepared: true,
  },
  {
    name: 'user variable',
    sql: 'SET @dbc_leak = 42',
    probe: 'SELECT @dbc_leak AS v',
    expected: null,
    procedure: true,
    prepared: true,
  },
  {
    name: 'temporary table',
    sql: `CREATE TEMPORARY TABLE ${table} (x INT)`,
    // The temporary table would hide the real one of the same name (which has a column v).
    probe: `SELECT COUNT(*) AS v FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${table}' AND COLUMN_NAME = 'v'`,
    expected: 1,
    procedure: true,
    prepared: true,
  },
  {
    name: 'named lock',
    sql: `SELECT GET_LOCK('${lock}', 0)`,
    probe: `SELECT IS_FREE_LOCK('${lock}') AS v`,
    expected: 1,
    procedure: true,
    prepared: true,
  },
  {
    name: 'default database',
    sql: 'USE information_schema',
    probe: 'SELECT DATABASE() AS v',
    expected: undefined, // the configured database
    procedure: false,
    prepared: false,
  },
]

type Disguise =
  | 'plain'
  | 'block comment'
  | 'line comment'
  | 'versioned comment'
  | 'case'
  | 'whitespace'
  | 'procedure'
  | 'prepared'
const disguises: Disguise[] = [
  'plain',
  'block comment',
  'line comment',
  'versioned comment',
  'case',
  'whitespace',
  'procedure',
  'prepared',
]

// The session that queues for a chain's lock while the handler holds it.
let bystanderConnection: mysql.Connection | undefined
const bystander = async (): Promise<mysql.Connection> => {
  bystanderConnection ??= await mysql.createConnection(databaseUrl())
  return bystanderConnection
}
let waiter: Promise<[[{ got: number; at: string }]]> | undefined

const lockIsFree = async (name: string) => {
  const [rows] = await (await admin()).query('SELECT IS_FREE_LOCK(?) AS free', [name])
  return Number((rows as [{ free: number }])[0].free) === 1
}

const procedureName = (kind: Kind) => `dbc_prop_${kind.name.replace(/\W/g, '_')}_${suffix}`

// The statements one invocation sends to leave `kind` behind, disguised.
const disguised = (kind: Kind, disguise: Disguise): string[] => {
  switch (disguise) {
    case 'plain':
      return [kind.sql]
    case 'block comment':
      return [`/* thaw */ ${kind.sql}`]
    case 'line comment':
      return [`-- thaw\n${kind.sql}`]
    case 'versioned comment':
      return [`/*!40101 ${kind.sql} */`]
    case 'case':
      return [kind.sql.replace(/^[A-Z ]+/, (verb) => verb.toLowerCase())]
    case 'whitespace':
      return [`\n\t  ${kind.sql.replace(/ /, ' \n ')}`]
    case 'procedure':
      return [`CALL ${procedureName(kind)}()`]
    case 'prepared':
      return [`PREPARE dbc_prop_s FROM '${kind.sql.replaceAll("'", "''")}'`, 'EXECUTE dbc_prop_s']
  }
}

beforeAll(async () => {
  const db = await admin()
  await db.query(`CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB`)
  for (const kind of kinds.filter((k) => k.procedure)) {
    const body = kind.sql.startsWith('SELECT') ? `DO ${kind.sql.slice('SELECT '.length)}` : kind.sql
    await db.query(`CREATE PROCEDURE ${procedureName(kind)}() BEGIN ${body}; END`)
  }
  const user = await createTestUser('prop')
  await db.query(`GRANT EXECUTE ON \`${databaseName()}\`.* TO ?@?`, [user.user, '%'])
  dsn = user.dsn()
})

afterAll(async () => {
  await closePools()
  await bystanderConnection?.end()
  const db = await admin()
  for (const kind of kinds.filter((k) => k.procedure))
    await db.query(`DROP PROCEDURE IF EXISTS ${procedureName(kind)}`)
  await db.query(`DROP TABLE IF EXISTS ${table}`)
  await dropTestUsers()
  await closeAdmin()
})

describe('state left by any disguise never reaches the next invocation', () => {
  const handlers = new Map<string, (event: { sql: string[] }) => Promise<unknown[]>>()
  const handlerFor = (resetSession: 'auto' | 'always') => {
    let handler = handlers.get(resetSession)
    if (!handler) {
      const wrapped = middy<{ sql: string[] }, unknown[], Error, DbConnectionContext>()
        .use(dbConnection({ config: dsn, resetSession }))
        .handler(async (event: { sql: string[] }, context: DbConnectionContext) => {
          const results: unknown[] = []
          for (const sql of event.sql) results.push((await context.db.query(sql))[0])
          return results
        })
      handler = (event) => wrapped(event, lambdaContext()) as Promise<unknown[]>
      handlers.set(resetSession, handler)
    }
    return handler
  }

  const combination = fc
    .record({
      kind: fc.constantFrom(...kinds),
      disguise: fc.constantFrom(...disguises),
      policy: fc.constantFrom('auto' as const, 'always' as const),
    })
    .filter(
      ({ kind, disguise }) =>
        (disguise !== 'procedure' || kind.procedure) && (disguise !== 'prepared' || kind.prepared),
    )

  it('generated statements × disguises × policies', async () => {
    await fc.assert(
      fc.asyncProperty(combination, async ({ kind, disguise, policy }) => {
        const handler = handlerFor(policy)
        await handler({ sql: disguised(kind, disguise) })
        const [rows] = (await handler({ sql: [kind.probe] })) as [[{ v: unknown }]]
        const expected = kind.expected === undefined ? databaseName() : kind.expected
        expect(
          rows[0].v === null
            ? null
            : kind.expected === 'SYSTEM' || kind.expected === undefined
              ? rows[0].v
              : Number(rows[0].v),
        ).toEqual(expected)
      }),
      { numRuns: 60 },
    )
  })

  it("resetSession 'never' still restores the default database and closes a transaction", async () => {
    const wrapped = middy<{ sql: string[] }, unknown[], Error, DbConnectionContext>()
      .use(dbConnection({ config: dsn, resetSession: 'never' }))
      .handler(async (event: { sql: string[] }, context: DbConnectionContext) => {
        const results: unknown[] = []
        for (const sql of event.sql) results.push((await context.db.query(sql))[0])
        return results
      })
    const handler = (sql: string[]) => wrapped({ sql }, lambdaContext()) as Promise<unknown[]>
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'plain',
          'block comment',
          'line comment',
          'versioned comment',
          'case',
          'whitespace',
        ) as fc.Arbitrary<Disguise>,
        fc.boolean(),
        async (disguise, openTransaction) => {
          const use = kinds.find((k) => k.name === 'default database') as Kind
          await handler([...(openTransaction ? ['START TRANSACTION'] : []), ...disguised(use, disguise)])
          const [rows] = (await handler(['SELECT DATABASE() AS db, @@in_transaction AS t'])) as [
            [{ db: string; t: number }],
          ]
          expect(rows[0].db).toBe(databaseName())
          expect(Number(rows[0].t)).toBe(0)
        },
      ),
      { numRuns: 20 },
    )
  })
})

// One middleware around dbConnection: what each of its hooks does.
type Act = 'nothing' | 'early' | 'throw'
interface Around {
  position: 'outside' | 'inside'
  before: Act
  after: Act
  onError: Act
}
type Ending = 'return' | 'throw' | 'deadline' | 'middy-timeout'

const act = (what: Act, hook: string) => () => {
  if (what === 'early') return { early: hook }
  if (what === 'throw') throw new Error(`thrown in ${hook}`)
  return undefined
}

describe('no middleware chain around dbConnection leaves a connection leased, a transaction open or a lock held', () => {
  const around: fc.Arbitrary<Around> = fc.record({
    position: fc.constantFrom('outside' as const, 'inside' as const),
    before: fc.constantFrom<Act>('nothing', 'nothing', 'early', 'throw'),
    after: fc.constantFrom<Act>('nothing', 'early', 'throw'),
    onError: fc.constantFrom<Act>('nothing', 'early', 'throw'),
  })

  it('generated chains, early responses, throws, deadlines and early timeouts', async () => {
    let run = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(around, { maxLength: 3 }),
        fc.constantFrom<Ending>('return', 'throw', 'deadline', 'middy-timeout'),
        async (chain, ending) => {
          run++
          const tag = `chain-${suffix}-${run}`
          const chainLock = `dbc_chain_${suffix}`
          // 'middy-timeout': Middy's early timeout comes first (statementMarginMs 0); 'deadline': thaw's.
          const timeoutEarlyInMillis = ending === 'middy-timeout' ? 150 : 5
          const handler = middy<unknown, unknown, Error, DbConnectionContext>({ timeoutEarlyInMillis })
          const outside = chain.filter((m) => m.position === 'outside')
          const inside = chain.filter((m) => m.position === 'inside')
          const use = (m: Around, i: number) => {
            handler.use({
              before: act(m.before, `before ${i}`),
              after: act(m.after, `after ${i}`),
              onError: act(m.onError, `onError ${i}`),
            } as MiddlewareObj)
          }
          outside.forEach(use)
          handler.use(dbConnection({ config: dsn, statementMarginMs: ending === 'middy-timeout' ? 0 : 150 }))
          inside.forEach((m, i) => {
            use(m, i + outside.length)
          })
          handler.handler(async (_event: unknown, context: DbConnectionContext) => {
            await context.db.query('START TRANSACTION')
            await context.db.query(`INSERT INTO ${table} (v) VALUES (?)`, [tag])
            await context.db.query('SELECT GET_LOCK(?, 0)', [chainLock])
            // Another session queues for the lock now: the server answers it the moment the lock is
            // let go, and says when (server time, whatever the load on this test process).
            waiter = (await bystander()).query(
              'SELECT GET_LOCK(?, 30) AS got, UNIX_TIMESTAMP(NOW(6)) AS at',
              [chainLock],
            ) as unknown as Promise<[[{ got: number; at: string }]]>
            if (ending === 'throw') throw new Error('handler threw')
            if (ending === 'deadline' || ending === 'middy-timeout') await context.db.query('SELECT SLEEP(5)')
            return 'returned'
          })
          await (handler as unknown as (e: unknown, c: unknown) => Promise<unknown>)(
            {},
            lambdaContext(600),
          ).catch(() => undefined)
          // The lock is free within 100 ms of the invocation's end (a KILLed session lets go of it as
          // the server gets to it), whoever answered. Measured on the server's clock: the waiting
          // session got the lock at `at`; the invocation had ended by `ended` (read after it ended,
          // so a slow test process can only make the gap look smaller, never fail it).
          const [[{ ended }]] = (await (
            await admin()
          ).query('SELECT UNIX_TIMESTAMP(NOW(6)) AS ended')) as unknown as [[{ ended: string }]]
          if (waiter) {
            const [[{ got, at }]] = await waiter
            waiter = undefined
            expect(Number(got)).toBe(1)
            expect((Number(at) - Number(ended)) * 1000).toBeLessThan(100)
            await (await bystander()).query('SELECT RELEASE_LOCK(?)', [chainLock])
          }
          await waitFor(async () => ((await lockIsFree(chainLock)) ? true : undefined), {
            what: `the lock ${chainLock} free`,
            withinMs: 5_000,
          })
          // The next invocation (classic Lambda: one at a time) gets the connection at once and finds
          // no transaction open and the row rolled back.
          const probe = middy<unknown, unknown, Error, DbConnectionContext>()
            .use(dbConnection({ config: dsn, connectRetry: { deadlineMarginMs: 0 } }))
            .handler(async (_event: unknown, context: DbConnectionContext) => {
              const [rows] = await context.db.query(
                'SELECT @@in_transaction AS t, IS_FREE_LOCK(?) AS free, (SELECT COUNT(*) FROM ' +
                  `${table} WHERE v = ?) AS n`,
                [chainLock, tag],
              )
              return (rows as [{ t: number; free: number; n: number }])[0]
            })
          const started = Date.now()
          const seen = (await probe({}, lambdaContext(2_000))) as { t: number; free: number; n: number }
          expect(Date.now() - started).toBeLessThan(1_500)
          expect(Number(seen.t)).toBe(0)
          expect(Number(seen.free)).toBe(1)
          // A returned handler whose transaction was never committed: rolled back as well.
          expect(Number(seen.n)).toBe(0)
        },
      ),
      { numRuns: 40 },
    )
    // 40 generated chains, half of them running into a 600 ms deadline: room for a loaded machine.
  }, 180_000)
})
