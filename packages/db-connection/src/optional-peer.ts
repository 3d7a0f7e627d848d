// Loads an optional peer (@aws-sdk/client-secrets-manager for `secret`, @aws-sdk/rds-signer for
// `iam`) when the option that needs it is used, and never otherwise.
//
// Why require() with a name held in a variable rather than `import('@aws-sdk/…')`: a bundler follows
// a literal dynamic import, so every handler using db-connection failed to bundle with esbuild
// ("Could not resolve") unless both peers were installed, and carried their code when they were
// (checked with esbuild 0.28). A require of a variable is left alone by bundlers, so a handler with
// `config` alone bundles with neither peer and carries none of their code.
//
// Resolved from this module's own location, then from the function's task root, where Lambda puts
// the deployment and its node_modules, then from the working directory; on Lambda, require() also searches NODE_PATH, which holds the
// AWS SDK the runtime ships (/var/runtime/node_modules), so an SDK client left out of the bundle
// (esbuild `external: ['@aws-sdk/*']`) is found there.
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { DbConnectionError, dbConnectionErrorCodes } from './errors.ts'

// This module's own URL where there is one (ESM, bundled or not: the peer installed beside the
// package, or beside the bundle); a CommonJS bundle has none (esbuild empties import.meta there).
const ownUrl = (): string | undefined => {
  const url = (import.meta as { url?: unknown }).url
  return typeof url === 'string' ? url : undefined
}

const searchFrom = (): string[] => {
  const roots = [process.env.LAMBDA_TASK_ROOT, process.cwd()].filter((root): root is string => !!root)
  const own = ownUrl()
  return [...new Set([...(own ? [own] : []), ...roots.map((root) => join(root, 'noop.js'))])]
}

export const loadOptionalPeer = <Module>(packageName: string, option: string): Module => {
  let lastError: unknown
  for (const base of searchFrom()) {
    try {
      return createRequire(base)(packageName) as Module
    } catch (error) {
      if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error
      lastError = error
    }
  }
  throw new DbConnectionError(
    dbConnectionErrorCodes.credentials,
    `option '${option}' needs the package ${packageName}: install it (npm install ${packageName}) or use a Lambda runtime that ships the AWS SDK v3`,
    { cause: lastError },
  )
}
