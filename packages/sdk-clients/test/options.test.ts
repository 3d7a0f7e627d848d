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
      /option 'contextKey' must be a non-empty string \(the context property for the clients\), got the string ""/,
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
    // Issue 16 (mutation testing): each half of the class check, and the hint kept for instances.
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
    // Issue 16 (mutation testing): every argument named, null too.
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
