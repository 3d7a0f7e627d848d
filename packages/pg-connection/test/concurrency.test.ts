import { describe, expect, it } from '@jest/globals'
import { admin, call, createTestRole, sessionsOf, setUpTestFile, startHandler } from './helpers.ts'

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
})
