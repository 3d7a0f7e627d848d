// Node's built-in modules, taken with process.getBuiltinModule (Node 22.3+) and not imported: a bundler
// keeps a named import of a built-in as an import of the ESM bundle, and V8 (Node 24.21) walks a
// bundle's imported bindings one by one for every global that a function compiled at a cold start
// names, the AWS SDK's functions included (measured in the README's cold start section). These are
// ordinary module variables.
export const { AsyncLocalStorage } = process.getBuiltinModule('node:async_hooks')
export type { Socket } from 'node:net'
