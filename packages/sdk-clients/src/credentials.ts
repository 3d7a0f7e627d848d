import { fromTemporaryCredentials } from '@aws-sdk/credential-providers'
import type { AssumeRole } from './types.ts'

// Credentials for an assumed role, from @aws-sdk/credential-providers: the provider calls STS
// AssumeRole on the client's first request (not at init), and the SDK's identity cache refreshes the
// credentials before they expire. No STS call is written here.
//
// The client's own `credentials` (if any) are the identity that assumes the role, and its region is
// the STS client's region; AWS_ENDPOINT_URL_STS points STS elsewhere for local tests.
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
  return { ...config, credentials: fromTemporaryCredentials(options) }
}
