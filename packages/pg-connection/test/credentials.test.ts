import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { peerConfig, type SecretsManagerPeer, startSecretsManagerPeer } from '@thaw/test-support'
import { pgConnectionStats } from '../src/index.ts'
import { inProcessFunction, setUpTestFile } from './helpers.ts'
import { type PrivatePostgres, startPrivatePostgres } from './private-postgres.ts'

// On a private PostgreSQL that asks for passwords and speaks TLS: a password rotated on the server
// (28P01) is fetched anew from Secrets Manager once and the connect retried; an IAM token is the
// password of a new connection, and only ever sent over TLS.

let server: PrivatePostgres
let peer: SecretsManagerPeer
beforeAll(async () => {
  server = await startPrivatePostgres()
  peer = await startSecretsManagerPeer()
}, 90_000)
setUpTestFile()
afterAll(async () => {
  await peer?.close()
  await server?.stop()
})

describe('secret rotation (28P01)', () => {
  it('refetches the secret once after the server refused the password, and connects with the new one', async () => {
    await server.admin.query("CREATE ROLE rotated LOGIN PASSWORD 'first-password'")
    const secret = (password: string) => ({
      username: 'rotated',
      password,
      host: '127.0.0.1',
      port: server.port,
      dbname: 'postgres',
    })
    peer.setSecret('db/rotated', secret('first-password'))
    const run = inProcessFunction({
      secret: { secretId: 'db/rotated', clientConfig: peerConfig(peer) },
      config: { max: 1 },
      // Each invocation opens its own connection here: the password matters only at connect.
      resetSession: 'always',
    })
    const before = pgConnectionStats()
    expect(await run(async (db) => (await db.query('SELECT current_user AS u')).rows)).toEqual([
      { u: 'rotated' },
    ])
    // The rotation: the server takes the new password, the secret holds it, the pool's connection ends.
    await server.admin.query("ALTER ROLE rotated PASSWORD 'second-password'")
    peer.setSecret('db/rotated', secret('second-password'))
    await server.admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'rotated'",
    )
    // As after a freeze: the session is gone from the server before the next invocation comes.
    const deadline = Date.now() + 5_000
    while (
      (await server.admin.query("SELECT 1 FROM pg_stat_activity WHERE usename = 'rotated'")).rows.length > 0
    ) {
      if (Date.now() > deadline) throw new Error('the terminated session was still listed after 5000 ms')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(await run(async (db) => (await db.query('SELECT current_user AS u')).rows)).toEqual([
      { u: 'rotated' },
    ])
    const after = pgConnectionStats()
    expect(after.rotationRetries - before.rotationRetries).toBe(1)
    expect(after.secretFetches - before.secretFetches).toBe(2)
  })
})

describe('IAM tokens over TLS', () => {
  it('signs a token per new connection and sends it only over TLS', async () => {
    await server.admin.query("CREATE ROLE iam_user LOGIN PASSWORD 'token-1'")
    let signed = 0
    const run = inProcessFunction({
      config: {
        host: '127.0.0.1',
        port: server.port,
        user: 'iam_user',
        database: 'postgres',
        ssl: { ca: server.ca, servername: 'localhost' },
      },
      iam: { region: 'eu-west-1', getAuthToken: () => `token-${++signed}` },
    })
    const seen = await run(
      async (db) => (await db.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows,
    )
    expect(seen).toEqual([{ ssl: true }])
    expect(signed).toBe(1)
    expect(pgConnectionStats().tokensSigned).toBeGreaterThanOrEqual(1)
  })
})
