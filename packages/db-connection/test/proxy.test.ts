import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import dbConnection, { closePools, dbConnectionStats } from '../src/index.ts'
import { appUser, type FleetTestbed, parseUrl, startFleetTestbed } from './fleet-testbed.ts'

// proxy: 'transaction' (src/proxy.ts): behind RDS Proxy thaw itself sends nothing that pins a session.
// No proxy is needed to prove what thaw sends: a private MariaDB 10.11 (the general log is a server
// setting, never turned on on a shared server) writes every command of the application's user to
// mysql.general_log, and a set of invocations covering new connections, reused ones, what would be
// resets, an error and a stop at the deadline must leave no command AWS lists as pinning (most SET
// statements, user variables, temporary tables, LOCK TABLES, GET_LOCK, server-side prepared
// statements), nor a KILL. MariaDB's general log does not show COM_RESET_CONNECTION (only Connect,
// Query and Quit here), so the resets are counted by thaw's own counter, and server-side prepares by
// the server's Com_stmt_prepare. The same invocations with proxy 'none' do send the SET and the
// resets: the check can fail.

let bed: FleetTestbed

beforeAll(async () => {
  bed = await startFleetTestbed({ variables: { general_log: 1, log_output: 'TABLE' } })
  await bed.root.query('CREATE TABLE fleet.items (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT)')
}, 60_000)

afterAll(async () => {
  await closePools()
  await bed?.stop()
})

interface LogLine {
  command: string
  argument: string
}

// What the application's user sent since the log was last emptied (root's own lines left out).
const logged = async (): Promise<LogLine[]> => {
  const [rows] = await bed.root.query(
    "SELECT command_type AS command, CONVERT(argument USING utf8mb4) AS argument FROM mysql.general_log WHERE user_host LIKE CONCAT(?, '[%') OR thread_id IN (SELECT thread_id FROM mysql.general_log WHERE command_type = 'Connect' AND argument LIKE CONCAT(?, '@%')) ORDER BY event_time",
    [appUser, appUser],
  )
  return rows as LogLine[]
}

const pinning =
  /^\s*(?:SET|PREPARE|EXECUTE|LOCK|KILL)\b|(?<![@\w])@(?!@)|TEMPORARY|GET_LOCK|LOCK\s+TABLES|LAST_INSERT_ID\s*\(\s*[^\s)]/i
const pinningCommands = new Set(['Prepare', 'Execute', 'Close stmt', 'Change user'])
const whatPins = (lines: LogLine[]) =>
  lines.filter(
    ({ command, argument }) =>
      pinningCommands.has(command) || (command === 'Query' && pinning.test(argument)),
  )

const serverPrepares = async () => {
  const [rows] = await bed.root.query("SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'")
  return Number((rows as { Value: string }[])[0]?.Value)
}

// New connections, reused ones, an insert, a transaction left open, an error, what 'always' resets,
// and a statement still running at the deadline: the codes the handlers' callers saw.
const play = async (options: Record<string, unknown>) => {
  await bed.root.query('TRUNCATE mysql.general_log')
  const resetsBefore = dbConnectionStats().resets
  const preparesBefore = await serverPrepares()
  const env = bed.environment(undefined, 4_000, options)
  const outcome = (promise: Promise<unknown>) =>
    promise.then(
      () => 'ok',
      (error: { code?: string }) => String(error.code),
    )
  const seen = [
    await outcome(env.invoke()),
    await outcome(env.invoke()),
    await outcome(env.invoke({ sql: "INSERT INTO items (name) VALUES ('a')" })),
    await outcome(env.invoke({ sql: 'SELECT * FROM no_such_table' })),
    await outcome(env.invoke({ sql: 'START TRANSACTION' })),
    await outcome(env.invoke({ sql: "UPDATE items SET name = 'b'" })),
    await outcome(env.invoke()),
  ]
  const always = bed.environment(undefined, 4_000, { ...options, resetSession: 'always' })
  seen.push(await outcome(always.invoke()), await outcome(always.invoke()))
  // 'never' after the handler changed the default database (which the server reports by default).
  const never = bed.environment(undefined, 4_000, { ...options, resetSession: 'never' })
  seen.push(await outcome(never.invoke({ sql: 'USE information_schema' })), await outcome(never.invoke()))
  // A statement still running at the deadline (1.5 s, margin 250 ms): stopped, or not, at the deadline.
  const short = bed.environment(undefined, 1_500, options)
  seen.push(await outcome(short.invoke()))
  seen.push(await outcome(short.invoke({ sql: 'SELECT SLEEP(?)', workMs: 5_000 })))
  seen.push(await outcome(short.invoke()))
  await closePools()
  return {
    seen,
    resets: dbConnectionStats().resets - resetsBefore,
    prepares: (await serverPrepares()) - preparesBefore,
  }
}

