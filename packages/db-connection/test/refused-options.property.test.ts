// Every bad value of every option is refused when the middleware is built, by a TypeError that names
// the option's path (generated: @thaw/test-support's hostile values for each kind of option): the
// mysql2 PoolOptions keys thaw reads or that cannot work under it, the middleware's own options, the
// sub-tables shared through @thaw/db-core, and misspelt names at every level.
import { describe, it } from '@jest/globals'
import { assertBadOptionsRefused, badOption, badValues, misspeltOption } from '@thaw/test-support'
import { lambdaContextMembers, maxTimerMs } from '@thaw/util'
import fc from 'fast-check'
import dbConnection, {
  dbConnectionOptionTable,
  dbConnectionValidateOptions,
  packageName,
} from '../src/index.ts'

const nonEmpty = (value: unknown) => value !== ''
const anything = fc.oneof(fc.constantFrom(0, 1, true, false, 'x', {}), fc.integer())
const secret = { 'secret.secretId': 'app/db' }

describe('bad options', () => {
  it('are refused at construction, each naming its option (by generators)', () => {
    assertBadOptionsRefused(
      {
        packageName,
        construct: (options) => dbConnection(options as never),
        validate: dbConnectionValidateOptions as (options: unknown) => unknown,
        valid: { config: { host: 'db.example', user: 'app', password: 'pw', database: 'orders' } },
      },
      [
        badOption(
          'config',
          badValues.object().filter((value) => typeof value !== 'string'),
        ),
        badOption('config', fc.constantFrom('db.example', 'postgres://app@db/x', '//app@db', 'mysql://')),
        ...['user', 'database', 'socketPath', 'localAddress', 'timezone'].map((name) =>
          badOption(`config.${name}`, badValues.string().filter(nonEmpty)),
        ),
        ...['password', 'password1', 'password2', 'password3', 'passwordSha1'].map((name) =>
          badOption(`config.${name}`, badValues.string().filter(nonEmpty)),
        ),
        badOption('config.host', badValues.string()),
        badOption('config.port', badValues.integer(1, 65_535)),
        badOption('config.connectionLimit', badValues.integer(1, Number.POSITIVE_INFINITY)),
        badOption('config.queueLimit', badValues.integer(0, Number.POSITIVE_INFINITY)),
        badOption('config.connectTimeout', badValues.integer(1, maxTimerMs)),
        badOption('config.ssl', fc.oneof(fc.string(), fc.constantFrom(true, 0, 1, null, []))),
        badOption('config.charset', fc.constantFrom('', 'utf9', 'UTF8MB4_NO_SUCH_CI', 42, null)),
        badOption('config.waitForConnections', fc.constant(false)),
        ...['maxIdle', 'idleTimeout', 'resetOnRelease', 'uri'].map((name) =>
          badOption(`config.${name}`, anything),
        ),
        misspeltOption('config', [
          'host',
          'user',
          'password',
          'database',
          'port',
          'connectionLimit',
          'queueLimit',
          'ssl',
        ]),
        // The mistakes that passed construction once, every run.
        badOption('config.user', fc.constant(42)),
        badOption('config.password', fc.constant({ value: 'pw' })),
        badOption('config.queueLimit', fc.constant(-5)),
        badOption('contextKey', fc.constant('__proto__')),
        badOption('contextKey', badValues.propertyKey(lambdaContextMembers)),
        badOption('connect', badValues.oneOf(['init', 'first-use'])),
        badOption('validateAfterIdleMs', badValues.integer(0, maxTimerMs)),
        badOption('validateTimeoutMs', badValues.integer(1, maxTimerMs)),
        badOption('statementMarginMs', badValues.integer(0, maxTimerMs)),
        badOption('resetSession', badValues.oneOf(['auto', 'always', 'never'])),
        badOption('closeOnShutdown', badValues.boolean()),
        badOption('logger', badValues.function()),
        badOption('secret', badValues.object()),
        badOption('secret.secretId', badValues.string()),
        badOption('secret.versionStage', badValues.string(), secret),
        badOption('secret.maxAgeMs', badValues.integer(1, maxTimerMs), secret),
        badOption('secret.prefetch', badValues.boolean(), secret),
        badOption('secret.sdk', badValues.function(), secret),
        misspeltOption('secret', ['secretId', 'versionStage', 'maxAgeMs', 'prefetch']),
        badOption('internalData', badValues.object()),
        badOption('internalData.password', badValues.string()),
        badOption('internalData.user', badValues.string(), { 'internalData.password': 'pw' }),
        badOption('iam', badValues.object()),
        badOption('iam.port', badValues.integer(1, 65_535)),
        badOption('iam.region', badValues.string()),
        badOption('iam.getAuthToken', badValues.function()),
        ...Object.keys(dbConnectionOptionTable.connectRetry.default ?? {}).map((name) =>
          badOption(
            `connectRetry.${name}`,
            badValues.integer(name === 'deadlineMarginMs' ? 0 : 1, maxTimerMs),
          ),
        ),
        misspeltOption('connectRetry', Object.keys(dbConnectionOptionTable.connectRetry.default ?? {})),
        badOption('connectRetry', badValues.object()),
        badOption('fleet', badValues.object()),
        badOption('fleet.idleTimeoutMs', badValues.integer(0, maxTimerMs)),
        misspeltOption('', Object.keys(dbConnectionOptionTable)),
      ],
    )
  }, 120_000)
})
