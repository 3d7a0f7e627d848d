import { describe, expect, it } from '@jest/globals'
import {
  admin,
  call,
  connectionIds,
  createTestUser,
  killConnections,
  setUpTestFile,
  sleep,
  startHandler,
  startProxy,
} from './helpers.ts'

interface Stats {
  connectionsOpened: number
  reusedInvocations: number
  replacements: number
  validations: number
  errors: number
}
type QueryResult = { rows: [{ id: number }]; stats: Stats }
const whoAmI = { action: 'query', sql: 'SELECT CONNECTION_ID() AS id' }

setUpTestFile()

describe('reuse', () => {
  it('keeps one server connection across many frozen invocations, one per environment', async () => {
    const { user, dsn } = await createTestUser('reuse')
    const first = await startHandler({ databaseUrl: dsn() })
    const second = await startHandler({ databaseUrl: dsn() })
    // connect: 'first-use' (the default) opens nothing at init.
    expect(await connectionIds(user)).toEqual([])
    const ids = new Set<number>()
    for (let i = 0; i < 8; i++) {
      const result = await call<QueryResult>(first, whoAmI)
      ids.add(result.rows[0].id)
      expect(first.isFrozen).toBe(true)
    }
    expect(ids.size).toBe(1)
    const other = await call<QueryResult>(second, whoAmI)
    expect(ids.has(other.rows[0].id)).toBe(false)
    // The server sees exactly the two environments' connections.
    expect((await connectionIds(user)).sort()).toEqual([...ids, other.rows[0].id].sort())
    const { stats } = await call<{ stats: Stats }>(first, { action: 'stats' })
    expect(stats).toMatchObject({ connectionsOpened: 1, reusedInvocations: 7, replacements: 0, errors: 0 })
  })
})

describe('connections that died while the environment was frozen', () => {
  it('replaces a connection KILLed between invocations, with no error reaching the handler', async () => {
    const { user, dsn } = await createTestUser('kill')
    const environment = await startHandler({ databaseUrl: dsn() })
    const before = await call<QueryResult>(environment, whoAmI)
    for (let round = 0; round < 3; round++) {
      expect(await killConnections(user)).toBe(1)
      await sleep(50)
      const after = await call<QueryResult>(environment, whoAmI)
      expect(after.rows[0].id).not.toBe(before.rows[0].id)
    }
    const { stats } = await call<{ stats: Stats }>(environment, { action: 'stats' })
    expect(stats.replacements).toBe(3)
    expect(stats.connectionsOpened).toBe(4)
  })

  it('replaces a connection whose wait_timeout expired while frozen', async () => {
    const { user, dsn } = await createTestUser('wait')
    // resetSession 'never': a reset would put wait_timeout back before the freeze.
    const environment = await startHandler({ databaseUrl: dsn(), dbOptions: { resetSession: 'never' } })
    const first = await call<{ results: [unknown, [{ id: number }]] }>(environment, {
      action: 'steps',
      steps: [{ sql: 'SET SESSION wait_timeout = 1' }, { sql: 'SELECT CONNECTION_ID() AS id' }],
    })
    const firstId = first.results[1][0].id
    expect(await connectionIds(user)).toEqual([firstId])
    await sleep(2_500)
    // The server closed it while the environment was frozen.
    expect(await connectionIds(user)).toEqual([])
    const next = await call<QueryResult>(environment, whoAmI)
    expect(next.rows[0].id).not.toBe(firstId)
    expect(next.stats.replacements).toBe(1)
  })

  it('replaces connections cut by a restart (both sides closed) while frozen', async () => {
    const { user, dsn, host, port } = await createTestUser('restart')
    const proxy = await startProxy({ host, port })
    const environment = await startHandler({ databaseUrl: dsn(proxy.port) })
    const first = await call<QueryResult>(environment, whoAmI)
    proxy.cut()
    await sleep(100)
    expect(await connectionIds(user)).toEqual([])
    const next = await call<QueryResult>(environment, whoAmI)
    expect(next.rows[0].id).not.toBe(first.rows[0].id)
    expect(next.stats.replacements).toBe(1)
  })

  it("replaces connections closed by a proxy's idle timeout while frozen", async () => {
    const { dsn, host, port } = await createTestUser('idle')
    const proxy = await startProxy({ host, port })
    proxy.idleTimeoutMs = 300
    const environment = await startHandler({ databaseUrl: dsn(proxy.port) })
    const first = await call<QueryResult>(environment, whoAmI)
    await sleep(600)
    const next = await call<QueryResult>(environment, whoAmI)
    expect(next.rows[0].id).not.toBe(first.rows[0].id)
    expect(next.stats.replacements).toBe(1)
  })

  it('finds a silently dropped (half-open) connection after an idle gap with a ping and a short deadline', async () => {
    const { dsn, host, port } = await createTestUser('holed')
    const proxy = await startProxy({ host, port })
    const environment = await startHandler({
      databaseUrl: dsn(proxy.port),
      dbOptions: { validateAfterIdleMs: 200, validateTimeoutMs: 300 },
    })
    const first = await call<QueryResult>(environment, whoAmI)
    proxy.blackhole()
    await sleep(400)
    const outcome = await environment.invoke(whoAmI)
    if (!outcome.ok) throw new Error(outcome.error.message)
    const next = outcome.result as QueryResult
    expect(next.rows[0].id).not.toBe(first.rows[0].id)
    expect(next.stats).toMatchObject({ validations: 1, replacements: 1 })
    // The deadline, not the function's timeout, bounded the wait.
    expect(outcome.durationMs).toBeLessThan(1_500)
  })

  it('spends no round trip on a connection used within validateAfterIdleMs', async () => {
    const { dsn } = await createTestUser('noping')
    const environment = await startHandler({ databaseUrl: dsn() })
    for (let i = 0; i < 4; i++) await call(environment, whoAmI)
    const { stats } = await call<{ stats: Stats }>(environment, { action: 'stats' })
    expect(stats.validations).toBe(0)
  })
})

