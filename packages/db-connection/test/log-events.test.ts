import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import { peerConfig, type SecretsManagerPeer, startSecretsManagerPeer, waitFor } from '@thaw/test-support'
import dbConnection, {
  closePools,
  type DbConnectionContext,
  type DbConnectionLogEvent,
  type DbConnectionOptions,
  dbConnectionStats,
} from '../src/index.ts'
import {
  admin,
  closedPort,
  createTestUser,
  getSecretValueCalls,
  lambdaContext,
  setPassword,
  setUpTestFile,
  sleep,
  startProxy,
  untilGone,
  untilRunning,
} from './helpers.ts'

// The logger hook is public API: `{ level, event, pool, message, code?, errno?, threadId? }` for every
// connection thaw opens, replaces, gives back, resets or abandons. Each event here comes from a real
// fault against the real MariaDB (a proxy that stops answering, a closed port, a rotated password, a
// statement left running), in-process, and the event is checked whole: its level and name (what a log
// filter keys on), the pool it names (never a password), the connection it was about, and the cause.

setUpTestFile({ cleanUp: () => closePools() })

type Db = DbConnectionContext['db']
type Handler = (db: Db) => Promise<unknown>

// One function, in this process: its logger's events, and an invoke that runs `handler` as one
// invocation (remainingMs: the invocation's time left when it starts).
const loggedFunction = (options: DbConnectionOptions) => {
  const logged: DbConnectionLogEvent[] = []
  const wrapped = middy<{ handler: Handler }, unknown, Error, DbConnectionContext>()
    .use(dbConnection({ ...options, logger: (event) => logged.push(event) }))
    .handler((event, context) => event.handler(context.db))
  const invoke = <T>(handler: (db: Db) => Promise<T>, remainingMs?: number) =>
    wrapped({ handler }, lambdaContext(remainingMs)) as Promise<T>
  return { logged, invoke }
}

const connectionId = async (db: Db) => {
  const [rows] = await db.query('SELECT CONNECTION_ID() AS id')
  return Number((rows as [{ id: number }])[0].id)
}

// The pool's label: user@host:port/database, with no password.
const poolLabel = (user: string, port: number) =>
  expect.stringMatching(new RegExp(`^${user}@127\\.0\\.0\\.1:${port}/\\w+$`))

