import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { Request } from '@middy/core'
import middy from '@middy/core'
import { peerConfig, type SecretsManagerPeer, startSecretsManagerPeer } from '@thaw/test-support'
import fc from 'fast-check'
import mysql from 'mysql2/promise'
import {
  type CredentialSource,
  type Credentials,
  credentialSource,
  parseRdsSecret,
} from '../src/credentials.ts'
import dbConnection, {
  closePools,
  type DbConnectionContext,
  type DbConnectionOptions,
  dbConnectionStats,
} from '../src/index.ts'
import type { CredentialSettings, SecretOptions } from '../src/options.ts'
import {
  closedPort,
  createTestUser,
  getSecretValueCalls,
  lambdaContext,
  setUpTestFile,
  sleep,
} from './helpers.ts'

// Where credentials come from, in this process (where a mutation run sees every line): the secret's
// JSON as RDS writes it, the secret read through the SDK (its version stage, its failures), values
// another middleware left in request.internal, and an IAM token source that returns nothing.

setUpTestFile({ cleanUp: () => closePools() })

// A credential source as the middleware builds one (from the options' normal form), on a cache entry
// of its own.
let sourceKeys = 0
const sourceOf = (credentials: Record<string, unknown>, poolOptions: Record<string, unknown> = {}) => {
  sourceKeys += 1
  return credentialSource({
    credentials: credentials as CredentialSettings,
    poolOptions,
    key: `credential-sources-${sourceKeys}`,
  }) as CredentialSource
}

describe('parseRdsSecret: the secret in the shape RDS writes, and nothing of it in an error', () => {
  const password = fc.string({ minLength: 8, maxLength: 24 }).map((text) => `pw-${text}`)

  it('takes username and password, and host, port and dbname only when they are usable', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            username: fc.string({ minLength: 1, maxLength: 16 }),
            password,
            host: fc.oneof(fc.constant(''), fc.domain(), fc.integer()),
            port: fc.oneof(
              fc.integer({ min: 1, max: 65_535 }),
              fc.integer({ min: 1, max: 65_535 }).map(String),
              fc.constant('3306abc'),
              fc.constant('not a port'),
              fc.double({ min: 1.5, max: 2.5, noInteger: true }),
              fc.constant(null),
            ),
            dbname: fc.oneof(fc.constant(''), fc.stringMatching(/^[a-z_]{1,12}$/), fc.integer()),
            engine: fc.constant('mysql'),
          },
          { requiredKeys: ['username', 'password'] },
        ),
        (secret) => {
          const expected: Record<string, unknown> = { user: secret.username, password: secret.password }
          if (typeof secret.host === 'string' && secret.host !== '') expected.host = secret.host
          const port = typeof secret.port === 'string' ? Number.parseInt(secret.port, 10) : secret.port
          if (Number.isInteger(port)) expected.port = port
          if (typeof secret.dbname === 'string' && secret.dbname !== '') expected.database = secret.dbname
          expect(parseRdsSecret('prod/db', JSON.stringify(secret))).toEqual(expected)
        },
      ),
    )
  })

  it('refuses what is not the shape, naming the secret and the fields at fault, never a value', () => {
    const refusal = (text: string | undefined) => {
      try {
        parseRdsSecret('prod/db', text)
      } catch (error) {
        expect(error).toMatchObject({ code: 'THAW_DB_CONNECTION_CREDENTIALS' })
        // A refusal of the shape has no cause to carry (the JSON error would quote the text).
        expect(Object.hasOwn(error as object, 'cause')).toBe(false)
        return (error as Error).message
      }
      throw new Error('expected a refusal')
    }
    const prefix = "@thaw/db-connection: the secret 'prod/db'"
    expect(refusal(undefined)).toBe(`${prefix} has no SecretString`)
    expect(refusal('{"username": "u", "password": ')).toBe(
      `${prefix} is not JSON (expected {"username", "password", …})`,
    )
    for (const text of ['null', '[]', '42', '"text"', 'true'])
      expect(refusal(text)).toBe(`${prefix} is not a JSON object (expected {"username", "password", …})`)
    expect(refusal('{}')).toBe(`${prefix} has no string username and password`)
    expect(refusal('{"username": "u"}')).toBe(`${prefix} has no string password`)
    expect(refusal('{"password": "p", "username": 7}')).toBe(`${prefix} has no string username`)
    // Whatever the values, the message is the same: none of them reaches it.
    fc.assert(
      fc.property(password, fc.string(), fc.anything(), (secretPassword, note, username) => {
        fc.pre(typeof username !== 'string')
        const message = refusal(JSON.stringify({ password: secretPassword, username, note }))
        expect(message).toBe(`${prefix} has no string username`)
      }),
    )
  })
})

