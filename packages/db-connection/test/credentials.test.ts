import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type SecretsManagerPeer, startSecretsManagerPeer } from '@thaw/test-support'
import {
  call,
  closeAdmin,
  connectionIds,
  createTestUser,
  databaseName,
  databaseUrl,
  dropTestUsers,
  killConnections,
  getSecretValueCalls as secretValueCalls,
  setPassword,
  startHandler,
  startProxy,
  startSecretHandler,
  stopStarted,
} from './helpers.ts'
import { startTlsMariadb, type TlsMariadb } from './tls-server.ts'

// The host and port of the server the tests run against (DATABASE_URL), as a rotated secret names them.
const serverOfTheTests = () => {
  const url = new URL(databaseUrl())
  return { host: url.hostname, port: Number(url.port || 3306) }
}

// Credentials from a Secrets Manager secret (the local peer, over HTTP with the real SDK client),
// from request.internal, and from an IAM token source, against the real MariaDB through lambda-sim.

interface Stats {
  connectionsOpened: number
  reusedInvocations: number
  secretFetches: number
  rotationRetries: number
  tokensSigned: number
  errors: number
}
interface QueryResult {
  rows: [{ id: number; user: string }]
  stats: Stats
  signed: { hostname: string; port: number; username: string }[]
}
interface CaughtResult {
  error: { code: string; errno: number; sqlState: string; message: string } | null
  stats: Stats
  elapsedMs: number
}
const whoAmI = { action: 'query' }

let peer: SecretsManagerPeer
beforeAll(async () => {
  peer = await startSecretsManagerPeer()
})
afterAll(async () => {
  await stopStarted()
  await dropTestUsers()
  await closeAdmin()
  await peer.close()
})

const getSecretValueCalls = (secretId: string) => secretValueCalls(peer, secretId)

// A dbc5_ user, its secret in the RDS JSON shape, and an environment reading it.
const withSecret = (label: string, environmentOptions: Record<string, unknown> = {}, extra = {}) =>
  startSecretHandler(peer, label, { dbOptions: extra, environmentOptions })

