// Every bad value of every option is refused when the middleware is built, by a TypeError that names
// the option's path (generated: @thaw/test-support's hostile values for each kind of option): the
// pg ClientConfig keys thaw reads or that cannot work under it, the middleware's own options, the
// sub-tables shared through @thaw/db-core, and misspelt names at every level.
import { describe, it } from '@jest/globals'
import { assertBadOptionsRefused, badOption, badValues, misspeltOption } from '@thaw/test-support'
import { lambdaContextMembers, maxTimerMs } from '@thaw/util'
import fc from 'fast-check'
import pgConnection, {
  packageName,
  pgConnectionOptionTable,
  pgConnectionValidateOptions,
} from '../src/index.ts'

const nonEmpty = (value: unknown) => value !== ''
const anything = fc.oneof(fc.constantFrom(0, 1, true, false, 'x', {}), fc.integer())
const secret = { 'secret.secretId': 'app/db' }

describe('bad options', () => {
  it('are refused at construction, each naming its option (by generators)', () => {
    assertBadOptionsRefused(
      {
        packageName,
        construct: (options) => pgConnection(options as never),
        validate: pgConnectionValidateOptions as (options: unknown) => unknown,
        valid: { config: { host: 'db.example', user: 'app', password: 'pw', database: 'orders' } },
      },
      [
        badOption(
          'config',
          badValues.object().filter((value) => typeof value !== 'string'),
        ),
        badOption('config', fc.constantFrom('db.example', 'mysql://app@db/x', '//app@db', 'postgres')),
        ...['user', 'database', 'host'].map((name) =>
          badOption(`config.${name}`, badValues.string().filter(nonEmpty)),
        ),
        badOption(
          'config.password',
          badValues.string().filter((value) => nonEmpty(value) && typeof value !== 'function'),
        ),
        badOption('config.port', badValues.integer(1, 65_535)),
        badOption('config.max', badValues.integer(1, Number.POSITIVE_INFINITY)),
        badOption('config.connectionTimeoutMillis', badValues.integer(1, maxTimerMs)),
        ...[
          'idleTimeoutMillis',
          'maxLifetimeSeconds',
          'min',
          'maxUses',
          'allowExitOnIdle',
          'stream',
          'Client',
          'connectionString',
        ].map((name) => badOption(`config.${name}`, anything)),
        misspeltOption('config', [
          'host',
          'user',
          'password',
          'database',
          'port',
          'max',
          'ssl',
          'statement_timeout',
        ]),
        // The mistakes db-connection once let through, every run.
        badOption('contextKey', fc.constantFrom('__proto__', 'awsRequestId')),
        badOption('config.user', fc.constant(42)),
        badOption('config.password', fc.constant({})),
        badOption('config.max', fc.constant(-1)),
        badOption('config.hots', fc.constant('db.example')),
        badOption('conect', fc.constant('init')),
        badOption('contextKey', badValues.propertyKey(lambdaContextMembers)),
        badOption('connect', badValues.oneOf(['init', 'first-use'])),
        badOption('validateAfterIdleMs', badValues.integer(0, maxTimerMs)),
        badOption('validateTimeoutMs', badValues.integer(1, maxTimerMs)),
        badOption('statementMarginMs', badValues.integer(0, maxTimerMs)),
        badOption('resetSession', badValues.oneOf(['auto', 'always', 'never'])),
        badOption('proxy', badValues.oneOf(['none', 'transaction'])),
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
        ...Object.keys(pgConnectionOptionTable.connectRetry.default ?? {}).map((name) =>
          badOption(
            `connectRetry.${name}`,
            badValues.integer(name === 'deadlineMarginMs' ? 0 : 1, maxTimerMs),
          ),
        ),
        misspeltOption('connectRetry', Object.keys(pgConnectionOptionTable.connectRetry.default ?? {})),
        badOption('connectRetry', badValues.object()),
        misspeltOption('', Object.keys(pgConnectionOptionTable)),
      ],
    )
  }, 120_000)
})
