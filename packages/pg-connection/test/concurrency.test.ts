import { describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import pgConnection, { type PgConnectionContext } from '../src/index.ts'
import {
  admin,
  call,
  createTestRole,
  lambdaContext,
  sessionsOf,
  setUpTestFile,
  startHandler,
} from './helpers.ts'

// Lambda Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY): several invocations at once in one process.
// Each holds its own client for its whole invocation; the pool (config max) bounds the sessions and
// the rest wait, within their deadline.

setUpTestFile()

describe('Managed Instances: concurrent invocations in one process', () => {
  it('never interleave on one session; the pool bounds sessions and queues the rest', async () => {
    const { role, url } = await createTestRole('conc')
    const db = await admin()
    const table = `${role}_runs`
    await db.query(`CREATE TABLE ${table} (inv text PRIMARY KEY, pid int, t0 timestamptz, t1 timestamptz)`)
    await db.query(`GRANT ALL ON ${table} TO ${role}`)
    const environment = await startHandler(
      { url: `${url()}?max=2` },
      { workers: 2, concurrency: 8, timeoutMs: 10_000 },
    )
    const invocations = Array.from({ length: 16 }, (_, i) => `inv-${i}`)
    await Promise.all(
      invocations.map((inv) =>
        call(environment, {
          action: 'transaction',
          steps: [
            { sql: `INSERT INTO ${table} VALUES ($1, pg_backend_pid(), clock_timestamp())`, values: [inv] },
            { sql: 'SELECT pg_sleep(0.03)' },
            {
              sql: `UPDATE ${table} SET t1 = clock_timestamp() WHERE inv = $1 AND pid = pg_backend_pid()`,
              values: [inv],
            },
          ],
        }),
      ),
    )
    const { rows } = await db.query(`SELECT inv, pid, t0, t1 FROM ${table} ORDER BY pid, t0`)
    expect(rows.map((row) => row.inv).sort()).toEqual([...invocations].sort())
    expect(rows.every((row) => row.t1 !== null)).toBe(true)
    const pids = new Set(rows.map((row) => Number(row.pid)))
    // Two worker threads, each with a pool of two: at most four sessions.
    expect(pids.size).toBeGreaterThanOrEqual(2)
    expect(pids.size).toBeLessThanOrEqual(4)
    expect((await sessionsOf(role)).length).toBeLessThanOrEqual(4)
    for (const pid of pids) {
      const onSession = rows.filter((row) => Number(row.pid) === pid)
      onSession.slice(1).forEach((row, i) => {
        expect(new Date(row.t0).getTime()).toBeGreaterThanOrEqual(new Date(onSession[i]?.t1).getTime())
      })
    }
    await db.query(`DROP TABLE ${table}`)
  })

  it('a session whose after/onError never ran is finished at its deadline, and its client serves the next', async () => {
    const { url } = await createTestRole('overdue')
    process.env.AWS_LAMBDA_MAX_CONCURRENCY = '4'
    const pidOf = async (context: PgConnectionContext) =>
      (await context.db.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number
    let handler: (event: { early: boolean }, context: PgConnectionContext) => Promise<number>
    try {
      handler = middy<{ early: boolean }, number, Error, PgConnectionContext>({ timeoutEarlyInMillis: 0 })
        .use(pgConnection({ config: `${url()}?max=1` }))
        // An early response after a statement: Middy skips the handler and every after/onError.
        .use({ before: async (request) => (request.event.early ? pidOf(request.context) : undefined) })
        .handler((_event, context) => pidOf(context))
    } finally {
      delete process.env.AWS_LAMBDA_MAX_CONCURRENCY
    }
    const first = await handler({ early: true }, lambdaContext(1_500))
    // The pool's one client is still the first invocation's: the next waits for it, within its own
    // deadline, and gets it once the first's deadline has passed.
    const second = await handler({ early: false }, lambdaContext(15_000))
    expect(second).toBe(first)
  })
})