describe('the secret read through the SDK', () => {
  let peer: SecretsManagerPeer
  beforeAll(async () => {
    peer = await startSecretsManagerPeer()
  })
  afterAll(async () => {
    await peer.close()
  })

  const invokeOnce = async (options: DbConnectionOptions) => {
    const wrapped = middy<unknown, unknown, Error, DbConnectionContext>()
      .use(dbConnection(options))
      .handler(async (_event, context) => {
        const [rows] = await context.db.query('SELECT CURRENT_USER() AS user')
        return (rows as [{ user: string }])[0].user
      })
    return wrapped({}, lambdaContext())
  }

  const hostOnly = (dsn: string) => {
    const url = new URL(dsn)
    return `mysql://${url.host}${url.pathname}`
  }

  it('reads the version stage asked for, and the client module from node_modules when no sdk is given', async () => {
    const { user, password, dsn } = await createTestUser('srcstage')
    const secretId = `sources/${user}`
    // AWSCURRENT holds a password the server refuses; AWSPENDING the right one.
    peer.setSecret(secretId, { username: user, password: `${password}-wrong` })
    peer.setSecret(secretId, { username: user, password }, { stages: ['AWSPENDING'] })
    const fetchesBefore = dbConnectionStats().secretFetches
    expect(
      await invokeOnce({
        config: hostOnly(dsn()),
        secret: { secretId, versionStage: 'AWSPENDING', clientConfig: peerConfig(peer) },
      }),
    ).toBe(`${user}@%`)
    const calls = peer.calls.filter((call) => call.secretId === secretId)
    expect(calls.map((call) => [call.target, call.versionStage])).toEqual([['GetSecretValue', 'AWSPENDING']])
    expect(dbConnectionStats().secretFetches).toBe(fetchesBefore + 1)
  })

  it('a failed read names the secret, the error and the HTTP status, and the next invocation reads again', async () => {
    const { user, password, dsn } = await createTestUser('srcfail')
    const secretId = `sources/${user}`
    peer.setSecret(secretId, { username: user, password })
    peer.failNext('InternalServiceError', { target: 'GetSecretValue', status: 400, message: 'try later' })
    const options: DbConnectionOptions = {
      config: hostOnly(dsn()),
      secret: {
        secretId,
        clientConfig: peerConfig(peer),
        sdk: () => import('@aws-sdk/client-secrets-manager'),
      },
    }
    const failure = await invokeOnce(options).then(
      () => undefined,
      (error: Error & { code?: string }) => error,
    )
    expect(failure).toMatchObject({
      code: 'THAW_DB_CONNECTION_CREDENTIALS',
      message: `@thaw/db-connection: reading the secret '${secretId}' failed: InternalServiceError (HTTP 400)`,
    })
    // The SDK's error is the cause, for a log that wants its request id.
    expect((failure?.cause as Error | undefined)?.name).toBe('InternalServiceError')
    expect(await invokeOnce(options)).toBe(`${user}@%`)
    expect(getSecretValueCalls(peer, secretId)).toBe(2)
  })
})

