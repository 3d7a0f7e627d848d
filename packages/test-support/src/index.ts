export {
  assertBadOptionsRefused,
  type BadOption,
  badOption,
  badValues,
  misspeltOption,
  refusalOf,
  withOption,
} from './bad-options.ts'
export { peerConfig, s3PeerConfig, testCredentials } from './client-config.ts'
export { databaseName, databaseUrl, fixturesOf, samMemorySize } from './fixtures.ts'
export {
  inOrderAsked,
  type MiddlewareOrderEvent,
  readsTheDatabase,
  wrongOrderErrors,
} from './middleware-order.ts'
export { importWithoutGetBuiltinModule } from './node-version.ts'
export { type PrivateMariadb, type PrivateMariadbOptions, startPrivateMariadb } from './private-mariadb.ts'
export { processCpuMs, waitUntilStopped } from './process-cpu.ts'
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
export { type StartedThings, type Stoppable, startedThings } from './started.ts'
export { sleep, waitFor, withDeadline } from './waits.ts'
