// Where the runtime and its two Runtime API clients are: aws-lambda-ric's entry, its native client
// (rapid-client.node, present only where its install scripts built it), and the preload that gives it
// this package's JavaScript client instead.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

export const ricEntry = createRequire(import.meta.url).resolve('aws-lambda-ric')

export const nativeRuntimeClient = join(dirname(ricEntry), 'rapid-client.node')

export const nativeRuntimeClientIsBuilt = (): boolean => existsSync(nativeRuntimeClient)

// In this package's sources the preload is src/runtime-client/preload.js, beside this module; built,
// this module is part of dist/index.js and the preload is dist/runtime-client/preload.js, an entry
// point of its own (package.json, thaw.extraEntryPoints).
export const javascriptClientPreload = new URL(
  import.meta.url.endsWith('.ts') ? './preload.js' : './runtime-client/preload.js',
  import.meta.url,
).href

export type RuntimeClient = 'javascript' | 'native'

// The runtime's Node arguments for the client asked for: the JavaScript client is preloaded; the native
// one is aws-lambda-ric's own default.
export const runtimeClientArguments = (client: RuntimeClient): string[] =>
  client === 'javascript' ? ['--import', javascriptClientPreload] : []