describe('credentials another middleware left in request.internal', () => {
  const withInternal = (internal: Record<string, unknown>, options: Partial<DbConnectionOptions>) =>
    middy<unknown, unknown, Error, DbConnectionContext>()
      .before((request) => {
        Object.assign(request.internal, internal)
      })
      .use(dbConnection({ ...options } as DbConnectionOptions))
      .handler(async (_event, context) => {
        const [rows] = await context.db.query('SELECT CURRENT_USER() AS user, @@port AS port')
        return (rows as [{ user: string; port: number }])[0]
      })

  it('reads user, password and port from the paths given, the port as a number', async () => {
    const { user, password, dsn, port } = await createTestUser('srcinternal')
    const url = new URL(dsn())
    const handler = withInternal(
      { db: { user, password, port: String(port) } },
      {
        config: `mysql://${url.hostname}:1${url.pathname}`,
        internalData: { user: 'db.user', password: 'db.password', port: 'db.port' },
      },
    )
    // The server's own port, read directly: through a proxy or relay it differs from the URL's, and
    // config's port (1) answers nothing, so connecting at all proves the port came from internalData.
    const direct = await mysql.createConnection(dsn())
    const [[{ serverPort }]] = (await direct.query('SELECT @@port AS serverPort')) as unknown as [
      [{ serverPort: number }],
    ]
    await direct.end()
    expect(await handler({}, lambdaContext())).toEqual({ user: `${user}@%`, port: serverPort })
  })

  it("a password the server refuses fails the invocation with the server's error, without a retry: nothing newer to ask for", async () => {
    const { user, dsn } = await createTestUser('srcrefused')
    const handler = withInternal(
      { db: { user, password: 'not-the-password' } },
      { config: dsn(), internalData: { user: 'db.user', password: 'db.password' } },
    )
    const before = dbConnectionStats()
    const failure = await handler({}, lambdaContext()).then(
      () => undefined,
      (error: Error & { errno?: number }) => error,
    )
    expect(failure).toMatchObject({ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' })
    expect(dbConnectionStats().rotationRetries - before.rotationRetries).toBe(0)
  })

  it('a path with nothing at it fails the invocation naming the option and the path, not a value', async () => {
    const { password, dsn } = await createTestUser('srcmissing')
    const handler = withInternal(
      { db: { password } },
      { config: dsn(), internalData: { user: 'db.user', password: 'db.password' } },
    )
    const failure = await handler({}, lambdaContext()).then(
      () => undefined,
      (error: Error & { code?: string }) => error,
    )
    expect(failure).toMatchObject({
      code: 'THAW_DB_CONNECTION_CREDENTIALS',
      message: "@thaw/db-connection: option 'internalData.user': request.internal has nothing at 'db.user'",
    })
    expect(failure?.message).not.toContain(password)
  })
})

describe('an IAM token source', () => {
  it('that returns no token fails the invocation before any connect, naming the option', async () => {
    let asked = 0
    const wrapped = middy<unknown, unknown, Error, DbConnectionContext>()
      .use(
        dbConnection({
          config: { host: '127.0.0.1', port: 1, user: 'iam_user', database: 'd', ssl: {} },
          iam: {
            getAuthToken: async () => {
              asked++
              return ''
            },
          },
        }),
      )
      .handler(async (_event, context) => context.db.query('SELECT 1'))
    const failure = await wrapped({}, lambdaContext()).then(
      () => undefined,
      (error: Error & { code?: string }) => error,
    )
    expect(asked).toBe(1)
    expect(failure).toMatchObject({
      code: 'THAW_DB_CONNECTION_CREDENTIALS',
      message: "@thaw/db-connection: option 'iam': the token source returned no token",
    })
  })
})

describe('the secret source shared by concurrent invocations (Managed Instances)', () => {
  let peer: SecretsManagerPeer
  beforeAll(async () => {
    peer = await startSecretsManagerPeer()
  })
  afterAll(async () => {
    await peer.close()
  })

  // A source over a secret of its own on the peer.
  const secretSourceFor = (label: string, options: Partial<SecretOptions> = {}) => {
    const secretId = `sources/race-${label}`
    peer.setSecret(secretId, { username: 'u', password: 'p-1' })
    const source = sourceOf({ secret: { secretId, clientConfig: peerConfig(peer), ...options } })
    return { source, secretId, calls: () => getSecretValueCalls(peer, secretId) }
  }

  it('a refusal seen by several invocations fetches the secret once: the later ones join the first', async () => {
    const { source, calls } = secretSourceFor('refusal')
    const refused = source.get(undefined)
    await refused
    const first = source.refresh(refused, undefined)
    const second = source.refresh(refused, undefined)
    expect(second).toBe(first)
    await Promise.all([first, second])
    expect(calls()).toBe(2)
    // And the version they joined is what the next connection gets.
    expect(source.get(undefined)).toBe(first)
    expect(calls()).toBe(2)
  })

  it('a fetch that fails after a newer one was cached leaves the newer one in the cache', async () => {
    const { source, secretId, calls } = secretSourceFor('late-failure')
    // The first GetSecretValue fails, answering 300 ms after it arrived.
    peer.failNext('InternalServiceError', { target: 'GetSecretValue', status: 400, delayMs: 300 })
    const failing = source.get(undefined)
    const failed = failing.then(
      () => undefined,
      (error: Error) => error,
    )
    const deadline = Date.now() + 10_000
    while (peer.pendingFailures > 0) {
      if (Date.now() > deadline) throw new Error('the peer never took the failure')
      await sleep(5)
    }
    // While it is known to fail, another invocation saw its connect refused and asks for newer
    // credentials: a second fetch, which succeeds and is cached.
    const newer = source.refresh(failing, undefined) as Promise<Credentials>
    expect(await newer).toMatchObject({ user: 'u', password: 'p-1' })
    expect(await failed).toMatchObject({ code: 'THAW_DB_CONNECTION_CREDENTIALS' })
    // The old fetch's failure must not throw away what the newer one holds.
    expect(source.get(undefined)).toBe(newer)
    expect(calls()).toBe(2)
    expect(peer.calls.filter((call) => call.secretId === secretId).map((call) => call.status)).toEqual([
      200, 400,
    ])
  })

  it('maxAgeMs counts from the fetch, not from the last invocation that used the secret', async () => {
    const { source, calls } = secretSourceFor('age', { maxAgeMs: 3_000 })
    const fetched = source.get(undefined)
    await fetched
    await sleep(2_000)
    // Younger than maxAgeMs: the cached fetch (unless this machine slept past it, then a new one).
    await source.get(undefined)
    await sleep(2_000)
    // Older than maxAgeMs counted from the first fetch: a fetch anew, whatever used it in between.
    const later = source.get(undefined)
    await later
    expect(later).not.toBe(fetched)
    expect(calls()).toBe(2)
  })

  it('a read that got no HTTP answer names the error and no status', async () => {
    const port = await closedPort()
    const source = sourceOf({
      secret: {
        secretId: 'sources/unreachable',
        clientConfig: { ...peerConfig(peer), endpoint: `http://127.0.0.1:${port}` },
      },
    })
    const failure = await source.get(undefined).then(
      () => undefined,
      (error: Error) => error,
    )
    expect(failure).toMatchObject({ code: 'THAW_DB_CONNECTION_CREDENTIALS' })
    expect(failure?.message).toMatch(
      /^@thaw\/db-connection: reading the secret 'sources\/unreachable' failed: [A-Za-z]+$/,
    )
    expect(failure?.cause).toBeInstanceOf(Error)
  })
})

describe('the request.internal source, read directly', () => {
  const internalSourceFor = (internalData: Record<string, string>) => sourceOf({ internalData })
  const requestWith = (internal: Record<string, unknown>) => ({ internal }) as unknown as Request

  it('gives the port as a number and every other value as text', async () => {
    const source = internalSourceFor({ user: 'db.user', password: 'db.password', port: 'db.port' })
    expect(await source.get(requestWith({ db: { user: 'u', password: 1234, port: '3307' } }))).toEqual({
      user: 'u',
      password: '1234',
      port: 3307,
    })
  })

  it('refuses a null as it refuses nothing, and needs an invocation', async () => {
    const source = internalSourceFor({ user: 'db.user', password: 'db.password' })
    await expect(source.get(requestWith({ db: { user: null, password: 'p' } }))).rejects.toMatchObject({
      code: 'THAW_DB_CONNECTION_CREDENTIALS',
      message: "@thaw/db-connection: option 'internalData.user': request.internal has nothing at 'db.user'",
    })
    await expect(source.get(undefined)).rejects.toMatchObject({
      code: 'THAW_DB_CONNECTION_CREDENTIALS',
      message:
        "@thaw/db-connection: option 'internalData' needs an invocation: credentials come from request.internal",
    })
  })
})

describe('an IAM token source returning something that is not a token', () => {
  it('fails as one that returns nothing, naming the option', async () => {
    for (const token of [12_345, null, undefined, { token: 'x' }]) {
      const source = sourceOf(
        { iam: { getAuthToken: async () => token } },
        { host: '127.0.0.1', user: 'iam_user' },
      )
      await expect(source.get(undefined)).rejects.toMatchObject({
        code: 'THAW_DB_CONNECTION_CREDENTIALS',
        message: "@thaw/db-connection: option 'iam': the token source returned no token",
      })
    }
  })
})
