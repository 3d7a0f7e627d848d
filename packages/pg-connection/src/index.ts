import { pgConnection } from './middleware.ts'

export default pgConnection

export type { Credentials } from '@thaw/db-core'
export {
  PgConnectionError,
  type PgConnectionErrorCode,
  PgConnectionLimitError,
  packageName,
  pgConnectionErrorCodes,
} from './errors.ts'
export { requireDb } from './middleware.ts'
export {
  type AuthTokenParams,
  type ConnectMode,
  type ConnectRetryOptions,
  type IamOptions,
  type InternalData,
  type PgConfig,
  type PgConnectionBaseOptions,
  type PgConnectionOptions,
  type PgConnectionSettings,
  type ProxyMode,
  pgConnectionDefaults,
  pgConnectionOptionTable,
  pgConnectionValidateOptions,
  type ResetSessionPolicy,
  type SecretOptions,
} from './options.ts'
export { closePools } from './registry.ts'
export { pgConnectionStats } from './stats.ts'
export type {
  PgConnection,
  PgConnectionContext,
  PgConnectionLogEvent,
  PgConnectionLogger,
  PgConnectionMiddleware,
  PgConnectionStats,
  PgLeasedConnection,
  PgQueryable,
} from './types.ts'
