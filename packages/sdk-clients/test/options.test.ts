import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { describe, expect, it } from '@jest/globals'
import sdkClients, { defaults, getClient, sdkClientsValidateOptions } from '../src/index.ts'

// Bad options throw at construction, naming the option. The calls go through `unknown` because
// most of these are type errors too (see types.test.ts).
const construct = (options: unknown) => () => sdkClients(options as Parameters<typeof sdkClients>[0])

describe('bad options', () => {
  it.each([
    [undefined, /options must be an object, got a undefined/],
    [{}, /Missing required option 'clients'/],
    [{ clients: {} }, /option 'clients' must name at least one client/],
    [
      { clients: { s3: 'S3Client' } },
      /option 'clients\.s3' must be a client class or \{ client, config\? \}, got a string/,
    ],
    [
      { clients: { s3: class NotAClient {} } },
      /option 'clients\.s3' must be an AWS SDK v3 client class \(such as S3Client from @aws-sdk\/client-s3\), got the function NotAClient/,
    ],
    [
      { clients: { secrets: new SecretsManagerClient({ region: 'us-east-1' }) } },
      /option 'clients\.secrets' must be a client class .*got an instance of SecretsManagerClient/,
    ],
    [
      { clients: { secrets: { client: new SecretsManagerClient({ region: 'us-east-1' }) } } },
      /option 'clients\.secrets\.client' must be an AWS SDK v3 client class.*pass the class itself/,
    ],
    [{ clients: { secrets: SecretsManagerClient }, region: 'eu-west-1' }, /Unknown option 'region'/],
    [
      { clients: { secrets: { client: SecretsManagerClient, region: 'eu-west-1' } } },
      /unknown option 'clients\.secrets\.region' \(expected client, config, capture or assumeRole\)/,
    ],
    [{ clients: { secrets: SecretsManagerClient }, config: 'eu-west-1' }, /Option 'config' must be object/],
    [{ clients: { secrets: SecretsManagerClient }, config: ['eu-west-1'] }, /Option 'config' must be object/],
    [
      { clients: { secrets: { client: SecretsManagerClient, config: 42 } } },
      /option 'clients\.secrets\.config' must be an object \(the client configuration\), got a number/,
    ],
    [
      { clients: { secrets: SecretsManagerClient }, contextKey: '' },
      /Option 'contextKey' must have length >= 1/,
    ],
    [
      { clients: { secrets: SecretsManagerClient }, capture: 'xray' },
      /Option 'capture' must be instanceof Function/,
    ],
    [
      { clients: { secrets: SecretsManagerClient }, assumeRole: { RoleSessionName: 'x' } },
      /'assumeRole'.*expected a role ARN or \{ RoleArn, … \}/,
    ],
    [
      { clients: { secrets: { client: SecretsManagerClient, assumeRole: 42 } } },
      /option 'clients\.secrets\.assumeRole' must be a role ARN or AssumeRole parameters with a RoleArn/,
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
  })

  it('accepts good options and returns the clients in normal form', () => {
    const capture = <T>(client: T) => client
    const entries = sdkClientsValidateOptions({
      clients: {
        a: SecretsManagerClient,
        b: { client: SecretsManagerClient, config: { region: 'eu-west-1' } },
      },
      config: { region: 'us-east-1' },
      capture,
      assumeRole: 'arn:aws:iam::123456789012:role/reader',
    })
    expect(entries).toEqual([
      {
        name: 'a',
        path: 'clients.a',
        clientClass: SecretsManagerClient,
        config: {},
        capture,
        assumeRole: 'arn:aws:iam::123456789012:role/reader',
      },
      {
        name: 'b',
        path: 'clients.b',
        clientClass: SecretsManagerClient,
        config: { region: 'eu-west-1' },
        capture,
        assumeRole: 'arn:aws:iam::123456789012:role/reader',
      },
    ])
    expect(defaults.contextKey).toBe('clients')
  })
})