describe('secret', () => {
  it('reads user, password, host, port and dbname from the secret in the handler, once per environment', async () => {
    const { user, secretId, environment } = await withSecret('first')
    // Nothing at init: a request started there could be frozen in flight.
    expect(getSecretValueCalls(secretId)).toBe(0)
    const first = await call<QueryResult>(environment, whoAmI)
    expect(first.rows[0].user).toBe(`${user}@%`)
    expect(getSecretValueCalls(secretId)).toBe(1)
    // Cached for the life of the environment, across freezes, even when a new connection is needed.
    await call<QueryResult>(environment, whoAmI)
    expect(await killConnections(user)).toBe(1)
    const third = await call<QueryResult>(environment, whoAmI)
    expect(third.rows[0].id).not.toBe(first.rows[0].id)
    expect(getSecretValueCalls(secretId)).toBe(1)
    expect(third.stats).toMatchObject({ secretFetches: 1, rotationRetries: 0, connectionsOpened: 2 })
  })

  it('a rotation while frozen costs exactly one extra GetSecretValue; the open connection keeps working', async () => {
    const { user, password, secretId, environment } = await withSecret('rotate')
    const first = await call<QueryResult>(environment, whoAmI)
    expect(getSecretValueCalls(secretId)).toBe(1)
    // Rotated on the server and in the secret while the environment is frozen.
    const rotated = `${password}-rotated`
    await setPassword(user, rotated)
    peer.setSecret(secretId, {
      username: user,
      password: rotated,
      ...serverOfTheTests(),
      dbname: databaseName(),
    })
    // The open connection was authenticated already: it keeps working, nothing is fetched.
    const second = await call<QueryResult>(environment, whoAmI)
    expect(second.rows[0].id).toBe(first.rows[0].id)
    expect(getSecretValueCalls(secretId)).toBe(1)
    // A new connection is refused with the cached (old) password, then made with the fetched one.
    await killConnections(user)
    const third = await call<QueryResult>(environment, whoAmI)
    expect(third.rows[0].user).toBe(`${user}@%`)
    expect(getSecretValueCalls(secretId)).toBe(2)
    expect(third.stats).toMatchObject({ secretFetches: 2, rotationRetries: 1 })
    // And the new value is the cached one from now on.
    await killConnections(user)
    await call<QueryResult>(environment, whoAmI)
    expect(getSecretValueCalls(secretId)).toBe(2)
  })

  it('a wrong password in both places fails fast with 1045 intact, one refetch, no password anywhere', async () => {
    const { user, secretId, environment } = await withSecret('wrong')
    const wrong = 'Wr0ng-pa55word-dbc5'
    await setPassword(user, 'dbc5-the-real-one')
    peer.setSecret(secretId, {
      username: user,
      password: wrong,
      ...serverOfTheTests(),
      dbname: databaseName(),
    })
    const outcome = await environment.invoke({ action: 'catch' })
    expect(outcome.ok).toBe(true)
    const result = (outcome.ok ? outcome.result : {}) as CaughtResult
    expect(result.error).toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, sqlState: '28000' })
    expect(result.error?.message).toMatch(/Access denied for user/)
    expect(result.elapsedMs).toBeLessThan(1_000)
    // The first fetch and exactly one refetch: no retry storm.
    expect(getSecretValueCalls(secretId)).toBe(2)
    expect(result.stats).toMatchObject({ secretFetches: 2, rotationRetries: 1, connectionsOpened: 0 })
    for (const text of [JSON.stringify(result), outcome.logs]) {
      expect(text).not.toContain(wrong)
      expect(text).not.toContain('dbc5-the-real-one')
    }
    expect(await connectionIds(user)).toEqual([])
  })

  it('a failed GetSecretValue names the secret and the error, and is not cached', async () => {
    const { user, secretId, environment } = await withSecret('fetchfail')
    peer.failNext('ResourceNotFoundException', { target: 'GetSecretValue' })
    const failed = await environment.invoke({ action: 'catch' })
    const result = (failed.ok ? failed.result : {}) as CaughtResult
    expect(result.error?.message).toBe(
      `@thaw/db-connection: reading the secret '${secretId}' failed: ResourceNotFoundException (HTTP 400)`,
    )
    // The next invocation fetches again and connects.
    const next = await call<QueryResult>(environment, whoAmI)
    expect(next.rows[0].user).toBe(`${user}@%`)
    expect(getSecretValueCalls(secretId)).toBe(2)
  })

  it('concurrent first invocations share one GetSecretValue (Managed Instances)', async () => {
    peer.latencyMs = 150
    try {
      const { secretId, environment } = await withSecret(
        'concurrent',
        { workers: 1, concurrency: 8 },
        { config: { connectionLimit: 4 } },
      )
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => environment.invoke(whoAmI)))
      expect(outcomes.map((outcome) => outcome.ok)).toEqual(Array(8).fill(true))
      expect(getSecretValueCalls(secretId)).toBe(1)
    } finally {
      peer.latencyMs = 0
    }
  })
})

describe('request.internal', () => {
  it('takes user and password from what a Middy middleware left in request.internal (getInternal paths)', async () => {
    const { user, password, dsn } = await createTestUser('internal', { prefix: 'dbc5' })
    const secretId = `dbc5/${user}`
    peer.setSecret(secretId, { username: user, password })
    // The DSN names the host and database but no user or password.
    const withoutUser = dsn().replace(`${user}:${password}@`, '')
    const environment = await startHandler(
      {
        databaseUrl: withoutUser,
        dbOptions: { internalData: { user: 'dbSecret.username', password: 'dbSecret.password' } },
      },
      { env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: peer.endpoint, DBC_INTERNAL_SECRET: secretId } },
      'credentials',
    )
    const result = await call<QueryResult>(environment, whoAmI)
    expect(result.rows[0].user).toBe(`${user}@%`)
    expect(result.stats.secretFetches).toBe(0)
  })
})

