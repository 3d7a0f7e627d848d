import { describe, expect, it } from '@jest/globals'
import { credentialSource, parseRdsSecret } from '../src/credentials.ts'
import dbConnection, { dbConnectionDefaults, dbConnectionValidateOptions } from '../src/index.ts'
import { messageOf } from './refusal.ts'

const password = 'Sup3r-s3cret-pw'

describe('credential options', () => {
  it.each([
    ['a secret without secretId', { secret: {} }, /option 'secret.secretId' must be a non-empty string/],
    [
      'a secret with an unknown key',
      { secret: { secretId: 's', region: 'x' } },
      /unknown option 'secret.region'/,
    ],
    ['a secret that is a string', { secret: 'arn:x' }, /option 'secret' must be an object \{ secretId/],
    [
      'a secret and iam',
      { config: { host: 'db', user: 'u', ssl: {} }, secret: { secretId: 's' }, iam: {} },
      /options 'secret' and 'iam' exclude each other/,
    ],
    [
      'a secret with connect: init',
      { secret: { secretId: 's' }, connect: 'init' },
      /option 'connect' must be 'first-use' with 'secret'/,
    ],
    [
      'internalData without password',
      { internalData: { user: 'db.username' } },
      /option 'internalData.password' is required/,
    ],
    [
      'internalData with an unknown key',
      { internalData: { password: 'p', pass: 'x' } },
      /unknown option 'internalData.pass'/,
    ],
    [
      'iam without TLS',
      { config: { host: 'db', user: 'iam_user' }, iam: { region: 'eu-west-1' } },
      /option 'config.ssl' is required with 'iam'/,
    ],
    [
      // The symbol an earlier version honoured to let tests skip TLS: no way around TLS remains.
      'iam without TLS, with the former test-only symbol',
      {
        config: { host: 'db', user: 'iam_user' },
        iam: { region: 'eu-west-1', [Symbol.for('@thaw/db-connection.insecureIamForTests')]: true },
      },
      /option 'config.ssl' is required with 'iam'/,
    ],
    [
      'iam without a user',
      { config: { host: 'db', ssl: {} }, iam: { region: 'eu-west-1' } },
      /option 'iam.username' \(or 'config.user'\) is required/,
    ],
    [
      'iam with a bad port',
      { config: { host: 'db', user: 'u', ssl: {} }, iam: { port: 0 } },
      /option 'iam.port' must be a TCP port/,
    ],
    [
      'iam with a getAuthToken that is not a function',
      { config: { host: 'db', user: 'u', ssl: {} }, iam: { getAuthToken: 'token' } },
      /option 'iam.getAuthToken' must be a function/,
    ],
    [
      'a connectRetry delay of 0',
      { config: 'mysql://db', connectRetry: { baseDelayMs: 0 } },
      /option 'connectRetry.baseDelayMs' must be an integer from 1 to 2147483647/,
    ],
    [
      'an unknown connectRetry key',
      { config: 'mysql://db', connectRetry: { retries: 3 } },
      /unknown option 'connectRetry.retries'/,
    ],
    ['neither config nor secret', { contextKey: 'db' }, /option 'config' is required/],
  ])('refuses %s, naming the option', (_name, options, expected) => {
    expect(messageOf(() => dbConnection(options as never))).toMatch(expected)
  })

  it('refuses a password with iam, without showing it', () => {
    const message = messageOf(() =>
      dbConnectionValidateOptions({
        config: { host: 'db', user: 'u', password, ssl: {} },
        iam: { region: 'eu-west-1' },
      }),
    )
    expect(message).toMatch(/option 'config.password' must not be set with 'iam'/)
    expect(message).not.toContain(password)
  })

  it('with iam: the cleartext plugin on, TLS as configured, the token source kept', () => {
    const ssl = { ca: 'CA PEM', rejectUnauthorized: true }
    const getAuthToken = () => 'token'
    const settings = dbConnectionValidateOptions({
      config: { host: 'db.example', user: 'iam_user', ssl },
      iam: { getAuthToken },
    })
    expect(settings.poolOptions).toMatchObject({ enableCleartextPlugin: true, ssl })
    expect(settings.credentials.iam?.getAuthToken).toBe(getAuthToken)
  })

  it('adds program_name and the function name to the connect attributes, the config winning', () => {
    const previous = process.env.AWS_LAMBDA_FUNCTION_NAME
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'orders-api'
    try {
      const settings = dbConnectionValidateOptions({
        config: { host: 'db', connectAttributes: { team: 'payments', program_name: 'orders' } },
      })
      expect(settings.poolOptions.connectAttributes).toEqual({
        program_name: 'orders',
        _thaw_package: '@thaw/db-connection',
        function_name: 'orders-api',
        team: 'payments',
      })
    } finally {
      if (previous === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME
      else process.env.AWS_LAMBDA_FUNCTION_NAME = previous
    }
  })

  it('has connectRetry defaults', () => {
    expect(dbConnectionDefaults.connectRetry).toEqual({
      baseDelayMs: 50,
      maxDelayMs: 1_000,
      deadlineMarginMs: 500,
      maxWaitMs: 10_000,
    })
  })

  it('keeps two secrets apart in the registry, and a secret apart from the plain config', () => {
    const plain = dbConnectionValidateOptions({ config: { host: 'db' } })
    const one = dbConnectionValidateOptions({ config: { host: 'db' }, secret: { secretId: 'one' } })
    const two = dbConnectionValidateOptions({ config: { host: 'db' }, secret: { secretId: 'two' } })
    expect(new Set([plain.key, one.key, two.key]).size).toBe(3)
    expect(one.label).toBe('@db:3306/ (secret one)')
  })
})

describe('the RDS secret shape', () => {
  it('maps username, password, host, port (number or string) and dbname', () => {
    expect(
      parseRdsSecret(
        's',
        JSON.stringify({ engine: 'mysql', username: 'u', password, host: 'h', port: '3307', dbname: 'd' }),
      ),
    ).toEqual({ user: 'u', password, host: 'h', port: 3307, database: 'd' })
    expect(parseRdsSecret('s', JSON.stringify({ username: 'u', password }))).toEqual({ user: 'u', password })
  })

  it.each([
    ['not JSON', `password=${password}`, /the secret 's' is not JSON/],
    ['an array', JSON.stringify([password]), /is not a JSON object/],
    ['without username', JSON.stringify({ password }), /has no string username$/],
    ['with a numeric password', JSON.stringify({ username: 'u', password: 1234 }), /has no string password$/],
  ])('refuses a secret that is %s, without showing its value', (_name, text, expected) => {
    const message = messageOf(() => parseRdsSecret('s', text), Error)
    expect(message).toMatch(expected)
    expect(message).not.toContain(password)
    expect(message).not.toContain('1234')
  })
})

describe('the real RDS signer (@aws-sdk/rds-signer), signing locally', () => {
  it('makes one token per new connection, presigned for the configured host, port and user', async () => {
    const settings = dbConnectionValidateOptions({
      config: { host: 'db.cluster-x.eu-west-1.rds.amazonaws.com', port: 3306, user: 'iam_user', ssl: {} },
      iam: {
        region: 'eu-west-1',
        credentials: { accessKeyId: 'AKIDTHAWTEST', secretAccessKey: 'not-a-secret' },
      },
    })
    const source = credentialSource(settings)
    expect(source?.kind).toBe('iam')
    const first = await source?.get(undefined)
    const second = await source?.get(undefined)
    expect(first?.user).toBe('iam_user')
    const token = String(first?.password)
    expect(token.startsWith('db.cluster-x.eu-west-1.rds.amazonaws.com:3306/?')).toBe(true)
    const query = new URLSearchParams(token.slice(token.indexOf('?') + 1))
    expect(query.get('Action')).toBe('connect')
    expect(query.get('DBUser')).toBe('iam_user')
    expect(query.get('X-Amz-Credential')).toMatch(/^AKIDTHAWTEST\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/)
    expect(query.get('X-Amz-Expires')).toBe('900')
    expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/)
    expect(second?.password).toEqual(expect.any(String))
    // A refused token is not "refreshed": every new connection gets a fresh one anyway.
    expect(source?.refresh(Promise.resolve(first ?? {}), undefined)).toBeUndefined()
  })
})
