// Loads an optional peer (@aws-sdk/client-secrets-manager for `secret`, @aws-sdk/rds-signer for
// `iam`) when the option that needs it is used, and never otherwise: @thaw/util's loadOptionalPeer
// says how and why not a literal import().
import { loadOptionalPeer as loadPeer } from '@thaw/util'
import { DbConnectionError, dbConnectionErrorCodes } from './errors.ts'

export const loadOptionalPeer = <Module>(packageName: string, option: string): Module =>
  loadPeer<Module>(
    packageName,
    (import.meta as { url?: unknown }).url,
    (cause) =>
      new DbConnectionError(
        dbConnectionErrorCodes.credentials,
        `option '${option}' needs the package ${packageName}: install it (npm install ${packageName}) or use a Lambda runtime that ships the AWS SDK v3`,
        { cause },
      ),
  )
