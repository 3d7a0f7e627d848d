import { S3Client } from '@aws-sdk/client-s3'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import sdkClients, { getClient, sdkClientsDefaults, sdkClientsValidateOptions } from '../src/index.ts'

// Bad options throw at construction, naming the option. The calls go through `unknown` because
// most of these are type errors too (see typetests/sdk-clients.tst.ts).
const construct = (options: unknown) => () => sdkClients(options as Parameters<typeof sdkClients>[0])

describe('bad options', () => {
  it.each([
    [undefined, /option 'options' must be an object, got undefined/],
    [{}, /option 'clients' must be an object naming at least one client .*, got undefined/],
    [
      { clients: {} },
      /option 'clients' must be an object naming at least one client \(name → a client class or \{ client, config\?, capture\?, assumeRole\? \}\), got an object/,
    ],
    [
      { clients: { s3: 'S3Client' } },
      /option 'clients\.s3' must be a client class or \{ client, config\?, capture\?, assumeRole\? \}, got the string "S3Client"/,
    ],
    [
      { clients: { s3: class NotAClient {} } },
      /option 'clients\.s3' must be an AWS SDK v3 client class \(such as S3Client from @aws-sdk\/client-s3\), got the function NotAClient/,
    ],
    [
      { clients: { secrets: new SecretsManagerClient({ region: 'us-east-1' }) } },
      /option 'clients\.secrets' must be an AWS SDK v3 client class .*got an instance of SecretsManagerClient: pass the class itself/,
    ],
    [
      { clients: { secrets: { client: new SecretsManagerClient({ region: 'us-east-1' }) } } },
      /option 'clients\.secrets\.client' must be an AWS SDK v3 client class.*pass the class itself/,
    ],
    [
      { clients: { secrets: SecretsManagerClient }, region: 'eu-west-1' },
      /unknown option 'region' \(expected one of clients, config, contextKey, capture, assumeRole\)/,
    ],
    [
      { clients: { secrets: { client: SecretsManagerClient, region: 'eu-west-1' } } },
      /unknown option 'clients\.secrets\.region' \(expected one of client, config, capture, assumeRole\)/,
    ],
    [
      { clients: { secrets: SecretsManagerClient }, config: 'eu-west-1' },
      /option 'config' must be an object \(the client configuration\), got the string "eu-west-1"/,
    ],
    [
      { clients: { secrets: SecretsManagerClient }, config: ['eu-west-1'] },
      /option 'config' must be an object \(the client configuration\), got an array/,
    ],
    [
      { clients: { secrets: { client: SecretsManagerClient, config: 42 } } },
      /option 'clients\.secrets\.config' must be an object \(the client configuration\), got number 42/,
    ],
    [
      { clients: { secrets: SecretsManagerClient }, contextKey: '' },
      /option 'contextKey' must be a non-empty string that is not a member of the Lambda context or of Object\.prototype .*, got the string ""/,
    ],
    [
      { clients: { secrets: SecretsManagerClient }, capture: 'xray' },
      /option 'capture' must be a function that takes a client and returns it, got the string "xray"/,
    ],
    [
      { clients: { secrets: SecretsManagerClient }, assumeRole: { RoleSessionName: 'x' } },
      /option 'assumeRole' must be a role ARN or AssumeRole parameters with a RoleArn \(and sdk, if given, a function\), got an object/,
    ],
    [
      { clients: { secrets: { client: SecretsManagerClient, assumeRole: 42 } } },
      /option 'clients\.secrets\.assumeRole' must be a role ARN or AssumeRole parameters with a RoleArn/,
    ],
    // Found by mutation testing: each half of the class check, and the hint kept for instances.
    [
      {
        clients: {
          s3: class OnlyDestroy {
            destroy() {}
          },
        },
      },
      /option 'clients\.s3' must be an AWS SDK v3 client class \(such as S3Client from @aws-sdk\/client-s3\), got the function OnlyDestroy$/,
    ],
    [
      {
        clients: {
          s3: class OnlySend {
            send() {}
          },
        },
      },
      /option 'clients\.s3' must be an AWS SDK v3 client class \(such as S3Client from @aws-sdk\/client-s3\), got the function OnlySend$/,
    ],
    [
      { clients: { s3: () => SecretsManagerClient } },
      /option 'clients\.s3' must be an AWS SDK v3 client class .*, got the function s3$/,
    ],
    [
      { clients: { s3: Object.assign(function sender() {}, { send() {} }) } },
      /option 'clients\.s3' must be an AWS SDK v3 client class .*, got the function sender$/,
    ],
    [
      { clients: { s3: undefined } },
      /option 'clients\.s3' must be a client class or \{ client, config\?, capture\?, assumeRole\? \}, got undefined/,
    ],
    [
      { clients: { s3: { client: null } } },
      /option 'clients\.s3\.client' must be an AWS SDK v3 client class .*, got null$/,
    ],
    [
      { clients: { s3: { client: { region: 'eu-west-1' } } } },
      /option 'clients\.s3\.client' must be an AWS SDK v3 client class .*, got an object$/,
    ],
    [
      { clients: { s3: { client: { send() {} } } } },
      /option 'clients\.s3\.client' must be an AWS SDK v3 client class .*, got an object: pass the class itself/,
    ],
    [
      { clients: { secrets: SecretsManagerClient }, assumeRole: '' },
      /option 'assumeRole' must be a role ARN or AssumeRole parameters with a RoleArn \(and sdk, if given, a function\), got the string ""/,
    ],
    [
      {
        clients: { secrets: SecretsManagerClient },
        assumeRole: {
          RoleArn: 'arn:aws:iam::123456789012:role/reader',
          sdk: '@aws-sdk/credential-providers',
        },
      },
      /option 'assumeRole' must be a role ARN or AssumeRole parameters with a RoleArn \(and sdk, if given, a function\), got an object/,
    ],
    [
      { clients: { secrets: SecretsManagerClient }, assumeRole: { RoleArn: '' } },
      /option 'assumeRole' must be a role ARN or AssumeRole parameters with a RoleArn \(and sdk, if given, a function\), got an object/,
    ],
  ])('%j is refused', (options, message) => {
    expect(construct(options)).toThrow(TypeError)
    expect(construct(options)).toThrow(message)
    expect(construct(options)).toThrow(/^@thaw\/sdk-clients: /)
  })

  it('getClient checks its arguments the same way', () => {
    expect(() => getClient('S3Client' as never)).toThrow(
      /option 'clientClass' must be an AWS SDK v3 client class/,
    )
    expect(() => getClient(SecretsManagerClient, 'us-east-1' as never)).toThrow(
      /option 'config' must be an object/,
    )
    // Found by mutation testing: every argument named, null too.
    expect(() => getClient(null as never)).toThrow(
      /^@thaw\/sdk-clients: option 'clientClass' must be an AWS SDK v3 client class .*, got null$/,
    )
    const config = { region: 'us-east-1' }
    expect(() => getClient(SecretsManagerClient, config, 'x-ray' as never)).toThrow(
      /^@thaw\/sdk-clients: option 'options' must be an object \(\{ capture\?, assumeRole\? \}\), got the string "x-ray"$/,
    )
    expect(() => getClient(SecretsManagerClient, config, null as never)).toThrow(
      /option 'options' must be an object \(\{ capture\?, assumeRole\? \}\), got null$/,
    )
    expect(() => getClient(SecretsManagerClient, config, { capture: 'x-ray' as never })).toThrow(
      /^@thaw\/sdk-clients: option 'capture' must be a function that takes a client and returns it, got the string "x-ray"$/,
    )
    expect(() => getClient(SecretsManagerClient, config, { assumeRole: '' })).toThrow(
      /^@thaw\/sdk-clients: option 'assumeRole' must be a role ARN or AssumeRole parameters with a RoleArn \(and sdk, if given, a function\), got the string ""$/,
    )
  })

  it('accepts good options and returns the settings: defaults applied, each client in normal form', () => {
    const capture = <T>(client: T) => client
    const settings = sdkClientsValidateOptions({
      clients: {
        a: SecretsManagerClient,
        b: { client: SecretsManagerClient, config: { region: 'eu-west-1', maxAttempts: undefined } },
      },
      config: { region: 'us-east-1', maxAttempts: 2 },
      capture,
      assumeRole: 'arn:aws:iam::123456789012:role/reader',
    })
    // Each client's config is the shared one with its own merged over it; an undefined value is
    // left out, so it neither hides the shared value nor makes a configuration of its own.
    expect(settings.clients).toEqual([
      {
        name: 'a',
        path: 'clients.a',
        clientClass: SecretsManagerClient,
        config: { region: 'us-east-1', maxAttempts: 2 },
        capture,
        assumeRole: 'arn:aws:iam::123456789012:role/reader',
      },
      {
        name: 'b',
        path: 'clients.b',
        clientClass: SecretsManagerClient,
        config: { region: 'eu-west-1', maxAttempts: 2 },
        capture,
        assumeRole: 'arn:aws:iam::123456789012:role/reader',
      },
    ])
    expect(settings.contextKey).toBe('clients')
    expect(sdkClientsDefaults).toEqual({
      clients: undefined,
      config: {},
      contextKey: 'clients',
      capture: undefined,
      assumeRole: undefined,
    })
  })

  it('names the package and the option in the TypeError cause', () => {
    const error = (() => {
      try {
        construct({ clients: { s3: { client: SecretsManagerClient, config: 42 } } })()
      } catch (caught) {
        return caught as TypeError
      }
    })()
    expect(error).toBeInstanceOf(TypeError)
    expect(error?.cause).toEqual({ package: '@thaw/sdk-clients', option: 'clients.s3.config' })
  })
})

