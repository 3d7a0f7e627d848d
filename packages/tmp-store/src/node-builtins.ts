// Node's built-in modules, taken with process.getBuiltinModule (Node 22.3+) and not imported: the rest
// of tmp-store imports them from here.
//
// Why: a bundler (esbuild 0.28, Rollup) keeps `import { lstatSync } from 'node:fs'` in an ESM bundle,
// one imported binding per name and per importing module, and V8 (Node 24.21) resolves every global a
// lazily compiled function names (Promise, Error, process…) by walking the bundle's imported bindings
// one by one (ScopeInfo::ModuleIndex), each time a function of the bundle is first compiled, the AWS
// SDK's included. tmp-store's 50 named imports cost a cold start of examples/all-together about 5 M
// instructions that way (`cold-start.bench.ts --instructions --callgrind-out`), before tmp-store ran a
// line. The constants below are ordinary module variables, found through a hash table.
// None is named `createRequire` or `require`: the ESM banner AWS documents declares both, and an
// unminified bundle keeps these names (@thaw/util's node-builtins.ts says more;
// examples/first-bundle/test/banner.test.ts checks every package).

// Node 22.0 to 22.2 have no process.getBuiltinModule: a message that names the Node needed rather than
// "process.getBuiltinModule is not a function" from the line below.
if (typeof process.getBuiltinModule !== 'function')
  throw new Error(
    `@thaw/tmp-store needs Node 22.3 or later (process.getBuiltinModule); this is Node ${process.version}`,
  )

export const { createHash, hash, randomBytes } = process.getBuiltinModule('node:crypto')
export const {
  accessSync,
  close,
  closeSync,
  constants,
  createReadStream,
  existsSync,
  fstat,
  fstatSync,
  fsyncSync,
  futimes,
  futimesSync,
  linkSync,
  lstatSync,
  mkdirSync,
  open: openFd,
  openSync,
  read,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  rmdirSync,
  statfsSync,
  unlinkSync,
  write,
  writeSync,
} = process.getBuiltinModule('node:fs')
export const { lstat, lutimes, open } = process.getBuiltinModule('node:fs/promises')
export const { tmpdir } = process.getBuiltinModule('node:os')
export const { dirname, isAbsolute, join } = process.getBuiltinModule('node:path')
export const { Readable, Writable } = process.getBuiltinModule('node:stream')
export const { pipeline } = process.getBuiltinModule('node:stream/promises')
export const { setTimeout: sleep } = process.getBuiltinModule('node:timers/promises')
export const { threadId } = process.getBuiltinModule('node:worker_threads')

// The types the rest of tmp-store names (the two classes as types too).
export type { Hash } from 'node:crypto'
export type { Stats } from 'node:fs'
export type { FileHandle } from 'node:fs/promises'
export type Readable = import('node:stream').Readable
export type Writable = import('node:stream').Writable
