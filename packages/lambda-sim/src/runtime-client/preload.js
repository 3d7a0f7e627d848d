// Preloaded into the runtime's process (`node --import <this file> aws-lambda-ric/index.mjs`) and, as
// part of its execArgv, into each of the runtime's worker threads. aws-lambda-ric 4.0.2 loads its
// native Runtime API client once, in RAPIDClient.loadNativeClient, as
// `createRequire(import.meta.url)('./rapid-client.node')`; this hook answers that one require from
// aws-lambda-ric's own index.mjs with ./rapid-client.js, the same three functions written in
// JavaScript, so that the runtime needs no native build. Every other specifier resolves as it would.
// module.registerHooks: Node 22.15+ and 24 (synchronous hooks, which also see require()).
import { registerHooks } from 'node:module'

const javascriptClient = new URL('./rapid-client.js', import.meta.url).href

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === './rapid-client.node' && context.parentURL?.endsWith('/aws-lambda-ric/index.mjs'))
      return { url: javascriptClient, format: 'module', shortCircuit: true }
    return nextResolve(specifier, context)
  },
})
