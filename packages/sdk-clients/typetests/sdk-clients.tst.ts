// Type tests (tstyche): what a handler sees on its context and which options the compiler refuses,
// through the public API only. Run with `pnpm typetest`.
import { S3Client } from '@aws-sdk/client-s3'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import middy from '@middy/core'
import sdkClients, { type SdkClientsContext } from '@thaw/sdk-clients'
import type { Context } from 'aws-lambda'
import { describe, expect, test } from 'tstyche'

describe('context.clients', () => {
  test('each client has its own class type, with no cast, and the Lambda context stays', () => {
    middy()
      .use(
        sdkClients({
          clients: {
            secrets: SecretsManagerClient,
            s3: { client: S3Client, config: { forcePathStyle: true } },
          },
          config: { region: 'eu-west-1' },
        }),
      )
      .handler(async (_event, context) => {
        expect(context.clients.s3).type.toBe<S3Client>()
        expect(context.clients.secrets).type.toBe<SecretsManagerClient>()
        // An S3Client is not a SecretsManagerClient.
        expect(context.clients.s3).type.not.toBeAssignableTo<SecretsManagerClient>()
        // A name that was not configured is not there.
        expect(context.clients).type.not.toHaveProperty('dynamo')
        expect(context.functionName).type.toBe<string>()
        expect(context).type.toBeAssignableTo<Context>()
      })
  })

  test('the clients are under contextKey, not under clients', () => {
    middy()
      .use(sdkClients({ clients: { secrets: SecretsManagerClient }, contextKey: 'aws' }))
      .handler(async (_event, context) => {
        expect(context.aws.secrets).type.toBe<SecretsManagerClient>()
        expect(context).type.not.toHaveProperty('clients')
      })
  })

  test('SdkClientsContext names the same types', () => {
    type Clients = { s3: typeof S3Client }
    expect<SdkClientsContext<Clients>['clients']['s3']>().type.toBe<S3Client>()
    expect<SdkClientsContext<Clients, 'aws'>>().type.toHaveProperty('aws')
  })
})

describe('options the compiler refuses', () => {
  test('a per-client config is checked against its own client class', () => {
    expect(sdkClients).type.toBeCallableWith({
      clients: { s3: { client: S3Client, config: { forcePathStyle: true } } },
    })
    // forcePathStyle is a boolean in S3ClientConfig.
    expect(sdkClients).type.not.toBeCallableWith({
      clients: { s3: { client: S3Client, config: { forcePathStyle: 'yes' } } },
    })
  })

  test('an instance is not a client class', () => {
    expect(sdkClients).type.not.toBeCallableWith({ clients: { s3: new S3Client({}) } })
  })

  test('config must be an object', () => {
    expect(sdkClients).type.toBeCallableWith({ clients: { s3: S3Client }, config: { region: 'eu-west-1' } })
    expect(sdkClients).type.not.toBeCallableWith({ clients: { s3: S3Client }, config: 'eu-west-1' })
  })

  test('clients is required, and capture is a function', () => {
    expect(sdkClients).type.not.toBeCallableWith({ config: {} })
    expect(sdkClients).type.not.toBeCallableWith({ clients: { s3: S3Client }, capture: 'xray' })
  })

  test("assumeRole's sdk is a function returning the credential-providers module", () => {
    const RoleArn = 'arn:aws:iam::123456789012:role/reader'
    expect(sdkClients).type.toBeCallableWith({
      clients: { s3: S3Client },
      assumeRole: { RoleArn, sdk: () => import('@aws-sdk/credential-providers') },
    })
    expect(sdkClients).type.not.toBeCallableWith({
      clients: { s3: S3Client },
      assumeRole: { RoleArn, sdk: '@aws-sdk/credential-providers' },
    })
    expect(sdkClients).type.not.toBeCallableWith({
      clients: { s3: S3Client },
      assumeRole: { RoleArn, sdk: () => import('@aws-sdk/client-s3') },
    })
  })
})
