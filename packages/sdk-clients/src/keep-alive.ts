// Keep-alive stays on (checked against @smithy/node-http-handler 4.14 and Node 24).
// @smithy/node-http-handler builds its agents with keepAlive true, but an Agent the user passes (as httpAgent/httpsAgent, in a requestHandler options object or in a
// NodeHttpHandler) is used as it is, and Node's `new https.Agent()` has keepAlive false: every
// request would then open a new TCP and TLS connection, in every invocation.
//
// thaw refuses such an agent rather than correcting it. Correcting would mean either flipping
// `keepAlive` on an Agent the caller owns (and may share with other code, with sockets already made
// under the old setting), or replacing it with a new Agent, which would silently drop whatever the
// caller made it for (a proxy, a CA bundle, TLS settings, maxSockets). A clear error at
// construction costs one edit; a silent rewrite could cost a security setting.

import { optionError } from '@thaw/util'
import { packageName, SdkClientsError, sdkClientsErrorCodes } from './errors.ts'

interface AgentLike {
  keepAlive?: unknown
  destroy?: unknown
}

const explain = (path: string): string =>
  `option '${path}' has keepAlive false, so every request would open a new connection. ` +
  `thaw refuses it rather than rewrite an Agent you own (it may carry a proxy or TLS settings): ` +
  `create it with { keepAlive: true }, or leave it out (the SDK's own agents keep connections alive).`

// An Agent instance, or agent options the SDK merges over { keepAlive: true }: true when it would
// turn keep-alive off.
const turnsKeepAliveOff = (agent: unknown): boolean => {
  if (agent === null || typeof agent !== 'object') return false
  if ((agent as AgentLike).keepAlive === false) return true
  // A real Agent created without keepAlive has it false; options without the key are merged over true.
  return typeof (agent as AgentLike).destroy === 'function' && (agent as AgentLike).keepAlive !== true
}

interface ResolvedHandlerConfig {
  httpsAgent?: unknown
  httpAgent?: unknown
  httpAgentProvider?: () => Promise<unknown>
}

// At validation: the agents that can be seen now (in requestHandler options, which the SDK passes
// to NodeHttpHandler.create). Throws the option's TypeError.
export const refuseAgentsWithoutKeepAlive = (
  config: Readonly<Record<string, unknown>>,
  path: string,
): void => {
  const requestHandler = config.requestHandler as Record<string, unknown> | undefined
  if (
    requestHandler === null ||
    typeof requestHandler !== 'object' ||
    typeof requestHandler.handle === 'function'
  )
    return
  for (const name of ['httpsAgent', 'httpAgent']) {
    const agentPath = `${path}.requestHandler.${name}`
    if (turnsKeepAliveOff(requestHandler[name])) throw optionError(packageName, agentPath, explain(agentPath))
  }
}

// When a client is built: a NodeHttpHandler instance keeps its resolved configuration behind a
// promise (configProvider, in @smithy/node-http-handler 4.14), so its agents are known a microtask
// later, well before the first invocation; the promise rejects with a SdkClientsError then. Other
// handlers (HTTP/2, fetch, custom ones) manage their own connections and are left alone.
export const keepAliveCheckOf = (
  config: Readonly<Record<string, unknown>>,
  path: string,
): Promise<void> | undefined => {
  const requestHandler = config.requestHandler as Record<string, unknown> | undefined
  if (
    requestHandler === null ||
    typeof requestHandler !== 'object' ||
    typeof requestHandler.handle !== 'function'
  )
    return undefined
  const configProvider = requestHandler.configProvider as Promise<ResolvedHandlerConfig> | undefined
  if (typeof configProvider?.then !== 'function') return undefined
  const handlerPath = `${path}.requestHandler (NodeHttpHandler)`
  return configProvider.then(async (resolved) => {
    // The http agent is made on first use; the provider is memoised, so asking for it now only
    // moves that work forward (no socket is opened).
    const agents = {
      httpsAgent: resolved.httpsAgent,
      httpAgent: resolved.httpAgent ?? (await resolved.httpAgentProvider?.()),
    }
    for (const [name, agent] of Object.entries(agents)) {
      if (turnsKeepAliveOff(agent))
        throw new SdkClientsError(sdkClientsErrorCodes.keepAliveOff, explain(`${handlerPath} ${name}`))
    }
  })
}
