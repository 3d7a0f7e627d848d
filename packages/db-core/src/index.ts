// @thaw/db-core: what thaw's database middlewares share whatever the wire protocol. A driver package
// (db-connection for mysql2, pg-connection for node-postgres) adds the protocol: connect, validate,
// reset, cancel, and how its server's errors read.

export { connectionOnContext } from './context-connection.ts'
export {
  type ConfiguredConnection,
  type CredentialChoice,
  type CredentialOptionNames,
  type CredentialOptions,
  checkCredentials,
  configOption,
  configUrl,
  configurationLabel,
  type DriverBaseOptions,
  defaultsBesideCredentials,
  keyIgnoredNames,
  type SettingsBesideCredentials,
} from './credential-options.ts'
export {
  type ConfiguredEndpoint,
  type CredentialCounters,
  type CredentialSource,
  credentialCounters,
  credentialSource,
  parseRdsSecret,
} from './credentials.ts'
export { ConnectionLimitError, driverErrorCodes } from './driver-errors.ts'
export { type FinishableSession, finishOverdue } from './leased-sessions.ts'
export { type LogLevel, logEvent } from './log.ts'
export { type DbLogEventName, dbLogEvents } from './log-events.ts'
export { loadOptionalPeer } from './optional-peer.ts'
export {
  type AuthTokenParams,
  type ConnectRetryOptions,
  type ConnectRetrySettings,
  type CredentialSettings,
  connectRetryTable,
  credentialRows,
  fleetTable,
  type IamOptions,
  type InternalData,
  iamTable,
  internalDataTable,
  invocationRows,
  isPort,
  type SecretOptions,
  secretTable,
  serverLimitRows,
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
export { backOff, backoffDelay, invocationDeadline } from './connect-retry.ts'
export { type DeadlineOutcome, deadlineMessage, type StopCause } from './deadline.ts'
export { DeadlineWatch, type Watched } from './deadline-watch.ts'
export { type InvocationHooks, type InvocationSession, invocationHooks } from './invocation-middleware.ts'
export { ConnectionPool, type PoolCounters, type PoolSettings } from './pool.ts'
export { markHandled, quietRejection } from './quiet-rejection.ts'
export { type PoolRegistry, poolRegistry, type Registered } from './registry.ts'
export {
  runTransaction,
  type TransactionConnection,
  type TransactionScope,
  type TransactionStorage,
  type TransactionVerbs,
} from './transactions.ts'
export type { ConnectionAdapter, DbDriverErrors, ServerError } from './types.ts'