describe('iam', () => {
  // IAM sends the token in clear text, so thaw requires TLS: these tests run against a private
  // MariaDB with TLS on, verifying its certificate against its CA (no rejectUnauthorized: false).
  let tls: TlsMariadb
  const database = 'dbc5_iam'
  beforeAll(async () => {
    tls = await startTlsMariadb()
    const db = await tls.admin()
    await db.query(`CREATE DATABASE ${database}`)
  }, 60_000)
  afterAll(async () => {
    await stopStarted()
    await tls?.stop()
  })

  // A user whose password is the token the fake token source hands out (mysql_native_password: the
  // token reaches the server as the password; see the README for what this does not prove), and who
  // the server itself refuses without TLS.
  const createTlsUser = async (label: string, password: string) => {
    const db = await tls.admin()
    const user = `dbc5_${label}`
    await db.query('CREATE USER ?@? IDENTIFIED BY ? REQUIRE SSL', [user, '%', password])
    await db.query(`GRANT ALL ON ${database}.* TO ?@?`, [user, '%'])
    return user
  }
  const startTlsHandler = (user: string, ca: string, tokens: string[]) =>
    startHandler(
      {
        // No DATABASE_URL: the whole config comes through the options, CA included.
        databaseUrl: '',
        dbOptions: {
          config: { host: tls.host, port: tls.port, user, database, ssl: { ca } },
          iam: { region: 'eu-west-1' },
        },
      },
      { env: { DBC_IAM_TOKENS: JSON.stringify(tokens) } },
      'credentials',
    )

  it('over verified TLS: a token for each new connection only; an open connection outlives its token', async () => {
    const user = await createTlsUser('iam', 'token-1')
    const environment = await startTlsHandler(user, tls.ca, ['token-1', 'token-2'])
    const first = await call<QueryResult>(environment, whoAmI)
    expect(first.rows[0].user).toBe(`${user}@%`)
    expect(first.signed).toEqual([{ hostname: tls.host, port: tls.port, username: user }])
    // The session itself is encrypted, seen from inside the handler.
    const status = await call<{ rows: { Variable_name: string; Value: string }[]; signed: unknown[] }>(
      environment,
      { action: 'query', sql: "SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_cipher', 'Ssl_version')" },
    )
    const session = Object.fromEntries(status.rows.map((row) => [row.Variable_name, row.Value]))
    expect(session.Ssl_cipher).toMatch(/\S/)
    expect(session.Ssl_version).toMatch(/^TLSv1\.[23]$/)
    // Warm: no token.
    expect(status.signed).toHaveLength(1)
    const second = await call<QueryResult>(environment, whoAmI)
    expect(second.rows[0].id).toBe(first.rows[0].id)
    expect(second.signed).toHaveLength(1)
    // The first token "expires": the server now accepts only the next one. The open connection,
    // authenticated at connect, keeps working.
    await setPassword(user, 'token-2', await tls.admin())
    const third = await call<QueryResult>(environment, whoAmI)
    expect(third.rows[0].id).toBe(first.rows[0].id)
    expect(third.signed).toHaveLength(1)
    // A new connection gets a new token.
    await killConnections(user, await tls.admin())
    const fourth = await call<QueryResult>(environment, whoAmI)
    expect(fourth.rows[0].id).not.toBe(first.rows[0].id)
    expect(fourth.signed).toHaveLength(2)
    expect(fourth.stats).toMatchObject({ tokensSigned: 2, connectionsOpened: 2 })
    const { logged } = await call<{ logged: string[] }>(environment, { action: 'stats' })
    expect(logged.length).toBeGreaterThan(0)
    expect(logged.join('\n')).not.toContain('token-')
  })

  it('a certificate the CA did not sign is refused before the token is sent', async () => {
    const user = await createTlsUser('iamca', 'token-ca')
    const environment = await startTlsHandler(user, tls.strangerCa, ['token-ca'])
    const outcome = await environment.invoke({ action: 'catch' })
    const result = (outcome.ok ? outcome.result : {}) as CaughtResult & { signed: unknown[] }
    // mysql2 wraps Node's verification failure; the TLS handshake comes before authentication.
    expect(result.error?.code).toBe('HANDSHAKE_SSL_ERROR')
    expect(result.error?.message).toMatch(/self[- ]signed certificate/)
    expect(outcome.logs).not.toContain('token-ca')
    expect(await connectionIds(user, await tls.admin())).toEqual([])
  })

  it('with TLS required, a server without TLS never receives the token', async () => {
    const { user, host, port } = await createTestUser('iamtls', { prefix: 'dbc5', password: 'token-tls' })
    const proxy = await startProxy({ host, port })
    const ssl = encodeURIComponent(JSON.stringify({ rejectUnauthorized: false }))
    const environment = await startHandler(
      {
        databaseUrl: `mysql://${user}@127.0.0.1:${proxy.port}/${databaseName()}?ssl=${ssl}`,
        dbOptions: { iam: { region: 'eu-west-1' } },
      },
      { env: { DBC_IAM_TOKENS: JSON.stringify(['token-tls']) } },
      'credentials',
    )
    const outcome = await environment.invoke({ action: 'catch' })
    const result = (outcome.ok ? outcome.result : {}) as CaughtResult
    // mysql2 stops at the server's greeting, which offers no TLS: nothing is sent in clear.
    expect(result.error?.code).toBe('HANDSHAKE_NO_SSL_SUPPORT')
    expect(Buffer.concat(proxy.clientData.flat()).includes('token-tls')).toBe(false)
    expect(await connectionIds(user)).toEqual([])
  })
})
