// dbConnectionStats(): a copy of this process's (thread's) counters, read from the modules that own
// them. Nothing here counts.
import { connectCounters } from './connect.ts'
import { credentialCounters } from './credentials.ts'
import { fleetCounters } from './fleet-hygiene.ts'
import { leaseCounters } from './lease.ts'
import { registryCounters } from './registry.ts'
import { releaseCounters } from './release.ts'
import { sessionCounters } from './session.ts'
import type { DbConnectionStats } from './types.ts'

/**
 * What thaw did in this process so far (connections opened, replaced, reset, given back, statements
 * stopped…), as counters: for a metrics line at the end of an invocation.
 * @example console.log(JSON.stringify(dbConnectionStats()))
 */
export const dbConnectionStats = (): DbConnectionStats => {
  const registry = registryCounters()
  const lease = leaseCounters()
  const release = releaseCounters()
  const connect = connectCounters()
  const credentials = credentialCounters()
  return {
    pools: registry.pools,
    connectionsOpened: registry.connectionsOpened,
    reusedInvocations: lease.reusedInvocations,
    replacements: registry.replacements,
    validations: lease.validations,
    resets: release.resets,
    abandoned: release.abandoned,
    deadlineStops: sessionCounters().deadlineStops,
    outcomesUnknown: sessionCounters().outcomesUnknown,
    errors: registry.errors + lease.errors + release.errors + sessionCounters().errors,
    secretFetches: credentials.secretFetches,
    rotationRetries: connect.rotationRetries,
    backoffRetries: connect.backoffRetries,
    givenBack: fleetCounters().givenBack,
    tokensSigned: credentials.tokensSigned,
  }
}