describe('proxy: transaction', () => {
  it('sends no statement or command that pins a session: over new connections, reuse, would-be resets, an error and a stop at the deadline, the general log holds none; with proxy none it does', async () => {
    const proxied = await play({ proxy: 'transaction' })
    const proxiedLog = await logged()
    const plain = await play({})
    const plainLog = await logged()

    expect(proxied.resets).toBe(0)
    expect(proxied.prepares).toBe(0)
    expect(proxied.seen).toEqual([
      'ok',
      'ok',
      'ok',
      'ER_NO_SUCH_TABLE',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'THAW_DB_CONNECTION_STATEMENT_OUTCOME_UNKNOWN',
      'ok',
    ])
    // The log saw these invocations (a check of the check): connects and the handlers' statements.
    expect(proxiedLog.filter((line) => line.command === 'Connect').length).toBeGreaterThanOrEqual(4)
    expect(proxiedLog.map((line) => line.argument)).toContain("INSERT INTO items (name) VALUES ('a')")
    expect(whatPins(proxiedLog)).toEqual([])
    // Nothing of thaw's own but the rollback of a transaction left open.
    const handlers = new Set([
      "INSERT INTO items (name) VALUES ('a')",
      'SELECT * FROM no_such_table',
      'USE information_schema',
    ])
    const own = proxiedLog.filter(
      ({ command, argument }) =>
        command === 'Query' &&
        !handlers.has(argument) &&
        !/^(?:SELECT CONNECTION_ID\(\)|SELECT SLEEP|START TRANSACTION|UPDATE items)/.test(argument),
    )
    expect(own.map((line) => line.argument)).toEqual(['ROLLBACK'])

    // Without the proxy mode: the session-tracking SET, COM_RESET_CONNECTION (a transaction left open,
    // resetSession 'always'), and a KILL when the stop was confirmed (on a loaded machine the
    // stop may end without one, reported as an unknown outcome).
    const pins = whatPins(plainLog)
    expect(pins.some((line) => /^SET SESSION session_track/.test(line.argument))).toBe(true)
    expect(plain.resets).toBeGreaterThan(0)
    if (plain.seen.at(-2) === 'THAW_DB_CONNECTION_STATEMENT_DEADLINE')
      expect(pins.some((line) => /^KILL/.test(line.argument))).toBe(true)
  }, 90_000)

  it('refuses execute() before anything is sent (a server-side prepared statement pins the session), naming query() instead', async () => {
    await bed.root.query('TRUNCATE mysql.general_log')
    const preparesBefore = await serverPrepares()
    const handler = middy()
      .use(dbConnection({ config: parseUrl(bed.appUrl), proxy: 'transaction' }))
      .handler(async (_event: unknown, context) => context.db.execute('SELECT ? AS one', [1]))
    const deadline = Date.now() + 4_000
    const context = {
      getRemainingTimeInMillis: () => deadline - Date.now(),
      functionName: 'proxy-test',
      awsRequestId: randomUUID(),
    } as never
    await expect(handler({}, context)).rejects.toMatchObject({
      code: 'THAW_DB_CONNECTION_PROXY_UNSUPPORTED',
      message: expect.stringContaining('use query()'),
    })
    await closePools()
    const lines = await logged()
    expect(lines.some((line) => line.command === 'Connect')).toBe(true)
    expect(whatPins(lines)).toEqual([])
    expect(await serverPrepares()).toBe(preparesBefore)
  }, 30_000)
})
