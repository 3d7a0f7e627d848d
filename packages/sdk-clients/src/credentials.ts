import type { fromTemporaryCredentials } from '@aws-sdk/credential-providers'
import { loadOptionalPeer } from '@thaw/util'
import { SdkClientsError, sdkClientsErrorCodes } from './errors.ts'
import type { AssumeRole, CredentialProvidersModule } from './types.ts'

type TemporaryCredentialsProvider = ReturnType<typeof fromTemporaryCredentials>

// Credentials for an assumed role, from @aws-sdk/credential-providers: the provider calls STS
// AssumeRole on the client's first request (not at init), and the SDK's identity cache refreshes the
// credentials before they expire. No STS call is written here.
//
// The client's own `credentials` (if any) are the identity that assumes the role, and its region is
// the STS client's region; AWS_ENDPOINT_URL_STS points STS elsewhere for local tests.
//
// @aws-sdk/credential-providers is loaded on the first request that needs the role, not at init, and
// by default through @thaw/util's loadOptionalPeer, which bundlers leave alone: a literal import() put
// its 22 KiB (with the STS and Cognito clients it brings) into every bundle that used sdk-clients or
// db-connection, role or not, and parsing them cost report-from-s3's cold start 5 M instructions (0.8 %,
// counted with valgrind; scripts/bench/cold-start.bench.ts --instructions). It is a dependency of this
// package, so an install with node_modules finds it; a bundle finds the copy the Lambda runtime ships,
// or carries its own with `assumeRole: { RoleArn, sdk: () => import('@aws-sdk/credential-providers') }`.
// The SDK memoizes what a credentials function returns until its expiration, as with the provider itself.
const loadCredentialProviders = (sdk: (() => Promise<CredentialProvidersModule>) | undefined) =>
  sdk
    ? sdk()
    : loadOptionalPeer<CredentialProvidersModule>(
        '@aws-sdk/credential-providers',
        (import.meta as { url?: unknown }).url,
        (cause) =>
          new SdkClientsError(
            sdkClientsErrorCodes.missingPeer,
            "option 'assumeRole' needs the package @aws-sdk/credential-providers: install it (npm install @aws-sdk/credential-providers), or bundle it with assumeRole: { RoleArn, sdk: () => import('@aws-sdk/credential-providers') }",
            { cause },
          ),
      )

export const withAssumedRole = (
  config: Record<string, unknown>,
  assumeRole: AssumeRole | undefined,
): Record<string, unknown> => {
  if (assumeRole === undefined) return config
  // `sdk` says where the module comes from; it is no parameter of AssumeRole.
  const { sdk, ...params } = typeof assumeRole === 'string' ? { RoleArn: assumeRole } : assumeRole
  const options: Parameters<typeof fromTemporaryCredentials>[0] = {
    params: { RoleSessionName: 'thaw-sdk-clients', ...params },
  }
  if (typeof config.region === 'string') options.clientConfig = { region: config.region }
  if (config.credentials !== undefined) {
    options.masterCredentials = config.credentials as NonNullable<typeof options.masterCredentials>
  }
  let provider: Promise<TemporaryCredentialsProvider> | undefined
  const assumedRoleCredentials: TemporaryCredentialsProvider = async (identityProperties) => {
    // A package that cannot be found stays an error for the life of the environment: an install
    // fault, not a transient one.
    provider ??= Promise.resolve()
      .then(() => loadCredentialProviders(sdk))
      .then((module) => module.fromTemporaryCredentials(options))
    return (await provider)(identityProperties)
  }
  return { ...config, credentials: assumedRoleCredentials }
}
