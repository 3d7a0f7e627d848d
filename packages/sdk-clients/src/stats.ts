import { registryCounts } from './registry.ts'

export interface SdkClientsStats {
  // Clients constructed (a destroyed client that is asked for again counts again).
  built: number
  // Requests served by a client the registry already held.
  reused: number
  destroyed: number
  // Clients held now.
  live: number
}

/**
 * A copy of this process's counters (this thread's: module state is per worker thread).
 * @example const { built, reused, live } = sdkClientsStats()
 */
export const sdkClientsStats = (): SdkClientsStats => registryCounts()
