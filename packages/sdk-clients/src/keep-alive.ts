import { packageName } from './options.ts'

// Keep-alive stays on. @smithy/node-http-handler builds its agents with keepAlive true, but an Agent
// the user passes (as httpAgent/httpsAgent, in a requestHandler options object or in a
// NodeHttpHandler) is used as it is, and Node's `new https.Agent()` has keepAlive false: every
// request would then open a new TCP and TLS connection, in every invocation.
//
// thaw refuses such an agent rather than correcting it. Correcting would mean either flipping
// `keepAlive` on an Agent the caller owns (and may share with other code, with sockets already made
// under the old setting), or replacing it with a new Agent, which would silently drop whatever the
// caller made it for (a proxy, a CA bundle, TLS settings, maxSockets). A clear error at
// construction costs one edit; a silent rewrite could cost a security setting.

interface AgentLike {
  keepAlive?: unknown
  destroy?: unknown
}

const explain = (path: string): string =>
  `${packageName}: option '${path}' has keepAlive false, so every request would open a new connection. ` +
  `thaw refuses it rather than rewrite an Agent you own (it may carry a proxy or TLS settings): ` +
  `create it with { keepAlive: true }, or leave it out (the SDK's own agents keep connections alive).`

// An Agent instance, or agent options the SDK merges over { keepAlive: true }.
const checkAgent = (agent: unknown, path: string): void => {
  if (agent === null || typeof agent !== 'object') return
  if ((agent as AgentLike).keepAlive === false)
    throw new TypeError(explain(path), { cause: { package: packageName } })
  // A real Agent created without keepAlive has it false; options without the key are merged over true.
  if (typeof (agent as AgentLike).destroy === 'function' && (agent as AgentLike).keepAlive !== true) {
    throw new TypeError(explain(path), { cause: { package: packageName } })
  }
}

interface ResolvedHandlerConfig {
  httpsAgent?: unknown
  httpAgent?: unknown
  httpAgentProvider?: () => Promise<unknown>
}

// Checks what can be seen now and returns a promise for what a NodeHttpHandler instance only
// reveals once its configuration has resolved (a microtask later, well before the first invocation).
export const checkKeepAlive = (config: Record<string, unknown>, path: string): Promise<void> | undefined => {
  const requestHandler = config.requestHandler as Record<string, unknown> | undefined
  if (requestHandler === null || typeof requestHandler !== 'object') return undefined
  const handlerPath = `${path}.requestHandler`
  if (typeof requestHandler.handle !== 'function') {
    // Options the SDK passes to NodeHttpHandler.create.
    checkAgent(requestHandler.httpsAgent, `${handlerPath}.httpsAgent`)
    checkAgent(requestHandler.httpAgent, `${handlerPath}.httpAgent`)
    return undefined
  }
  // A NodeHttpHandler keeps its resolved configuration behind a promise (configProvider). Other
  // handlers (HTTP/2, fetch, custom ones) manage their own connections and are left alone.
  const configProvider = requestHandler.configProvider as Promise<ResolvedHandlerConfig> | undefined
  if (typeof configProvider?.then !== 'function') return undefined
  return configProvider.then(async (resolved) => {
    checkAgent(resolved.httpsAgent, `${handlerPath} (NodeHttpHandler) httpsAgent`)
    // The http agent is made on first use; the provider is memoised, so asking for it now only
    // moves that work forward (no socket is opened).
    const httpAgent = resolved.httpAgent ?? (await resolved.httpAgentProvider?.())
    checkAgent(httpAgent, `${handlerPath} (NodeHttpHandler) httpAgent`)
  })
}
