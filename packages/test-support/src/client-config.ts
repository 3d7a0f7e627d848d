import type { S3ClientConfig } from '@aws-sdk/client-s3'
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager'
import type { S3Peer } from './s3-peer.ts'
import type { SecretsManagerPeer } from './secrets-manager-peer.ts'

// Static credentials for the Secrets Manager peer: it records the access key id and checks no
// signature, so a test can tell which identity signed a request.
export const testCredentials = {
  accessKeyId: 'AKIDTHAWTEST',
  secretAccessKey: 'thaw-test-secret',
}

// A SecretsManagerClient configuration that talks to the peer. maxAttempts 1: the SDK retries 5xx
// and throttling answers (checked against @aws-sdk/client-secrets-manager 3.1164), which would
// make a test that counts calls count retries too; `extra` overrides any of it.
export const peerConfig = (
  peer: Pick<SecretsManagerPeer, 'endpoint' | 'region'>,
  extra: SecretsManagerClientConfig = {},
): SecretsManagerClientConfig => ({
  region: peer.region,
  endpoint: peer.endpoint,
  credentials: testCredentials,
  maxAttempts: 1,
  ...extra,
})

// An S3Client configuration that talks to the S3 peer: path-style addressing (a bucket in the host
// name would need DNS for 127.0.0.1) and s3rver's own key pair, which it checks signatures against.
export const s3PeerConfig = (peer: Pick<S3Peer, 'endpoint' | 'credentials'>, extra: S3ClientConfig = {}) =>
  ({
    region: 'us-east-1',
    endpoint: peer.endpoint,
    forcePathStyle: true,
    credentials: peer.credentials,
    ...extra,
  }) satisfies S3ClientConfig