describe('no secret in a message', () => {
  // A secret passed where an option expects something else (a long string, or an object holding
  // one) is described by its kind, never shown.
  it('a long string or an object refused is described, not shown', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 41, maxLength: 200 }),
        fc.constantFrom('contextKey', 'config', 'capture', 'assumeRole', 'clients'),
        fc.boolean(),
        (secret, option, wrapped) => {
          // contextKey and assumeRole take any non-empty string: only the object can be wrong there.
          const stringRefused = option !== 'contextKey' && option !== 'assumeRole'
          const value = wrapped || !stringRefused ? [{ secretAccessKey: secret }] : secret
          const message = (() => {
            try {
              construct({ clients: { secrets: SecretsManagerClient }, [option]: value })()
            } catch (error) {
              return (error as Error).message
            }
            return 'accepted'
          })()
          expect(message).toMatch(new RegExp(`^@thaw/sdk-clients: option '${option}' must be `))
          expect(message).not.toContain(secret)
        },
      ),
    )
  })
})

describe('options the SDK would accept and then fail on are refused at construction', () => {
  const thrownBy = (options: unknown): TypeError => {
    try {
      construct(options)()
    } catch (error) {
      return error as TypeError
    }
    throw new Error('accepted')
  }
  const expectRefusal = (options: unknown, option: string, message: string | RegExp) => {
    const error = thrownBy(options)
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toMatch(message)
    expect(error.cause).toEqual({ package: '@thaw/sdk-clients', option })
  }

  it("a client named '__proto__' (it would become context.clients' prototype), or any reserved name", () => {
    for (const name of ['__proto__', 'constructor', 'prototype', 'hasOwnProperty']) {
      const clients = JSON.parse(`{"${name}": 0}`)
      clients[name] = S3Client
      expectRefusal({ clients }, `clients.${name}`, `option 'clients.${name}' is a reserved name`)
    }
  })

  it('a contextKey that is a member of the Lambda context or of Object.prototype', () => {
    for (const contextKey of ['__proto__', 'getRemainingTimeInMillis', 'awsRequestId', 'toString'])
      expectRefusal(
        { clients: { s3: S3Client }, contextKey },
        'contextKey',
        /option 'contextKey' must be a non-empty string that is not a member of the Lambda context or of Object\.prototype/,
      )
  })

  it("a config with an own '__proto__' key (a copy drops it; the first request failed 'Region is missing')", () => {
    const config = JSON.parse('{"__proto__": {"region": "eu-west-1"}}')
    expectRefusal(
      { clients: { s3: { client: S3Client, config } } },
      'clients.s3.config.__proto__',
      "option 'clients.s3.config.__proto__' is a reserved name",
    )
    expectRefusal(
      { clients: { s3: S3Client }, config },
      'config.__proto__',
      "option 'config.__proto__' is a reserved name",
    )
    expect(() => getClient(S3Client, config)).toThrow("option 'config.__proto__' is a reserved name")
  })

  it('maxAttempts below 1, an endpoint that is no URL, an empty region', () => {
    expectRefusal(
      { clients: { s3: { client: S3Client, config: { maxAttempts: -1 } } } },
      'clients.s3.config.maxAttempts',
      "option 'clients.s3.config.maxAttempts' must be an integer of 1 or more (attempts, the first one included) or a function returning one, got number -1",
    )
    expectRefusal(
      { clients: { s3: S3Client }, config: { endpoint: 42 } },
      'config.endpoint',
      /^@thaw\/sdk-clients: option 'config\.endpoint' must be an http\(s\) URL .*, got number 42$/,
    )
    expectRefusal(
      { clients: { s3: S3Client }, config: { endpoint: 'localhost:4566' } },
      'config.endpoint',
      /option 'config\.endpoint' must be an http\(s\) URL/,
    )
    expectRefusal(
      { clients: { s3: S3Client }, config: { region: '' } },
      'config.region',
      /option 'config\.region' must be a non-empty string/,
    )
    expect(() => getClient(S3Client, { maxAttempts: 0 })).toThrow(
      "option 'config.maxAttempts' must be an integer of 1 or more",
    )
    // What works is kept: a URL, a URL object, an endpoint object, providers.
    for (const endpoint of [
      'http://127.0.0.1:4566',
      new URL('https://s3.example'),
      { url: new URL('https://s3.example') },
      async () => ({ url: new URL('https://s3.example') }),
    ])
      expect(() =>
        sdkClientsValidateOptions({
          clients: { s3: S3Client },
          config: { endpoint, maxAttempts: 3, region: 'eu-west-1' },
        }),
      ).not.toThrow()
  })

  it('a misspelt key names itself and the key it was probably meant to be', () => {
    expectRefusal(
      { clients: { s3: { client: S3Client, config: { regoin: 'eu-west-1' } } } },
      'clients.s3.config.regoin',
      "@thaw/sdk-clients: unknown option 'clients.s3.config.regoin' (not a configuration key of S3Client): did you mean 'region'?",
    )
    expectRefusal(
      { clients: { s3: S3Client, secrets: SecretsManagerClient }, config: { maxAttemps: 3 } },
      'config.maxAttemps',
      "@thaw/sdk-clients: unknown option 'config.maxAttemps' (not a configuration key of any of the clients): did you mean 'maxAttempts'?",
    )
    expect(() => getClient(SecretsManagerClient, { regoin: 'eu-west-1' } as never)).toThrow(
      "unknown option 'config.regoin' (not a configuration key of SecretsManagerClient): did you mean 'region'?",
    )
  })

  it("each client's own keys are its class's; a shared key needs one client that takes it", () => {
    // forcePathStyle is S3's: refused in the Secrets Manager client's own config, kept in the shared one.
    expectRefusal(
      { clients: { secrets: { client: SecretsManagerClient, config: { forcePathStyle: true } } } },
      'clients.secrets.config.forcePathStyle',
      /unknown option 'clients\.secrets\.config\.forcePathStyle' \(not a configuration key of SecretsManagerClient\)/,
    )
    expect(() =>
      sdkClientsValidateOptions({
        clients: { s3: S3Client, secrets: SecretsManagerClient },
        config: { forcePathStyle: true },
      }),
    ).not.toThrow()
    // Keys a client reads while it resolves the others, which its resolved config does not list.
    expect(() =>
      sdkClientsValidateOptions({
        clients: { s3: { client: S3Client, config: { profile: 'dev', signingRegion: 'eu-west-1' } } },
      }),
    ).not.toThrow()
  })

  it('any key S3Client does not take is refused by name (by generators)', () => {
    const known = new Set([
      ...Object.keys(new S3Client({}).config),
      'profile',
      'cacheMiddleware',
      'signingRegion',
      'signerConstructor',
    ])
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }).filter((key) => !known.has(key) && key !== '__proto__'),
        (key) => {
          const config = { [key]: 'x' }
          const error = thrownBy({ clients: { s3: { client: S3Client, config } } })
          expect(error.cause).toEqual({ package: '@thaw/sdk-clients', option: `clients.s3.config.${key}` })
        },
      ),
      { numRuns: 200 },
    )
  })
})
