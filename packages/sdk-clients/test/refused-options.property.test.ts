// Every bad value of every option is refused when the middleware is built, by a TypeError that names
// the option's path (generated: @thaw/test-support's hostile values for each kind of option): reserved
// client names and configuration keys, the configuration values the SDK takes and fails on only at the
// first request (maxAttempts, endpoint, region, retryMode), misspelt names at every level.
import { S3Client } from '@aws-sdk/client-s3'
import { describe, it } from '@jest/globals'
import { assertBadOptionsRefused, badOption, badValues, misspeltOption } from '@thaw/test-support'
import { lambdaContextMembers } from '@thaw/util'
import fc from 'fast-check'
import sdkClients, { packageName, sdkClientsOptionTable, sdkClientsValidateOptions } from '../src/index.ts'

const reserved = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']
const noFunction = (value: unknown) => typeof value !== 'function'
// The client configuration keys whose values thaw checks, where a client and the shared config hold them.
const configValues = (path: string) => [
  badOption(`${path}.maxAttempts`, badValues.integer(1, Number.MAX_SAFE_INTEGER).filter(noFunction)),
  badOption(`${path}.region`, badValues.string().filter(noFunction)),
  badOption(`${path}.retryMode`, badValues.oneOf(['standard', 'adaptive']).filter(noFunction)),
  badOption(
    `${path}.endpoint`,
    fc.oneof(
      fc.constantFrom('localhost:4566', 'ftp://example.com', 's3.amazonaws.com', '', 42, null, true),
      fc.string().filter((text) => !URL.canParse(text)),
    ),
  ),
  badOption(`${path}.credentials`, fc.constantFrom(null, 'AKIA…', 42, true)),
  fc.constantFrom(...reserved).map((key) => [`${path}.${key}`, { region: 'eu-west-1' }] as const),
  misspeltOption(path, ['region', 'maxAttempts', 'endpoint', 'retryMode', 'credentials'], 'eu-west-1'),
]

describe('bad options', () => {
  it('are refused at construction, each naming its option (by generators)', () => {
    assertBadOptionsRefused(
      {
        packageName,
        construct: (options) => sdkClients(options as never),
        validate: sdkClientsValidateOptions as (options: unknown) => unknown,
        valid: { clients: { s3: { client: S3Client, config: { region: 'eu-west-1' } } } },
      },
      [
        // A client named after a member of context.clients' prototype or of the Lambda context.
        fc.constantFrom(...reserved).map((name) => [`clients.${name}`, S3Client] as const),
        badOption('clients.s3', fc.oneof(badValues.object(), fc.constant(class NotAClient {}))),
        badOption('clients.s3.client', fc.oneof(badValues.function(), fc.constant(class NotAClient {}))),
        badOption('clients.s3.config', badValues.object()),
        badOption('clients.s3.capture', badValues.function()),
        misspeltOption('clients.s3', ['client', 'config', 'capture', 'assumeRole']),
        ...configValues('clients.s3.config'),
        ...configValues('config'),
        badOption('config', badValues.object()),
        // The mistakes that passed construction once, every run.
        badOption('clients.__proto__', fc.constant(S3Client)),
        badOption('config.__proto__', fc.constant({ region: 'eu-west-1' })),
        badOption('clients.s3.config.maxAttempts', fc.constant(-1)),
        badOption('config.endpoint', fc.constant(42)),
        badOption('clients.s3.config.regoin', fc.constant('eu-west-1')),
        badOption('config.regoin', fc.constant('eu-west-1')),
        badOption('contextKey', badValues.propertyKey(lambdaContextMembers)),
        badOption('capture', badValues.function()),
        badOption('assumeRole', fc.constantFrom('', 42, null, [], { RoleSessionName: 'x' }, { RoleArn: '' })),
        misspeltOption('', Object.keys(sdkClientsOptionTable)),
      ],
      // Fewer runs per entry: its catalogue is the longest (two levels of client configuration).
      40,
    )
  }, 120_000)
})
