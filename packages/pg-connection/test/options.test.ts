import { describe, expect, it } from '@jest/globals'
import { dbConnectionDefaults } from '../../db-connection/src/index.ts'
import { type PgConnectionOptions, pgConnectionDefaults, pgConnectionValidateOptions } from '../src/index.ts'

// Bad options: a TypeError at construction naming the option path and what was expected, never a
// password; the options shared with db-connection mean and default the same.

const refusal = (options: unknown) => {
  try {
    pgConnectionValidateOptions(options as PgConnectionOptions)
  } catch (error) {
    return {
      type: (error as Error).constructor.name,
      message: (error as Error).message,
      cause: (error as Error).cause,
    }
  }
  throw new Error('accepted')
}

describe('pgConnectionValidateOptions', () => {
  it('takes a connection string and puts its parts in the settings, password out of the label', () => {
    const settings = pgConnectionValidateOptions({
      config: 'postgres://app:s3cret@db.example:6543/orders?sslmode=disable',
    })
    expect(settings.clientConfig).toMatchObject({
      user: 'app',
      password: 's3cret',
      host: 'db.example',
      port: 6543,
      database: 'orders',
    })
    expect(settings.max).toBe(1)
    expect(settings.label).toBe('app@db.example:6543/orders')
    expect(settings.key).not.toContain('s3cret')
  })

  it.each([
    [{ config: 'mysql://a:s3cret@h/d' }, 'config', /must be a postgres:\/\/ .* got the protocol 'mysql:'/],
    [{ config: 'not a url s3cret' }, 'config', /not a URL/],
    [
      { config: { host: 'h', max: 0 } },
      'config.max',
      /'config.max' must be a positive integer, got number 0/,
    ],
    [{ config: { host: 'h', idleTimeoutMillis: 1000 } }, 'config.idleTimeoutMillis', /validateAfterIdleMs/],
    [{ config: { host: 'h', hots: 'x' } }, 'config.hots', /unknown option 'config.hots'/],
    [{ config: { host: 'h' }, proxy: 'session' }, 'proxy', /'proxy' must be 'none' or 'transaction'/],
    [{ config: { host: 'h' }, contextKey: 'awsRequestId' }, 'contextKey', /'contextKey' must be/],
    [
      { config: { host: 'h' }, connectRetry: { maxWaitMs: 0 } },
      'connectRetry.maxWaitMs',
      /connectRetry.maxWaitMs/,
    ],
    [
      { config: { host: 'h', user: 'u', password: 's3cret' }, iam: { region: 'eu-west-1' } },
      'config.password',
      /the token is the password/,
    ],
    [{ config: { host: 'h', user: 'u' }, iam: { region: 'eu-west-1' } }, 'config.ssl', /TLS must be on/],
    [
      { config: { host: 'h' }, secret: { secretId: 's' }, connect: 'init' },
      'connect',
      /'first-use' with 'secret'/,
    ],
    [{ internalData: {} }, 'internalData.password', /'internalData.password' is required/],
  ])('refuses %j naming %s', (options, path, message) => {
    const outcome = refusal(options)
    expect(outcome.type).toBe('TypeError')
    expect(outcome.message).toMatch(/^@thaw\/pg-connection: /)
    expect(outcome.message).toMatch(message)
    expect(outcome.message).not.toContain('s3cret')
    expect(outcome.cause).toEqual({ package: '@thaw/pg-connection', option: path })
  })

  it('defaults the options it shares with db-connection as db-connection does', () => {
    for (const name of [
      'contextKey',
      'connect',
      'validateAfterIdleMs',
      'validateTimeoutMs',
      'statementMarginMs',
      'resetSession',
      'closeOnShutdown',
      'connectRetry',
    ] as const) {
      expect([name, pgConnectionDefaults[name]]).toEqual([name, dbConnectionDefaults[name]])
    }
  })
})