describe('connect', () => {
  it("'init': a handshake frozen in flight fails at thaw, is not kept, and the first invocation still succeeds", async () => {
    const { user, dsn, host, port } = await createTestUser('init')
    const proxy = await startProxy({ host, port })
    // The server's bytes arrive 150 ms late: the handshake is certainly in flight when init ends
    // and the environment is frozen.
    proxy.delayMs = 150
    const environment = await startHandler({
      databaseUrl: `${dsn(proxy.port)}?connectTimeout=1000`,
      dbOptions: { connect: 'init' },
    })
    // Frozen for longer than the connect timeout, as provisioned concurrency would.
    await sleep(1_500)
    // The link is quick again for the invocation's own connect: over 150 ms each way, its handshake
    // could itself outlast connectTimeout on a busy machine, which is not what this test is about.
    proxy.delayMs = 0
    const outcome = await environment.invoke(whoAmI)
    expect(outcome.ok).toBe(true)
    const { stats, logged } = await call<{ stats: Stats; logged: { event: string; code?: string }[] }>(
      environment,
      { action: 'stats' },
    )
    expect(logged).toContainEqual(expect.objectContaining({ event: 'connect-failed', code: 'ETIMEDOUT' }))
    expect(stats.errors).toBeGreaterThanOrEqual(1)
    expect((await connectionIds(user)).length).toBe(1)
  })

  it("'init' without a delay: the first invocation finds the init connection, and opens no second", async () => {
    const { user, dsn } = await createTestUser('initok')
    const environment = await startHandler({ databaseUrl: dsn(), dbOptions: { connect: 'init' } })
    // Whether the loopback handshake finished before lambda-sim froze the process is up to timing
    // (in runs here it had not: the server showed no authenticated connection yet).
    expect((await connectionIds(user)).length).toBeLessThanOrEqual(1)
    await call(environment, whoAmI)
    const { stats } = await call<{ stats: Stats }>(environment, { action: 'stats' })
    expect(stats).toMatchObject({ connectionsOpened: 1, errors: 0 })
    expect((await connectionIds(user)).length).toBe(1)
  })

  it('never caches a failed connect: the next invocation tries again', async () => {
    const { user, dsn, password } = await createTestUser('failed')
    const db = await admin()
    await db.query('ALTER USER ?@? IDENTIFIED BY ?', [user, '%', 'not-the-password'])
    const environment = await startHandler({ databaseUrl: dsn() })
    const refused = await environment.invoke(whoAmI)
    expect(refused.ok).toBe(false)
    if (!refused.ok) {
      expect(refused.error.message).toMatch(/Access denied/)
      expect(refused.error.message).not.toContain(password)
    }
    await db.query('ALTER USER ?@? IDENTIFIED BY ?', [user, '%', password])
    const next = await call<QueryResult>(environment, whoAmI)
    expect(next.rows[0].id).toBeGreaterThan(0)
    const { logged } = await call<{ logged: unknown[] }>(environment, { action: 'stats' })
    expect(JSON.stringify(logged)).not.toContain(password)
    expect(JSON.stringify(next.stats)).not.toContain(password)
  })
})
