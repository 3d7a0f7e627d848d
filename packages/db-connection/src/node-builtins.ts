// Node's built-in modules, taken with process.getBuiltinModule (Node 22.3+) and not imported: a bundler
// keeps a named import of a built-in as an import of the ESM bundle, and V8 (Node 24.21) walks a
// bundle's imported bindings one by one for every global that a function compiled at a cold start
// names, the AWS SDK's functions included (measured in docs/benchmarks.md's cold start section). These are
// ordinary module variables.
// None is named `createRequire` or `require`: the ESM banner AWS documents declares both, and an
// unminified bundle keeps these names (@thaw/util's node-builtins.ts says more;
// examples/first-bundle/test/banner.test.ts checks every package).

// Node 22.0 to 22.2 have no process.getBuiltinModule: a message that names the Node needed rather than
// "process.getBuiltinModule is not a function" from the line below.
if (typeof process.getBuiltinModule !== 'function')
  throw new Error(
    `@thaw/db-connection needs Node 22.3 or later (process.getBuiltinModule); this is Node ${process.version}`,
  )

export const { AsyncLocalStorage } = process.getBuiltinModule('node:async_hooks')
export type { Socket } from 'node:net'
