import { fileURLToPath } from 'node:url'
import { S3Client } from '@aws-sdk/client-s3'
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { describe, expect, it } from '@jest/globals'
import middy from '@middy/core'
import sdkClients from '../src/index.ts'

// Type-level tests: this file is type-checked (by `tsc -p tsconfig.json`, and below by the
// compiler API), and every `@ts-expect-error` must meet an error or the check fails (TS2578).

const typedHandler = middy()
  .use(
    sdkClients({
      clients: { secrets: SecretsManagerClient, s3: { client: S3Client, config: { forcePathStyle: true } } },
      config: { region: 'eu-west-1' },
    }),
  )
  .handler(async (_event, context) => {
    // Each client has its own class's type, with no cast.
    const s3: S3Client = context.clients.s3
    const secrets: SecretsManagerClient = context.clients.secrets
    // @ts-expect-error an S3Client is not a SecretsManagerClient
    const wrong: SecretsManagerClient = context.clients.s3
    // @ts-expect-error a name that was not configured is a type error
    context.clients.dynamo
    // The Lambda context is still there.
    const name: string = context.functionName
    return [s3, secrets, wrong, name]
  })

const keyedHandler = middy()
  .use(sdkClients({ clients: { secrets: SecretsManagerClient }, contextKey: 'aws' }))
  .handler(async (_event, context) => {
    const secrets: SecretsManagerClient = context.aws.secrets
    // @ts-expect-error the clients are under contextKey, not under 'clients'
    context.clients
    return secrets
  })

const badConfig = () =>
  sdkClients({
    // @ts-expect-error forcePathStyle is a boolean in S3ClientConfig
    clients: { s3: { client: S3Client, config: { forcePathStyle: 'yes' } } },
  })

const notAClass = () =>
  sdkClients({
    // @ts-expect-error an instance is not a client class
    clients: { s3: new S3Client({}) },
  })

const notAnObject = () =>
  // @ts-expect-error config must be an object
  sdkClients({ clients: { s3: S3Client }, config: 'eu-west-1' })

describe('types', () => {
  it('type-checks, with every expected error present', async () => {
    const { default: ts } = await import('typescript')
    const file = fileURLToPath(import.meta.url)
    const configPath = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url))
    const { config } = ts.readConfigFile(configPath, ts.sys.readFile)
    const { options } = ts.parseJsonConfigFileContent(
      config,
      ts.sys,
      fileURLToPath(new URL('../../..', import.meta.url)),
    )
    const program = ts.createProgram([file], { ...options, noEmit: true })
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file)
    const messages = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    expect(messages).toEqual([])
    // The handlers and helpers exist at run time too (the checks above are about their types).
    expect(
      [typedHandler, keyedHandler, badConfig, notAClass, notAnObject].every((f) => typeof f === 'function'),
    ).toBe(true)
  })
})
