import { configurationKey } from '@thaw/util'
import { withAssumedRole } from './credentials.ts'
import { keepAliveCheckOf } from './keep-alive.ts'
import { validateGetClientArguments } from './options.ts'
import type { AssumeRole, AwsClient, Capture, ClientClass, ClientConfig } from './types.ts'

// Values under these names are credentials: the registry key holds an HMAC of them (per-process
// key, @thaw/util's configurationKey), so two secret keys still get two clients while the key,
// which lives as long as the client, never carries the secret itself.
const secretNames: ReadonlySet<string> = new Set(['secretAccessKey', 'sessionToken'])

// One registry per process (per worker thread: module state is per thread), found through a global
// symbol so that two copies of this module in one bundle still share their clients.
interface Entry {
  key: string
  clientClass: ClientClass
  client: AwsClient
  destroyed: boolean
  // The client's request handler, whose sockets it may share with sibling clients.
  requestHandler: object | undefined
  // A keep-alive check that could not be done synchronously, and its outcome.
  pendingCheck: Promise<void> | undefined
  failure: unknown
  // Called when the entry is destroyed (middlewares holding it rebuild on their next invocation).
  owners: Set<() => void>
}

interface Registry {
  byClass: Map<ClientClass, Map<string, Entry>>
  handlerUsers: WeakMap<object, Set<Entry>>
  counts: { built: number; reused: number; destroyed: number }
}

// v2: keys from @thaw/util's configurationKey (credentials by HMAC), which v1 copies cannot read.
const registrySymbol = Symbol.for('@thaw/sdk-clients.registry.v2')
const globalScope = globalThis as typeof globalThis & { [registrySymbol]?: Registry }
globalScope[registrySymbol] ??= {
  byClass: new Map(),
  handlerUsers: new WeakMap(),
  counts: { built: 0, reused: 0, destroyed: 0 },
}
const registry: Registry = globalScope[registrySymbol]

export interface GetClientOptions {
  capture?: Capture | undefined
  assumeRole?: AssumeRole | undefined
  // The option path named in errors.
  path?: string
}

export interface ClientHandle<TClient extends AwsClient = AwsClient> {
  readonly client: TClient
  readonly entry: Entry
}

// Destroying a client closes its request handler's sockets, which every client built with the same
// handler shares: that is done only once no live client of the registry uses the handler any more.
// The entry leaves the registry either way, so the next request for it builds a new client.
const destroyEntry = (entry: Entry, originalDestroy: () => void): void => {
  if (entry.destroyed) return
  entry.destroyed = true
  registry.counts.destroyed++
  const byKey = registry.byClass.get(entry.clientClass)
  if (byKey?.get(entry.key) === entry) byKey.delete(entry.key)
  const users = entry.requestHandler ? registry.handlerUsers.get(entry.requestHandler) : undefined
  users?.delete(entry)
  if (!users || users.size === 0) originalDestroy()
  for (const notify of entry.owners) notify()
}

const build = (
  clientClass: ClientClass,
  config: Readonly<Record<string, unknown>>,
  key: string,
  options: GetClientOptions,
) => {
  // Agents in requestHandler options were refused at validation; a NodeHttpHandler's are known
  // once its configuration resolves.
  const pendingCheck = keepAliveCheckOf(config, options.path ?? 'config')
  const raw = new clientClass(withAssumedRole(config, options.assumeRole))
  const entry: Entry = {
    key,
    clientClass,
    client: raw,
    destroyed: false,
    requestHandler: (raw as { config?: { requestHandler?: object } }).config?.requestHandler,
    pendingCheck: undefined,
    failure: undefined,
    owners: new Set(),
  }
  if (pendingCheck) {
    entry.pendingCheck = pendingCheck.then(
      () => {
        entry.pendingCheck = undefined
      },
      (error: unknown) => {
        entry.pendingCheck = undefined
        entry.failure = error
      },
    )
  }
  // The SDK has no "destroyed" flag to read, so destroy is intercepted on the instance itself.
  const originalDestroy = raw.destroy.bind(raw)
  raw.destroy = function thawDestroy() {
    destroyEntry(entry, originalDestroy)
  }
  if (entry.requestHandler) {
    let users = registry.handlerUsers.get(entry.requestHandler)
    if (!users) {
      users = new Set()
      registry.handlerUsers.set(entry.requestHandler, users)
    }
    users.add(entry)
  }
  // Wrapped once, after destroy is in place, so a wrapper forwards to it.
  entry.client = options.capture ? options.capture(raw) : raw
  registry.counts.built++
  return entry
}

// The role as it goes into the key: `sdk` says where a module comes from, not which role, so an inline
// `() => import(…)` on every getClient call finds the same client. Only assumeRole's own `sdk` is left
// out; a property of that name in a client's config still counts.
const roleOf = (assumeRole: AssumeRole | undefined) => {
  if (typeof assumeRole !== 'object') return assumeRole
  const { sdk: _sdk, ...role } = assumeRole
  return role
}

// The entry for a class and a configuration already validated (settings, never options).
export const acquire = (
  clientClass: ClientClass,
  config: Readonly<Record<string, unknown>>,
  options: GetClientOptions = {},
): Entry => {
  const key = configurationKey(
    { config, capture: options.capture, assumeRole: roleOf(options.assumeRole) },
    secretNames,
  )
  let byKey = registry.byClass.get(clientClass)
  if (!byKey) {
    byKey = new Map()
    registry.byClass.set(clientClass, byKey)
  }
  const existing = byKey.get(key)
  if (existing && !existing.destroyed) {
    registry.counts.reused++
    return existing
  }
  const entry = build(clientClass, config, key, options)
  byKey.set(key, entry)
  return entry
}

/**
 * The shared client for a class and configuration, for code outside a middleware (another thaw
 * middleware, a module-scope helper). The same arguments give the same instance, until destroyed.
 * @example const s3 = getClient(S3Client, { region: 'eu-west-1' }) // the instance sdkClients would give
 */
export const getClient = <TClass extends ClientClass>(
  clientClass: TClass,
  config?: ClientConfig<TClass>,
  options: Omit<GetClientOptions, 'path'> = {},
): InstanceType<TClass> => {
  const checked = validateGetClientArguments(clientClass, config, options)
  const entry = acquire(checked.clientClass, checked.config, {
    capture: checked.capture,
    assumeRole: checked.assumeRole,
  })
  if (entry.failure) throw entry.failure
  return entry.client as InstanceType<TClass>
}

// The registry's counters, for stats.ts.
export const registryCounts = (): { built: number; reused: number; destroyed: number; live: number } => {
  let live = 0
  for (const byKey of registry.byClass.values()) live += byKey.size
  return { ...registry.counts, live }
}

/**
 * Destroys every client the registry holds (at SIGTERM, or between tests); returns how many.
 * @example process.on('SIGTERM', () => { destroyClients() })
 */
export const destroyClients = (): number => {
  const entries = [...registry.byClass.values()].flatMap((byKey) => [...byKey.values()])
  for (const entry of entries) entry.client.destroy()
  return entries.length
}
