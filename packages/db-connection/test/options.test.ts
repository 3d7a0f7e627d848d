import { describe, expect, it } from '@jest/globals'
import dbConnection, { dbConnectionDefaults, dbConnectionValidateOptions } from '../src/index.ts'
import { messageOf } from './refusal.ts'

const secret = 'Sup3r-s3cret-pw'
const dsn = `mysql://app:${secret}@db.example:3306/orders`

describe('options', () => {
  it.each([
    ['no options', undefined, /options must be an object/],
    ['no config', {}, /option 'config' is required/],
    [
      'a config that is a number',
      { config: 5 },
      /option 'config' must be a DSN string or a mysql2 PoolOptions/,
    ],
    ['a DSN that is not a URL', { config: `//app:${secret}@db` }, /option 'config' must be a DSN/],
    [
      'a DSN of another protocol',
      { config: `postgres://app:${secret}@db/x` },
      /mysql:\/\/ .*protocol 'postgres:'/,
    ],
    ['an unknown option', { config: dsn, conect: 'init' }, /unknown option 'conect'/],
    ['an unknown mysql2 key', { config: { host: 'db', hots: 'x' } }, /unknown option 'config.hots'/],
    [
      'a pool size of 0',
      { config: { host: 'db', connectionLimit: 0 } },
      /'config.connectionLimit' must be a positive/,
    ],
    [
      'a pool size of 0 in the DSN',
      { config: `${dsn}?connectionLimit=0` },
      /'config.connectionLimit' must be a positive/,
    ],
    ['a negative pool size', { config: { host: 'db', connectionLimit: -2 } }, /'config.connectionLimit'/],
    ['a bad port', { config: { host: 'db', port: 70000 } }, /'config.port' must be a TCP port/],
    ['a bad connect', { config: dsn, connect: 'eager' }, /option 'connect' must be 'init' or 'first-use'/],
    ['a bad resetSession', { config: dsn, resetSession: 'sometimes' }, /option 'resetSession'/],
    ['a zero validateTimeoutMs', { config: dsn, validateTimeoutMs: 0 }, /option 'validateTimeoutMs'/],
    [
      'a negative validateAfterIdleMs',
      { config: dsn, validateAfterIdleMs: -1 },
      /option 'validateAfterIdleMs'/,
    ],
    ['an empty contextKey', { config: dsn, contextKey: '' }, /option 'contextKey'/],
    [
      'a contextKey that is a Lambda context member',
      { config: dsn, contextKey: 'getRemainingTimeInMillis' },
      /option 'contextKey' must be a non-empty string that is not a member of the Lambda context/,
    ],
    ['a contextKey of __proto__', { config: dsn, contextKey: '__proto__' }, /option 'contextKey' must be/],
    [
      'a contextKey of constructor',
      { config: dsn, contextKey: 'constructor' },
      /option 'contextKey' must be/,
    ],
    [
      'a validateTimeoutMs above the timer limit',
      { config: dsn, validateTimeoutMs: 2 ** 31 },
      /option 'validateTimeoutMs' must be an integer from 1 to 2147483647/,
    ],
    [
      'a connectRetry.maxWaitMs above the timer limit',
      { config: dsn, connectRetry: { maxWaitMs: 2 ** 31 } },
      /option 'connectRetry.maxWaitMs' must be an integer from 1 to 2147483647/,
    ],
    [
      'a connectTimeout above the timer limit in the DSN',
      { config: `${dsn}?connectTimeout=2147483648` },
      /option 'config.connectTimeout' must be an integer from 1 to 2147483647/,
    ],
    [
      'a connectTimeout above the timer limit in PoolOptions',
      { config: { host: 'db', connectTimeout: 2 ** 31 } },
      /option 'config.connectTimeout' must be an integer from 1 to 2147483647/,
    ],
    [
      'a logger that is not a function',
      { config: dsn, logger: 'console' },
      /option 'logger' must be a function/,
    ],
    ['mysql2 idle timers', { config: { host: 'db', idleTimeout: 1000 } }, /validateAfterIdleMs/],
    ['resetOnRelease', { config: { host: 'db', resetOnRelease: true } }, /resetSession/],
  ])('refuses %s at construction, naming the option, without the password', (_name, options, expected) => {
    const message = messageOf(() => dbConnection(options as never))
    expect(message).toMatch(expected)
    expect(message).toMatch(/^@thaw\/db-connection: /)
    expect(message).not.toContain(secret)
  })

  it('normalises a DSN and an options object alike, with the documented defaults', () => {
    const fromDsn = dbConnectionValidateOptions({ config: dsn })
    const fromObject = dbConnectionValidateOptions({
      config: { host: 'db.example', port: 3306, user: 'app', password: secret, database: 'orders' },
    })
    expect(fromDsn.key).toBe(fromObject.key)
    expect(fromDsn.poolOptions.connectionLimit).toBe(1)
    expect(fromDsn).toMatchObject({ ...dbConnectionDefaults, label: 'app@db.example:3306/orders' })
    // The registry key tells passwords apart without holding one.
    expect(fromDsn.key).not.toContain(secret)
    expect(dbConnectionValidateOptions({ config: `mysql://app:other@db.example:3306/orders` }).key).not.toBe(
      fromDsn.key,
    )
  })

  it("defaults to connect: 'first-use', resetSession: 'auto', contextKey 'db'", () => {
    expect(dbConnectionDefaults).toMatchObject({
      connect: 'first-use',
      resetSession: 'auto',
      contextKey: 'db',
    })
  })
})
