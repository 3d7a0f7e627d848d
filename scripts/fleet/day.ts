// One variant's day with a fleet of classic environments (frozen between their invocations, as
// Lambda does): all started before the day (a warmed fleet), then per round a burst (every active
// environment invoked at once, `waves` times back to back), a trickle (a few environments kept busy,
// the rest frozen), an idle gap, and a scale-down (a quarter of the environments never invoked
// again: Lambda stops routing to them and reclaims them later, their sessions left as they were).
// The next round starts that many new environments (cold starts during the burst's build-up).
// The day ends with one more trickle after the last gap.
import { type LambdaEnvironment, startEnvironment } from '@thaw/lambda-sim'
import type { FleetTimelinePoint } from './chart.ts'
import type { FleetEvent, FleetResult } from './handlers/event.ts'
import type { PgFleetServer } from './pg-server.ts'
import { type FleetServer, type Sample, type Sampler, startBystander, startSampler } from './server.ts'

export interface DayOptions {
  environments: number
  rounds: number
  waves: number
  workMs: number
  trickleEnvironments: number
  trickleMs: number
  gapMs: number
  retireFraction: number
  timeoutMs: number
  memoryMb: number
  bystanderSessions: number
  // Environments started at the same time (inits are CPU-bound: more only queue for the 2 cores).
  startConcurrency: number
}

export interface DayReport {
  variant: string
  invocations: number
  failed: number
  failures: Map<string, number>
  peak: Sample
  average: Sample
  // The worst over the day's gaps, sampled at each gap's end (nothing running).
  afterGap: Sample
  // The most environment sessions seen while `trickleEnvironments` ran after the last gap.
  duringLastTrickle: number
  p50Ms: number
  p99Ms: number
  bystanderKilled: number
  durationS: number
  // The fleet's sessions and the failures so far, about twice a second (the chart's data).
  timeline: FleetTimelinePoint[]
}

interface Member {
  environment: LambdaEnvironment
  running: boolean
  lastThreadId: number | undefined
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const trickleEveryMs = 200

export const runDay = async (
  variant: string,
  entry: string,
  server: FleetServer | PgFleetServer,
  options: DayOptions,
  env: Record<string, string>,
  progress: (line: string) => void,
): Promise<DayReport> => {
  const started = performance.now()
  const members: Member[] = []
  const durations: number[] = []
  const failures = new Map<string, number>()
  let invocations = 0
  let failed = 0
  let phase = 'starting'
  let last: Sample = { server: 0, environments: 0, heldByFrozen: 0 }
  const timeline: FleetTimelinePoint[] = []

  const bystander =
    'pg' in server
      ? await server.startBystander(options.bystanderSessions)
      : await startBystander(server.appUrl, options.bystanderSessions)
  const frozenSessions = () => {
    const ids = new Set<number>()
    for (const member of members) if (!member.running && member.lastThreadId) ids.add(member.lastThreadId)
    return ids
  }
  const sampler: Sampler =
    'pg' in server
      ? server.startSampler(bystander.threadIds, frozenSessions)
      : startSampler(server.admin, bystander.threadIds, frozenSessions)
  const show = () =>
    progress(
      `[${variant}] ${phase} · ${members.length} environments · ${invocations} invocations, ${failed} failed · server ${last.server}/${server.maxConnections} sessions, ${last.heldByFrozen} held by frozen environments`,
    )
  const ticker = setInterval(async () => {
    last = await sampler.now().catch(() => last)
    timeline.push({
      variant,
      seconds: (performance.now() - started) / 1000,
      held: last.environments,
      failed,
    })
    show()
  }, 500)

  const startMembers = async (count: number) => {
    let next = 0
    const worker = async () => {
      while (next < count) {
        next++
        const environment = await startEnvironment({
          entry,
          prebuilt: true,
          timeoutMs: options.timeoutMs,
          memoryMb: options.memoryMb,
          functionName: `fleet-${variant}`,
          env: { DATABASE_URL: server.appUrl, ...env },
        })
        members.push({ environment, running: false, lastThreadId: undefined })
      }
    }
    await Promise.all(Array.from({ length: Math.min(count, options.startConcurrency) }, worker))
  }

  const invoke = async (member: Member) => {
    member.running = true
    const outcome = await member.environment.invoke<FleetResult>({
      workMs: options.workMs,
    } satisfies FleetEvent)
    member.running = false
    invocations++
    durations.push(outcome.durationMs)
    if (outcome.ok) {
      member.lastThreadId = outcome.result.threadId
    } else {
      failed++
      const kind = `${outcome.error.name}: ${outcome.error.message.replace(/\d+/g, 'N').slice(0, 90)}`
      failures.set(kind, (failures.get(kind) ?? 0) + 1)
    }
  }

  const trickle = async (active: Member[], onSample?: (sample: Sample) => void) => {
    const until = performance.now() + options.trickleMs
    const busy = active.slice(0, options.trickleEnvironments)
    const watcher = (async () => {
      while (onSample && performance.now() < until) {
        onSample(await sampler.now())
        await sleep(100)
      }
    })()
    await Promise.all(
      busy.map(async (member) => {
        // A steady trickle: one request every trickleEveryMs per environment, however fast it fails.
        while (performance.now() < until) {
          const next = performance.now() + trickleEveryMs
          await invoke(member)
          await sleep(Math.max(0, next - performance.now()))
        }
      }),
    )
    await watcher
  }

  const afterGap: Sample = { server: 0, environments: 0, heldByFrozen: 0 }
  let duringLastTrickle = 0
  try {
    show()
    await startMembers(options.environments)
    let active = [...members]
    const retireCount = Math.floor(options.environments * options.retireFraction)
    for (let round = 1; round <= options.rounds; round++) {
      if (round > 1) {
        phase = `round ${round}/${options.rounds}: starting ${retireCount} new environments`
        const before = members.length
        await startMembers(retireCount)
        active = [...active, ...members.slice(before)]
      }
      for (let wave = 1; wave <= options.waves; wave++) {
        phase = `round ${round}/${options.rounds}: burst, wave ${wave}/${options.waves}`
        await Promise.all(active.map(invoke))
      }
      phase = `round ${round}/${options.rounds}: trickle`
      await trickle(active)
      phase = `round ${round}/${options.rounds}: idle gap`
      await sleep(options.gapMs)
      const sample = await sampler.now()
      for (const key of Object.keys(afterGap) as (keyof Sample)[])
        afterGap[key] = Math.max(afterGap[key], sample[key])
      // Scale-down: the environments that were not trickling longest are no longer invoked.
      active = active.slice(0, active.length - retireCount)
    }
    phase = 'last trickle'
    await trickle(active, (sample) => {
      duringLastTrickle = Math.max(duringLastTrickle, sample.environments)
    })
  } finally {
    clearInterval(ticker)
    phase = 'shutting down'
    show()
    await sampler.stop()
    await Promise.all(members.map((member) => member.environment.shutdown()))
    await bystander.stop()
  }
  const sorted = [...durations].sort((a, b) => a - b)
  return {
    variant,
    invocations,
    failed,
    failures,
    peak: sampler.peak(),
    average: sampler.average(),
    afterGap,
    duringLastTrickle,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    bystanderKilled: bystander.killed(),
    durationS: (performance.now() - started) / 1000,
    timeline,
  }
}
