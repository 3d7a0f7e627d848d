// Loads a package that only some options need (an AWS SDK module), when such an option is used and
// never otherwise, by a require of a name held in a variable.
//
// Why not `import('@aws-sdk/…')`: a bundler follows a literal dynamic import, so every handler carried
// the package's code whether it used the option or not (esbuild 0.28 bundles the target of a literal
// import() into the same file, evaluated lazily but parsed at every cold start), and failed to bundle
// ("Could not resolve") where it was not installed. A require of a variable is left alone by bundlers.
// An option that wants the package in the bundle takes an `sdk: () => import('…')` of its own.
//
// Resolved from the caller's module (the package installed beside it, or beside the bundle), then from
// the function's task root, where Lambda puts the deployment and its node_modules, then from the working
// directory; on Lambda, require() also searches NODE_PATH, which holds the AWS SDK the runtime ships
// (/var/runtime/node_modules).
import { join, requireFrom } from './node-builtins.ts'

const searchFrom = (callerUrl: unknown): string[] => {
  const roots = [process.env.LAMBDA_TASK_ROOT, process.cwd()].filter((root): root is string => !!root)
  // A CommonJS bundle has no import.meta.url (esbuild empties import.meta there): roots only.
  const own = typeof callerUrl === 'string' ? [callerUrl] : []
  return [...new Set([...own, ...roots.map((root) => join(root, 'noop.js'))])]
}

/**
 * The package's module, or the error `missing` makes of the last resolution failure. `callerUrl` is the
 * calling module's `import.meta.url` (the package is looked for beside it first).
 * @example
 * const { Signer } = loadOptionalPeer<typeof import('@aws-sdk/rds-signer')>(
 *   '@aws-sdk/rds-signer', import.meta.url, (cause) => new TypeError('install @aws-sdk/rds-signer', { cause }))
 */
export const loadOptionalPeer = <Module>(
  packageName: string,
  callerUrl: unknown,
  missing: (cause: unknown) => Error,
): Module => {
  let lastError: unknown
  for (const base of searchFrom(callerUrl)) {
    try {
      return requireFrom(base)(packageName) as Module
    } catch (error) {
      if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error
      lastError = error
    }
  }
  throw missing(lastError)
}
