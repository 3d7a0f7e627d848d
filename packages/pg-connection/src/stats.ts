// pgConnectionStats(): a copy of this process's (thread's) counters, read from the modules that own
// them. Nothing here counts.
import { credentialCounters } from '@thaw/db-core'
import { packageName } from './errors.ts'
import { fleetCounters } from './fleet.ts'
import { poolsMade, registryCounters } from './registry.ts'
import { releaseCounters } from './release.ts'
import { sessionCounters } from './session.ts'
import type { PgConnectionStats } from './types.ts'

/**
 * What thaw did in this process so far (sessions opened, replaced, reset, given back, statements
 * stopped…), as counters: for a metrics line at the end of an invocation.
 * @example console.log(JSON.stringify(pgConnectionStats()))
 */
export const pgConnectionStats = (): PgConnectionStats => {
  const pools = {
    connectionsOpened: 0,
    reusedInvocations: 0,
    replacements: 0,
    validations: 0,
    rotationRetries: 0,
    backoffRetries: 0,
    errors: 0,
  }
  for (const pool of poolsMade()) {
    for (const name of Object.keys(pools) as (keyof typeof pools)[]) pools[name] += pool.counters[name]
  }
  const release = releaseCounters()
  const session = sessionCounters()
  const credentials = credentialCounters(packageName)
  return {
    pools: registryCounters().pools,
    connectionsOpened: pools.connectionsOpened,
    reusedInvocations: pools.reusedInvocations,
    replacements: pools.replacements,
    validations: pools.validations,
    resets: release.resets,
    rollbacks: release.rollbacks,
    abandoned: release.abandoned,
    deadlineStops: session.deadlineStops,
    deadlineUnconfirmed: session.deadlineUnconfirmed,
    errors: pools.errors + release.errors + session.errors,
    secretFetches: credentials.secretFetches,
    rotationRetries: pools.rotationRetries,
    backoffRetries: pools.backoffRetries,
    tokensSigned: credentials.tokensSigned,
    givenBack: fleetCounters().givenBack,
  }
}
