import type { Request } from '@middy/core'
import { type SdkClientsOptions, sdkClientsValidateOptions } from './options.ts'
import { acquire } from './registry.ts'
import type { AwsClient, CheckedClients, ClientSpec, SdkClientsMiddleware } from './types.ts'

/**
 * The middleware: builds the clients once, when it is constructed (the init phase: constructing a
 * client opens no connection, so nothing can be frozen in flight), and puts the same object on every
 * invocation's context. A destroyed client marks the middleware stale; the next invocation takes a
 * fresh one from the registry.
 * @example
 * export const handler = middy()
 *   .use(sdkClients({ clients: { s3: S3Client }, config: { region: 'eu-west-1' } }))
 *   .handler(async (event, context) => context.clients.s3.send(new GetObjectCommand({ Bucket, Key })))
 */
const sdkClients = <const TClients extends Record<string, ClientSpec>, TKey extends string = 'clients'>(
  opts: SdkClientsOptions<TClients, TKey> & { clients: CheckedClients<TClients> },
): SdkClientsMiddleware<TClients, TKey> => {
  const settings = sdkClientsValidateOptions(opts)
  const { contextKey } = settings

  const state: { clients: Record<string, AwsClient>; stale: boolean } = { clients: {}, stale: true }
  const markStale = () => {
    state.stale = true
  }

  // Returns the keep-alive checks still pending, if any; throws a failed one.
  const collect = (): Promise<void>[] => {
    const clients: Record<string, AwsClient> = {}
    const pending: Promise<void>[] = []
    for (const { name, path, clientClass, config, capture, assumeRole } of settings.clients) {
      const entry = acquire(clientClass, config, { capture, assumeRole, path: `${path}.config` })
      entry.owners.add(markStale)
      if (entry.failure) throw entry.failure
      if (entry.pendingCheck) pending.push(entry.pendingCheck)
      clients[name] = entry.client
    }
    state.clients = clients
    state.stale = pending.length > 0
    return pending
  }
  collect()

  // Off the hot path: after a destroy, or while a keep-alive check is still resolving.
  const refresh = async (request: Request) => {
    let pending = collect()
    while (pending.length > 0) {
      await Promise.all(pending)
      pending = collect()
    }
    ;(request.context as unknown as Record<string, unknown>)[contextKey] = state.clients
  }

  const sdkClientsMiddlewareBefore = (request: Request) => {
    if (state.stale) return refresh(request)
    ;(request.context as unknown as Record<string, unknown>)[contextKey] = state.clients
  }

  return { before: sdkClientsMiddlewareBefore } as SdkClientsMiddleware<TClients, TKey>
}

export default sdkClients
