// What `pnpm fleet` plays: a list of days, each against one kind of limit, each with the variants it
// knows. A day is one entry of scripts/fleet.ts's `days` (a database, a limit, its defaults); what it
// reports is printed as one table and drawn as one chart (chart.ts).
import type { FleetChart } from './chart.ts'
import type { DayOptions, DayReport } from './day.ts'

// What every day plays unless it says otherwise (or the command line does).
export const commonDay = {
  rounds: 2,
  waves: 3,
  trickleEnvironments: 8,
  trickleMs: 4_000,
  gapMs: 20_000,
  retireFraction: 0.25,
  timeoutMs: 6_000,
  // Lambda's smallest size: a hundred Node processes fit a 24 GiB machine with room to spare.
  memoryMb: 128,
  // Environments started at the same time (inits are CPU-bound: more only queue for the 2 cores).
  startConcurrency: 4,
}

// The command line's settings, each absent unless given (a day's own defaults apply then).
export interface FleetOverrides extends Partial<DayOptions> {
  // The limit the day plays against (max_connections, MAX_USER_CONNECTIONS, …).
  limit?: number
  // Extra @thaw options (JSON) for the thaw variant.
  thawOptions?: string
}

export interface FleetDayRun {
  // One line saying what was played (the table's heading).
  heading: string
  limit: FleetChart['limit']
  options: DayOptions
  reports: DayReport[]
}

export interface FleetDay {
  name: string
  variants: readonly string[]
  play(variants: string[], overrides: FleetOverrides, progress: (line: string) => void): Promise<FleetDayRun>
}

// A day's options: its defaults, with what the command line gave.
export const withOverrides = (defaults: DayOptions, overrides: FleetOverrides): DayOptions => {
  const options = { ...defaults }
  for (const key of Object.keys(defaults) as (keyof DayOptions)[]) {
    const value = overrides[key]
    if (value !== undefined) options[key] = value
  }
  return options
}
