import { dbConnection } from './middleware.ts'

export default dbConnection

export type { Credentials } from './credentials.ts'
export {
  DbConnectionError,
  type DbConnectionErrorCode,
  DbConnectionLimitError,
  dbConnectionErrorCodes,
  packageName,
} from './errors.ts'
export { requireDb } from './middleware.ts'
export {
  type AuthTokenParams,
  type ConnectMode,
  type ConnectRetryOptions,
  type DbConnectionBaseOptions,
  type DbConnectionOptions,
  type DbConnectionSettings,
  dbConnectionDefaults,
  dbConnectionOptionTable,
  dbConnectionValidateOptions,
  type IamOptions,
  type InternalData,
  type ProxyMode,
  type ResetSessionPolicy,
  type SecretOptions,
} from './options.ts'
export { closePools } from './registry.ts'
export { dbConnectionStats } from './stats.ts'
export type {
  DbConnection,
  DbConnectionContext,
  DbConnectionLogEvent,
  DbConnectionLogger,
  DbConnectionMiddleware,
  DbConnectionStats,
  DbLeasedConnection,
} from './types.ts'
