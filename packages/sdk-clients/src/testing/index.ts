// Test support for thaw's users: a local Secrets Manager peer that real AWS SDK clients talk to.

export { type S3Peer, type S3PeerOptions, type S3PeerRequest, startS3Peer } from './s3-peer.ts'
export type { SecretValue } from './secret-store.ts'
export {
  type FailNextOptions,
  type PeerCall,
  type SecretsManagerPeer,
  type SecretsManagerPeerOptions,
  type SecretVersionInfo,
  type SetSecretOptions,
  startSecretsManagerPeer,
} from './secrets-manager-peer.ts'
