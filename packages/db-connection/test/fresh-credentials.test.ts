import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import { peerConfig, type SecretsManagerPeer, startSecretsManagerPeer } from '@thaw/test-support'
import { closePools, type DbConnectionContext } from '../src/index.ts'
import {
  admin,
  createTestUser,
  lambdaContext,
  managedInstances,
  setPassword,
  setUpTestFile,
  sleep,
  untilRunning,
} from './helpers.ts'

// Every connection the pool opens gets the credentials as they are then, also the ones mysql2 opens by
// itself for invocations waiting in its queue (when a connection leaves the pool, mysql2 opens another
// for the next waiter from its template). Managed Instances, in process: concurrent invocations in one
// pool.

setUpTestFile({ cleanUp: () => closePools() })

type Db = DbConnectionContext['db']

let peer: SecretsManagerPeer
beforeAll(async () => {
  peer = await startSecretsManagerPeer()
})
afterAll(async () => {
  await peer.close()
})

describe("the opens mysql2 makes for its queue's waiters", () => {
  it('use the secret as it is once maxAgeMs has passed: after an alternating-users rotation, no waiter is refused', async () => {
    const a = await createTestUser('freshqa')
    const b = await createTestUser('freshqb')
    const secretId = `fresh/${a.user}`
    peer.setSecret(secretId, { username: a.user, password: a.password })
    const handler = middy<{ run: (db: Db) => Promise<unknown> }, unknown, Error, DbConnectionContext>({
      timeoutEarlyInMillis: 0,
    })
      .use(
        managedInstances({
          config: { host: a.host, port: a.port, database: new URL(a.dsn()).pathname.slice(1) },
          secret: { secretId, clientConfig: peerConfig(peer), maxAgeMs: 200 },
        }),
      )
      .handler((event, context) => event.run(context.db))
    const invoke = <T>(run: (db: Db) => Promise<T>) => handler({ run }, lambdaContext(20_000)) as Promise<T>
    const currentUser = async (db: Db) => {
      const [rows] = await db.query('SELECT CURRENT_USER() AS u')
      return String((rows as [{ u: string }])[0].u).split('@')[0]
    }

    // The one connection (connectionLimit 1) runs a long statement as user a, while twenty invocations
    // wait in mysql2's queue.
    let holderId = 0
    const holder = invoke(async (db) => {
      const [rows] = await db.query('SELECT CONNECTION_ID() AS id')
      holderId = Number((rows as [{ id: number }])[0].id)
      return db.query('SELECT SLEEP(30)').then(
        () => 'answered',
        (error: { code?: string }) => error.code,
      )
    })
    while (holderId === 0) await sleep(10)
    await untilRunning(holderId, 'SLEEP')
    const waiters = Array.from({ length: 20 }, () =>
      invoke(currentUser).catch((error: Error) => error.message),
    )
    // The rotation: the secret moves to user b, user a's password changes (its old one is refused), and
    // the cached secret grows older than maxAgeMs.
    peer.setSecret(secretId, { username: b.user, password: b.password })
    await setPassword(a.user, `${a.password}-rotated`)
    await sleep(300)
    // The holder's connection dies: mysql2 opens the next one itself, for the first waiter.
    await (await admin()).query('KILL ?', [holderId])
    expect(await holder).toMatch(/ER_CONNECTION_KILLED|PROTOCOL_CONNECTION_LOST/)
    expect(await Promise.all(waiters)).toEqual(Array(20).fill(b.user))
  })

  it("a single-user rotation as Secrets Manager's RDS rotation runs it: once the secret holds the new password, no invocation is refused", async () => {
    const a = await createTestUser('freshsingle')
    const secretId = `fresh/${a.user}`
    peer.setSecret(secretId, { username: a.user, password: a.password })
    const handler = middy<{ run: (db: Db) => Promise<unknown> }, unknown, Error, DbConnectionContext>({
      timeoutEarlyInMillis: 0,
    })
      .use(
        managedInstances({
          config: {
            host: a.host,
            port: a.port,
            database: new URL(a.dsn()).pathname.slice(1),
            connectionLimit: 4,
          },
          secret: { secretId, clientConfig: peerConfig(peer) },
        }),
      )
      .handler((event, context) => event.run(context.db))
    const invoke = () =>
      (
        handler(
          { run: async (db) => (await db.query('SELECT 1 AS one'))[0] },
          lambdaContext(20_000),
        ) as Promise<unknown>
      ).then(
        () => 'ok',
        (error: { code?: string }) => error.code ?? 'error',
      )
    // Warm: four connections opened with the first password.
    expect(await Promise.all(Array.from({ length: 4 }, invoke))).toEqual(Array(4).fill('ok'))
    // createSecret (AWSPENDING), setSecret (the database takes the new password), finishSecret (AWSCURRENT
    // moves): the cached secret is the old one throughout.
    const rotated = `${a.password}-next`
    peer.setSecret(secretId, { username: a.user, password: rotated }, { stages: ['AWSPENDING'] })
    await setPassword(a.user, rotated)
    peer.setSecret(secretId, { username: a.user, password: rotated })
    // Every connection is cut (a failover, the idle limit): twenty invocations then need new ones, four
    // opened by thaw's leases and the rest by mysql2 for the waiters in its queue.
    const [rows] = await (await admin()).query(
      'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?',
      [a.user],
    )
    for (const { id } of rows as { id: number }[]) await (await admin()).query('KILL ?', [id]).catch(() => {})
    expect(await Promise.all(Array.from({ length: 20 }, invoke))).toEqual(Array(20).fill('ok'))
  })
})
