// Node's built-in modules, taken with process.getBuiltinModule (Node 22.3+) and not imported: a bundler
// keeps a named import of a built-in as an import of the ESM bundle, and V8 (Node 24.21) walks a
// bundle's imported bindings one by one for every global that a function compiled at a cold start
// names, the AWS SDK's functions included (measured in docs/benchmarks.md's cold start section). These are
// ordinary module variables.
//
// No top-level binding here (or anywhere in thaw) is named `createRequire` or `require`: the banner AWS
// documents for ESM bundles (`import { createRequire } from 'module'; const require =
// createRequire(import.meta.url);`) is text esbuild does not parse, so a bundled module's top-level
// `createRequire` kept its name beside the banner's and the bundle failed at init with "SyntaxError:
// Identifier 'createRequire' has already been declared" whenever it was not minified (CDK's
// NodejsFunction default, SAM's `Minify: false`). esbuild 0.28 renames only names it sees collide.

// Node 22.0 to 22.2 have no process.getBuiltinModule: a message that names the Node needed rather than
// "process.getBuiltinModule is not a function" from the line below.
if (typeof process.getBuiltinModule !== 'function')
  throw new Error(
    `@thaw/util needs Node 22.3 or later (process.getBuiltinModule); this is Node ${process.version}`,
  )

export const { createHmac, randomBytes } = process.getBuiltinModule('node:crypto')
export const { createRequire: requireFrom } = process.getBuiltinModule('node:module')
export const { join } = process.getBuiltinModule('node:path')
