// Loads an optional peer (@aws-sdk/client-secrets-manager for `secret`, @aws-sdk/rds-signer for
// `iam`) when the option that needs it is used, and never otherwise: @thaw/util's loadOptionalPeer
// says how and why not a literal import(). Looked for beside the driver package first (`driver.url`,
// its module's import.meta.url): that is where its user installed it.
import { loadOptionalPeer as loadPeer } from '@thaw/util'
import type { DbDriver } from './types.ts'

export const loadOptionalPeer = <Module>(driver: DbDriver, packageName: string, option: string): Module =>
  loadPeer<Module>(packageName, driver.url ?? (import.meta as { url?: unknown }).url, (cause) =>
    driver.credentialsError(
      `option '${option}' needs the package ${packageName}: install it (npm install ${packageName}), bundle it with ${option}: { …, sdk: () => import('${packageName}') }, or use a Lambda runtime that ships the AWS SDK v3`,
      { cause },
    ),
  )
