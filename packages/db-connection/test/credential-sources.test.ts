import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import { peerConfig, type SecretsManagerPeer, startSecretsManagerPeer } from '@thaw/test-support'
import fc from 'fast-check'
import { parseRdsSecret } from '../src/credentials.ts'
import dbConnection, {
  closePools,
  type DbConnectionContext,
  type DbConnectionOptions,
  dbConnectionStats,
} from '../src/index.ts'
import { createTestUser, getSecretValueCalls, lambdaContext, setUpTestFile } from './helpers.ts'

// Where credentials come from, in this process (where a mutation run sees every line): the secret's
// JSON as RDS writes it, the secret read through the SDK (its version stage, its failures), values
// another middleware left in request.internal, and an IAM token source that returns nothing.

setUpTestFile({ cleanUp: () => closePools() })

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
        expect(error).toMatchObject({ code: 'THAW_CREDENTIALS' })
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
      code: 'THAW_CREDENTIALS',
      message: `@thaw/db-connection: reading the secret '${secretId}' failed: InternalServiceError (HTTP 400)`,
    })
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
    expect(await handler({}, lambdaContext())).toEqual({ user: `${user}@%`, port })
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
      code: 'THAW_CREDENTIALS',
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
      code: 'THAW_CREDENTIALS',
      message: "@thaw/db-connection: option 'iam': the token source returned no token",
    })
  })
})