describe('the logger hook: one event per thing thaw does to a connection, from real faults', () => {
  it("'connected' for each new connection, 'replaced' for an idle one whose ping goes unanswered", async () => {
    const { user, password, dsn, host, port } = await createTestUser('logping')
    const proxy = await startProxy({ host, port })
    const { logged, invoke } = loggedFunction({
      config: dsn(proxy.port),
      validateAfterIdleMs: 0,
      validateTimeoutMs: 300,
    })
    const first = await invoke(connectionId)
    expect(logged).toEqual([
      {
        level: 'debug',
        event: 'connected',
        pool: poolLabel(user, proxy.port),
        message: 'opened a connection',
        threadId: first,
      },
    ])
    // The server stops answering the open connection (no FIN: a half-open socket, as a NAT or a
    // proxy that dropped it leaves): the ping before reuse times out and the connection is replaced.
    proxy.blackhole()
    const before = dbConnectionStats()
    const second = await invoke(connectionId)
    const after = dbConnectionStats()
    // One ping, failed: an error and a replacement.
    expect({
      validations: after.validations - before.validations,
      errors: after.errors - before.errors,
      replacements: after.replacements - before.replacements,
    }).toEqual({ validations: 1, errors: 1, replacements: 1 })
    expect(second).not.toBe(first)
    expect(logged.slice(1)).toEqual([
      {
        level: 'info',
        event: 'replaced',
        pool: poolLabel(user, proxy.port),
        message: 'replaced an idle connection that failed its ping',
        threadId: first,
      },
      expect.objectContaining({ level: 'debug', event: 'connected', threadId: second }),
    ])
    expect(JSON.stringify(logged)).not.toContain(password)
  })

  it('an idle connection that answers its ping is kept: validated, not replaced, no event', async () => {
    const { dsn } = await createTestUser('logpingok')
    const { logged, invoke } = loggedFunction({ config: dsn(), validateAfterIdleMs: 50 })
    const first = await invoke(connectionId)
    await sleep(150)
    const before = dbConnectionStats()
    expect(await invoke(connectionId)).toBe(first)
    const after = dbConnectionStats()
    expect({
      validations: after.validations - before.validations,
      replacements: after.replacements - before.replacements,
      connectionsOpened: after.connectionsOpened - before.connectionsOpened,
    }).toEqual({ validations: 1, replacements: 0, connectionsOpened: 0 })
    expect(logged.map((event) => event.event)).toEqual(['connected'])
  })

  it("connect: 'init''s connection is validated on its first use like any idle one, not taken as new", async () => {
    const { dsn } = await createTestUser('loginit')
    const opened = dbConnectionStats().connectionsOpened
    const { logged, invoke } = loggedFunction({ config: dsn(), connect: 'init', validateAfterIdleMs: 50 })
    // Opened while the middleware was built, outside any invocation (no event: nothing to tell).
    await waitFor(() => (dbConnectionStats().connectionsOpened > opened ? true : undefined), {
      what: "init's connection",
    })
    await sleep(150)
    const before = dbConnectionStats()
    await invoke(connectionId)
    const after = dbConnectionStats()
    // Idle past validateAfterIdleMs (init may be followed by a long freeze): pinged, then used as it is.
    expect({
      validations: after.validations - before.validations,
      connectionsOpened: after.connectionsOpened - before.connectionsOpened,
    }).toEqual({ validations: 1, connectionsOpened: 0 })
    expect(logged).toEqual([])
  })

  it("'tracking-timeout' when a new connection's session-tracking SET goes unanswered, and the invocation still runs", async () => {
    const { user, dsn, host, port } = await createTestUser('logtrack')
    const proxy = await startProxy({ host, port })
    const { logged, invoke } = loggedFunction({ config: dsn(proxy.port), validateTimeoutMs: 300 })
    // The first connection's handshake goes through; what it sends after (the SET) is never answered.
    proxy.holeNextAfter(1)
    const before = dbConnectionStats()
    const id = await invoke(connectionId)
    const after = dbConnectionStats()
    // One error (the unanswered SET), two connections opened, none replaced (it was never idle).
    expect({
      errors: after.errors - before.errors,
      connectionsOpened: after.connectionsOpened - before.connectionsOpened,
      replacements: after.replacements - before.replacements,
    }).toEqual({ errors: 1, connectionsOpened: 2, replacements: 0 })
    const [silenced, connected] = logged.filter(
      (event) => event.event !== 'connected' || event.threadId === id,
    )
    expect(silenced).toEqual({
      level: 'warn',
      event: 'tracking-timeout',
      pool: poolLabel(user, proxy.port),
      message: expect.stringMatching(
        /^the server did not answer the session-tracking SET in time: connection discarded/,
      ),
      threadId: expect.any(Number),
    })
    expect(silenced?.threadId).not.toBe(id)
    expect(connected).toMatchObject({ event: 'connected', threadId: id })
    // The server stays unasked about tracking, not about how full it is: the second connection's
    // session had the fullness read before the handler's statement (Questions counts both).
    const questions = await invoke(async (db) => {
      const [rows] = await db.query(
        "SELECT VARIABLE_VALUE AS questions FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'QUESTIONS'",
      )
      return Number((rows as [{ questions: string }])[0].questions)
    })
    // The fullness read, the CONNECTION_ID() above, and this one.
    expect(questions).toBe(3)
  })

  it("'queue-timeout' when every connection stays leased past the invocation's deadline margin", async () => {
    const { user, dsn } = await createTestUser('logqueue')
    // Concurrent invocations in one process are Managed Instances' (classic Lambda runs one at a time,
    // and a new invocation there finishes what the last one left running); read at construction.
    process.env.AWS_LAMBDA_MAX_CONCURRENCY = '3'
    let built: ReturnType<typeof loggedFunction>
    try {
      built = loggedFunction({
        config: `${dsn()}?connectionLimit=2`,
        connectRetry: { deadlineMarginMs: 500 },
      })
    } finally {
      delete process.env.AWS_LAMBDA_MAX_CONCURRENCY
    }
    const { logged, invoke } = built
    // Both of the pool's connections are leased for 3 s, far past the waiter's 0.7 s in the queue.
    const holders = [1, 2].map(() => invoke((db) => db.query('SELECT SLEEP(3)'), 10_000))
    await waitFor(
      () => (logged.filter((event) => event.event === 'connected').length === 2 ? true : undefined),
      {
        what: 'both holders connected',
      },
    )
    const before = dbConnectionStats().errors
    const waiter = await invoke((db) => db.query('SELECT 1'), 1_200).then(
      () => undefined,
      (error: Error & { code?: string }) => error,
    )
    expect(dbConnectionStats().errors - before).toBe(1)
    await Promise.all(holders)
    const label = `${user}@127.0.0.1:${Number(new URL(dsn()).port || 3306)}/${new URL(dsn()).pathname.slice(1)}`
    // The error says how long it waited, for which pool of which size, and how early it gave up.
    expect(waiter).toMatchObject({
      code: 'THAW_DB_CONNECTION_QUEUE_TIMEOUT',
      message: expect.stringMatching(
        new RegExp(
          `^@thaw/db-connection: waited \\d+ ms in the pool's queue for a connection to ${label.replace(/[.]/g, '\\.')} \\(connectionLimit 2, all leased by other invocations\\) and gave up 500 ms before the invocation's deadline$`,
        ),
      ),
    })
    expect(logged.filter((event) => event.event !== 'connected')).toEqual([
      {
        level: 'warn',
        event: 'queue-timeout',
        pool: label,
        message: 'gave up waiting for a connection in the pool queue: THAW_DB_CONNECTION_QUEUE_TIMEOUT',
        code: 'THAW_DB_CONNECTION_QUEUE_TIMEOUT',
      },
    ])
  })

  describe('a server that refuses the connection', () => {
    let refusingPort = 0
    beforeAll(async () => {
      refusingPort = await closedPort()
    })

    it("'connect-failed' with the cause's code and errno, at the invocation", async () => {
      const { user, dsn } = await createTestUser('logrefused')
      const { logged, invoke } = loggedFunction({ config: dsn(refusingPort) })
      const code = await invoke((db) => db.query('SELECT 1')).then(
        () => undefined,
        (error: { code?: string }) => error.code,
      )
      expect(code).toBe('ECONNREFUSED')
      expect(logged).toEqual([
        {
          level: 'warn',
          event: 'connect-failed',
          pool: poolLabel(user, refusingPort),
          message: 'opening a connection failed: ECONNREFUSED',
          code: 'ECONNREFUSED',
          errno: expect.any(Number),
        },
      ])
    })

    it("'connect-failed' at init with connect: 'init', which never throws there", async () => {
      const { user, dsn } = await createTestUser('loginit')
      const { logged } = loggedFunction({ config: dsn(refusingPort), connect: 'init' })
      await waitFor(() => (logged.length > 0 ? true : undefined), { what: "the init connect's failure" })
      expect(logged).toEqual([
        {
          level: 'warn',
          event: 'connect-failed',
          pool: poolLabel(user, refusingPort),
          message: 'opening a connection at init failed: ECONNREFUSED',
          code: 'ECONNREFUSED',
          errno: expect.any(Number),
        },
      ])
    })
  })

  describe('credentials', () => {
    let peer: SecretsManagerPeer
    beforeAll(async () => {
      peer = await startSecretsManagerPeer()
    })
    afterAll(async () => {
      await peer.close()
    })

    // A function whose user and password come from a secret on the peer (the config names only the
    // server, `port` if not the shared one's).
    const secretFunction = async (label: string, port?: number) => {
      const created = await createTestUser(label)
      const secretId = `log-events/${created.user}`
      peer.setSecret(secretId, { username: created.user, password: created.password })
      const url = new URL(created.dsn(port))
      const built = loggedFunction({
        config: `mysql://${url.host}${url.pathname}`,
        secret: {
          secretId,
          clientConfig: peerConfig(peer),
          sdk: () => import('@aws-sdk/client-secrets-manager'),
        },
      })
      // No user is known before the secret is read: the pool is named by its secret.
      return { ...created, ...built, secretId, pool: `@${url.host}${url.pathname} (secret ${secretId})` }
    }

    const killAndWaitGone = async (id: number) => {
      await (await admin()).query('KILL ?', [id])
      await waitFor(
        async () => {
          const [rows] = await (await admin()).query(
            'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?',
            [id],
          )
          return Number((rows as [{ n: number }])[0].n) === 0 ? true : undefined
        },
        { what: 'the killed session gone' },
      )
    }

    const rotationEvent = (pool: string) => ({
      level: 'info',
      event: 'rotation',
      pool,
      message: 'access denied: retrying once with credentials fetched anew: ER_ACCESS_DENIED_ERROR',
      code: 'ER_ACCESS_DENIED_ERROR',
      errno: 1045,
    })

    it("'rotation' when the server refuses the password, before the one retry with the secret read again", async () => {
      const { user, password, secretId, pool, logged, invoke } = await secretFunction('logrotate')
      const first = await invoke(connectionId)
      // The password rotates (server and secret) and the connection is gone: the next connect uses
      // the cached, old password, is refused with 1045, and retries once with the new one.
      const rotated = `${password}-rotated`
      await setPassword(user, rotated)
      peer.setSecret(secretId, { username: user, password: rotated })
      await killAndWaitGone(first)
      const before = dbConnectionStats().rotationRetries
      const second = await invoke(connectionId)
      expect(second).not.toBe(first)
      expect(logged.filter((event) => event.event === 'rotation')).toEqual([rotationEvent(pool)])
      expect(dbConnectionStats().rotationRetries).toBe(before + 1)
      expect(getSecretValueCalls(peer, secretId)).toBe(2)
      expect(JSON.stringify(logged)).not.toContain(password)
    })

    it('one retry only: a password the secret does not have either fails with 1045 after a single re-read', async () => {
      const { user, password, secretId, pool, logged, invoke } = await secretFunction('logstale')
      await killAndWaitGone(await invoke(connectionId))
      // The server's password changes, the secret's does not (a rotation stuck half-way).
      await setPassword(user, `${password}-elsewhere`)
      const failure = await invoke(connectionId).then(
        () => undefined,
        (error: { errno?: number }) => error.errno,
      )
      expect(failure).toBe(1045)
      expect(logged.filter((event) => event.event === 'rotation')).toEqual([rotationEvent(pool)])
      expect(getSecretValueCalls(peer, secretId)).toBe(2)
    })

    it('a refusal other than 1045 is no rotation: the secret is not read again', async () => {
      const { secretId, logged, invoke } = await secretFunction('lognorotate', await closedPort())
      const failure = await invoke(connectionId).then(
        () => undefined,
        (error: { code?: string }) => error.code,
      )
      expect(failure).toBe('ECONNREFUSED')
      expect(logged.map((event) => event.event)).toEqual(['connect-failed'])
      expect(getSecretValueCalls(peer, secretId)).toBe(1)
    })
  })

  it("'given-back' for a connection opened while the server was crowded, closed after its invocation", async () => {
    const { user, dsn } = await createTestUser('loggiven')
    // Any server counts as crowded at this fraction: one connection of 151 is above it.
    const { logged, invoke } = loggedFunction({ config: dsn(), fleet: { giveBackAbove: 0.0001 } })
    const id = await invoke(connectionId)
    await waitFor(() => (logged.some((event) => event.event === 'given-back') ? true : undefined), {
      what: 'the give-back',
    })
    expect(logged.find((event) => event.event === 'given-back')).toEqual({
      level: 'debug',
      event: 'given-back',
      pool: poolLabel(user, Number(new URL(dsn()).port || 3306)),
      message: 'the server was crowded when this connection opened: closed after its invocation',
      threadId: id,
    })
    expect(await invoke(connectionId)).not.toBe(id)
  })

  it("'reset-failed' when COM_RESET_CONNECTION goes unanswered, and the next invocation gets a new connection", async () => {
    const { user, dsn, host, port } = await createTestUser('logreset')
    const proxy = await startProxy({ host, port })
    const { logged, invoke } = loggedFunction({
      config: dsn(proxy.port),
      resetSession: 'always',
      validateTimeoutMs: 300,
    })
    const id = await invoke(async (db) => {
      const found = await connectionId(db)
      // The server stops answering before the reset after this invocation.
      proxy.blackhole()
      return found
    })
    expect(logged.filter((event) => event.event !== 'connected')).toEqual([
      {
        level: 'warn',
        event: 'reset-failed',
        pool: poolLabel(user, proxy.port),
        message: 'COM_RESET_CONNECTION got no answer within 300 ms; connection discarded',
        threadId: id,
      },
    ])
    expect(await invoke(connectionId)).not.toBe(id)
  })

  it.each(['never', 'auto'] as const)(
    "'rollback-failed' when the ROLLBACK of a transaction left open goes unanswered (resetSession '%s'): the invocation ends within validateTimeoutMs, and the next gets a new connection",
    async (resetSession) => {
      const { user, dsn, host, port } = await createTestUser('logrollback')
      const proxy = await startProxy({ host, port })
      const { logged, invoke } = loggedFunction({
        config: dsn(proxy.port),
        resetSession,
        validateTimeoutMs: 300,
      })
      const started = Date.now()
      const id = await invoke(async (db) => {
        const found = await connectionId(db)
        await db.query('START TRANSACTION')
        // The server stops answering before the ROLLBACK after this invocation.
        proxy.blackhole()
        return found
      }, 20_000)
      // Not held until the function's timeout (20 s here) by a ROLLBACK nobody answers.
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(logged.filter((event) => event.event !== 'connected')).toEqual([
        {
          level: 'warn',
          event: 'rollback-failed',
          pool: poolLabel(user, proxy.port),
          message: 'ROLLBACK got no answer within 300 ms; connection discarded',
          threadId: id,
        },
      ])
      expect(await invoke(connectionId)).not.toBe(id)
    },
  )

  it("'abandoned' for a statement still running at the invocation's deadline, whose session is then killed", async () => {
    const { user, dsn } = await createTestUser('logabandon')
    const { logged, invoke } = loggedFunction({ config: dsn() })
    const id = await invoke(connectionId)
    // The handler returns without awaiting its statement; the invocation's end waits for it until the
    // deadline less the stop's margin.
    await invoke(async (db) => {
      void db.query(`SELECT BENCHMARK(1000000000, MD5('thaw'))`).catch(() => {})
      await untilRunning(id, 'BENCHMARK')
    }, 1_500)
    expect(logged.filter((event) => event.event === 'abandoned')).toEqual([
      {
        level: 'warn',
        event: 'abandoned',
        pool: poolLabel(user, Number(new URL(dsn()).port || 3306)),
        message:
          'a statement was still running when it had to end: its connection is closed and its session KILLed',
        threadId: id,
      },
    ])
    // The session was killed, not left running: a BENCHMARK never notices that its client has gone
    // (a SLEEP does, within 5 s, which would hide a missing KILL), so only the KILL ends it this soon.
    // Waited for: a KILLed thread takes a moment to leave the process list on a busy machine.
    await untilGone(id, 5_000)
  })
})
