import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
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
    [
      'a misspelt mysql2 option, naming the nearest',
      { config: { host: 'db', conectTimeout: 1000 } },
      /unknown option 'config.conectTimeout' \(not a mysql2 PoolOptions key\): did you mean 'connectTimeout'\?/,
    ],
    [
      'a misspelt mysql2 option in the DSN',
      { config: `${dsn}?multipleStatments=true` },
      /unknown option 'config.multipleStatments' .*did you mean 'multipleStatements'\?/,
    ],
    [
      'a user that is a number',
      { config: { host: 'db', user: 42 } },
      /option 'config.user' must be a string, got number 42/,
    ],
    [
      'a password that is an object',
      { config: { host: 'db', password: { value: secret } } },
      /^@thaw\/db-connection: option 'config.password' must be a string, got an object$/,
    ],
    [
      'a password that is a number',
      { config: { host: 'db', password: 314159 } },
      /^@thaw\/db-connection: option 'config.password' must be a string, got a number$/,
    ],
    [
      'a database that is not a string',
      { config: { host: 'db', database: ['orders'] } },
      /option 'config.database' must be a string, got an array/,
    ],
    [
      'a negative queueLimit',
      { config: { host: 'db', queueLimit: -5 } },
      /option 'config.queueLimit' must be an integer of at least 0 \(0: no limit\), got number -5/,
    ],
    [
      'a fractional queueLimit',
      { config: { host: 'db', queueLimit: 1.5 } },
      /option 'config.queueLimit' must be an integer of at least 0/,
    ],
    [
      'ssl: true',
      { config: { host: 'db', ssl: true } },
      /option 'config.ssl' must be 'Amazon RDS' \(a mysql2 TLS profile\), a TLS options object such as \{ ca \}, or false, got boolean true/,
    ],
    [
      'an unknown ssl profile',
      { config: { host: 'db', ssl: 'Amazon RDS 2' } },
      /option 'config.ssl' must be/,
    ],
    [
      'a charset mysql2 does not know',
      { config: { host: 'db', charset: 'utf9' } },
      /option 'config.charset' must be a character set or collation mysql2 knows.*got the string "utf9"/,
    ],
    [
      'a charset that is not a string',
      { config: `${dsn}?charset=45` },
      /option 'config.charset' must be a character set or collation mysql2 knows/,
    ],
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

  it('accepts what mysql2 accepts for the checked keys', () => {
    const settings = dbConnectionValidateOptions({
      config: {
        host: 'db',
        user: 'app',
        password: '',
        database: 'orders',
        queueLimit: 0,
        charset: 'utf8mb4_unicode_ci',
        ssl: 'Amazon RDS',
      },
    })
    expect(settings.poolOptions).toMatchObject({
      charset: 'utf8mb4_unicode_ci',
      ssl: 'Amazon RDS',
      queueLimit: 0,
    })
    for (const ssl of [false, { ca: 'PEM' }, { rejectUnauthorized: true }]) {
      expect(dbConnectionValidateOptions({ config: { host: 'db', ssl } as never }).poolOptions.ssl).toEqual(
        ssl,
      )
    }
    expect(
      dbConnectionValidateOptions({ config: `${dsn}?charset=LATIN1&queueLimit=10` }).poolOptions,
    ).toMatchObject({
      charset: 'LATIN1',
      queueLimit: 10,
    })
  })
})

// Anything but a string for a secret, anything that is not what mysql2 can use for the others: refused
// at construction naming the key, and a password's value never in the message (not even a number's).
describe('options: generated bad values', () => {
  // Each value with the kind a message may say it is (a value's kind is all a password's message shows).
  const kindOf = new Map<unknown, string>()
  const kinded = (arbitrary: fc.Arbitrary<unknown>, kind: string) =>
    arbitrary.map((value) => {
      kindOf.set(value, kind)
      return value
    })
  const notAString = fc.oneof(
    kinded(fc.integer(), 'a number'),
    kinded(fc.double(), 'a number'),
    kinded(fc.boolean(), 'a boolean'),
    kinded(fc.constant(null), 'null'),
    kinded(fc.array(fc.string({ minLength: 4 }), { minLength: 1, maxLength: 3 }), 'an array'),
    kinded(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ minLength: 4 }), { minKeys: 1 }),
      'an object',
    ),
  )
  const badQueueLimit = fc.oneof(
    fc.integer({ max: -1 }),
    fc.double({ noInteger: true, noNaN: false }),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
  )
  const knownCharset = (name: string) => {
    try {
      dbConnectionValidateOptions({ config: { host: 'db', charset: name } })
      return true
    } catch {
      return false
    }
  }
  const badCharset = fc.oneof(
    notAString,
    fc.string({ maxLength: 12 }).filter((name) => !knownCharset(name)),
  )
  const badSsl = fc.oneof(
    fc.integer(),
    fc.constant(true),
    fc.constant(null),
    fc.array(fc.integer(), { minLength: 1 }),
    fc.string().filter((name) => name !== 'Amazon RDS'),
  )
  const cases = fc.oneof(
    fc.record({ key: fc.constantFrom('password', 'password1', 'passwordSha1'), value: notAString }),
    fc.record({ key: fc.constantFrom('user', 'database', 'socketPath'), value: notAString }),
    fc.record({ key: fc.constant('queueLimit'), value: badQueueLimit }),
    fc.record({ key: fc.constant('charset'), value: badCharset }),
    fc.record({ key: fc.constant('ssl'), value: badSsl }),
  )

  it('refuses each with a TypeError naming config.<key>; a password’s value never appears', () => {
    fc.assert(
      fc.property(cases, ({ key, value }) => {
        const message = messageOf(() => dbConnection({ config: { host: 'db', [key]: value } } as never))
        expect(message).toMatch(new RegExp(`^@thaw/db-connection: option 'config.${key}' must be `))
        if (key.startsWith('password')) {
          // The whole message, so nothing of the value can be in it: its kind only.
          expect(message).toBe(
            `@thaw/db-connection: option 'config.${key}' must be a string, got ${kindOf.get(value)}`,
          )
        }
      }),
    )
  })
})
