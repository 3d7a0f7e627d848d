import type { fromTemporaryCredentials } from '@aws-sdk/credential-providers'
import type { AssumeRole } from './types.ts'

type TemporaryCredentialsProvider = ReturnType<typeof fromTemporaryCredentials>

// Credentials for an assumed role, from @aws-sdk/credential-providers: the provider calls STS
// AssumeRole on the client's first request (not at init), and the SDK's identity cache refreshes the
// credentials before they expire. No STS call is written here.
//
// The client's own `credentials` (if any) are the identity that assumes the role, and its region is
// the STS client's region; AWS_ENDPOINT_URL_STS points STS elsewhere for local tests.
//
// @aws-sdk/credential-providers is loaded on the first request that needs the role, not at init: few
// functions assume a role, and evaluating the module costs every cold start about 2 ms (measured here
// after @aws-sdk/client-s3, 3.1175). A bundler keeps it in the bundle and evaluates it only then. The
// SDK memoizes what a credentials function returns until its expiration, as with the provider itself.
export const withAssumedRole = (
  config: Record<string, unknown>,
  assumeRole: AssumeRole | undefined,
): Record<string, unknown> => {
  if (assumeRole === undefined) return config
  const params = typeof assumeRole === 'string' ? { RoleArn: assumeRole } : assumeRole
  const options: Parameters<typeof fromTemporaryCredentials>[0] = {
    params: { RoleSessionName: 'thaw-sdk-clients', ...params },
  }
  if (typeof config.region === 'string') options.clientConfig = { region: config.region }
  if (config.credentials !== undefined) {
    options.masterCredentials = config.credentials as NonNullable<typeof options.masterCredentials>
  }
  let provider: Promise<TemporaryCredentialsProvider> | undefined
  const assumedRoleCredentials: TemporaryCredentialsProvider = async (identityProperties) => {
    provider ??= import('@aws-sdk/credential-providers').then((module) =>
      module.fromTemporaryCredentials(options),
    )
    return (await provider)(identityProperties)
  }
  return { ...config, credentials: assumedRoleCredentials }
}
