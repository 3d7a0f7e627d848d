import type { MiddlewareObj } from '@middy/core'
// The Lambda context type comes from @types/aws-lambda, which is therefore a dependency of this
// package, not a devDependency: SdkClientsContext is public, so a user's tsc resolves 'aws-lambda'
// from what installing @thaw/sdk-clients brought. @middy/core 7.9's own types import it
// too without depending on it; thaw does not rely on the user having installed it.
import type { Context as LambdaContext } from 'aws-lambda'

// What thaw needs of an AWS SDK v3 client: every generated client (S3Client, SecretsManagerClient, …)
// has `send` and `destroy` on its prototype and takes one configuration object.
export interface AwsClient {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's send is overloaded per command; any is its common shape
  send(command: any, ...rest: any[]): unknown
  destroy(): void
}

// biome-ignore lint/suspicious/noExplicitAny: generated clients take a rest parameter typed per service
export type ClientClass<TClient extends AwsClient = AwsClient> = new (...args: any[]) => TClient

// The configuration a client class takes (S3ClientConfig for S3Client, …).
export type ClientConfig<TClass extends ClientClass> = NonNullable<ConstructorParameters<TClass>[0]>

// Wraps a client once, when it is built (AWSXRay.captureAWSv3Client, an OpenTelemetry hook, …).
// It returns the client to hand out: the same object, instrumented, or a wrapper with the same type.
export type Capture = <TClient extends AwsClient>(client: TClient) => TClient

// The module that assumes a role (fromTemporaryCredentials), as `import('@aws-sdk/credential-providers')`
// gives it.
export type CredentialProvidersModule = typeof import('@aws-sdk/credential-providers')

// AssumeRole parameters for @aws-sdk/credential-providers' fromTemporaryCredentials, or a role ARN.
// `sdk` (not sent to STS) carries the module into a bundle; left out, it is looked up at the first
// request (node_modules, or the AWS SDK the Lambda runtime ships).
export type AssumeRole =
  | string
  | {
      RoleArn: string
      RoleSessionName?: string
      DurationSeconds?: number
      ExternalId?: string
      Policy?: string
      sdk?: () => Promise<CredentialProvidersModule>
      [parameter: string]: unknown
    }

export interface ClientDefinition<TClass extends ClientClass = ClientClass> {
  client: TClass
  // Merged over the middleware's shared `config`, key by key.
  config?: ClientConfig<TClass>
  // Overrides the middleware's `capture` for this client.
  capture?: Capture
  // Overrides the middleware's `assumeRole` for this client.
  assumeRole?: AssumeRole
}

// biome-ignore lint/suspicious/noExplicitAny: any client class fits a definition; its own config is checked below
export type ClientSpec = ClientClass | ClientDefinition<any>

// The instance type a spec builds.
export type ClientOf<TSpec> = TSpec extends { client: infer TClass extends ClientClass }
  ? InstanceType<TClass>
  : TSpec extends ClientClass
    ? InstanceType<TSpec>
    : never

export type ClientsOf<TClients> = { readonly [TName in keyof TClients]: ClientOf<TClients[TName]> }

// Checks each `{ client, config }` definition's config against its own client class.
export type CheckedClients<TClients> = {
  [TName in keyof TClients]: TClients[TName] extends { client: infer TClass extends ClientClass }
    ? ClientDefinition<TClass>
    : ClientClass
}

export type SdkClientsContext<TClients, TKey extends string = 'clients'> = LambdaContext & {
  [K in TKey]: ClientsOf<TClients>
}

export type SdkClientsMiddleware<TClients, TKey extends string = 'clients'> = MiddlewareObj<
  unknown,
  // biome-ignore lint/suspicious/noExplicitAny: the middleware never looks at the result, as in Middy's own types
  any,
  Error,
  SdkClientsContext<TClients, TKey>
>
