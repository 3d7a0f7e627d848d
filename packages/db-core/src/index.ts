// @thaw/db-core: what thaw's database middlewares share whatever the wire protocol. A driver package
// (db-connection for mysql2, pg-connection for node-postgres) adds the protocol: connect, validate,
// reset, cancel, and how its server's errors read.

export { connectionOnContext } from './context-connection.ts'
export {
  type ConfiguredEndpoint,
  type CredentialCounters,
  type CredentialSource,
  credentialCounters,
  credentialSource,
  parseRdsSecret,
} from './credentials.ts'
export { type LogLevel, logEvent } from './log.ts'
export { loadOptionalPeer } from './optional-peer.ts'
export {
  type AuthTokenParams,
  type ConnectRetryOptions,
  type ConnectRetrySettings,
  type CredentialSettings,
  connectRetryTable,
  fleetTable,
  type IamOptions,
  type InternalData,
  iamTable,
  internalDataTable,
  isPort,
  type SecretOptions,
  secretTable,
} from './options.ts'
export type {
  Credentials,
  DbDriver,
  DbLogEvent,
  DbLogger,
  RdsSignerModuleLike,
  SecretsManagerClientConfigLike,
  SecretsManagerModuleLike,
} from './types.ts'
export const packageName = '@thaw/db-core'
export { armStatementDeadline, type DeadlineOutcome, deadlineMessage } from './deadline.ts'
export { ConnectionPool, invocationDeadline, type PoolCounters, type PoolSettings } from './pool.ts'
export { type PoolRegistry, poolRegistry, type Registered } from './registry.ts'
export type { ConnectionAdapter, DbDriverErrors, ServerError } from './types.ts'
