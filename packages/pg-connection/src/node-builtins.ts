// Node's built-in modules, taken with process.getBuiltinModule (Node 22.3+) and not imported, as in
// every thaw package (see db-connection's node-builtins.ts for why).
if (typeof process.getBuiltinModule !== 'function')
  throw new Error(
    `@thaw/pg-connection needs Node 22.3 or later (process.getBuiltinModule); this is Node ${process.version}`,
  )

export const { AsyncLocalStorage } = process.getBuiltinModule('node:async_hooks')
