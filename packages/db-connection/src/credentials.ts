// Where a new connection's user and password come from: @thaw/db-core's credential sources (Secrets
// Manager, request.internal, IAM), told that they serve mysql2 (port 3306, db-connection's errors).
import {
  type CredentialSettings,
  type CredentialSource,
  type Credentials,
  credentialCounters as coreCredentialCounters,
  credentialSource as coreCredentialSource,
  parseRdsSecret as coreParseRdsSecret,
  type DbDriver,
} from '@thaw/db-core'
import type { PoolOptions } from 'mysql2'
import { DbConnectionError, dbConnectionErrorCodes, packageName } from './errors.ts'

export type { CredentialSource, Credentials } from '@thaw/db-core'

const driver: DbDriver = {
  packageName,
  url: (import.meta as { url?: unknown }).url,
  defaultPort: 3306,
  credentialsError: (message, options) =>
    new DbConnectionError(dbConnectionErrorCodes.credentials, message, options),
}

export const parseRdsSecret = (secretId: string, text: string | undefined): Credentials =>
  coreParseRdsSecret(driver, secretId, text)

// The source for a configuration's credentials; `key` (the registry key, which never holds a
// password) names the secret's cache entry.
export const credentialSource = (settings: {
  credentials: CredentialSettings
  poolOptions: PoolOptions
  key: string
}): CredentialSource | undefined =>
  coreCredentialSource(driver, {
    credentials: settings.credentials,
    endpoint: settings.poolOptions,
    key: settings.key,
  })

// Secrets fetched and tokens signed for db-connection's pools, read by stats.ts.
export const credentialCounters = () => coreCredentialCounters(packageName)
