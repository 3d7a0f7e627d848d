// How both drivers retry a connect the server refused for having too many connections, and by when
// connecting must have succeeded or given up: one rule, whichever pool (mysql2's or db-core's) opens.
import type { Request } from '@middy/core'
import { logEvent } from './log.ts'
import type { ConnectRetrySettings } from './options.ts'
import type { DbLogger } from './types.ts'

// The invocation's remaining time minus a margin (maxWaitMs outside an invocation).
export const invocationDeadline = (retry: ConnectRetrySettings, request: Request | undefined): number => {
  const remaining = request?.context?.getRemainingTimeInMillis?.()
  return Date.now() + (typeof remaining === 'number' ? remaining - retry.deadlineMarginMs : retry.maxWaitMs)
}

// The wait before the next connect: full jitter under a cap that doubles with every retry, so that
// environments refused at once do not come back at once. Undefined when waiting would reach the
// deadline: the caller gives up and says why.
export const backoffDelay = (
  retry: ConnectRetrySettings,
  retries: number,
  deadline: number,
): number | undefined => {
  const delay = Math.floor(Math.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** retries))
  return Date.now() + delay >= deadline ? undefined : delay
}

// Says the wait in the log, then waits it.
export const backOff = async (
  logger: DbLogger | undefined,
  label: string,
  delayMs: number,
  refusal: unknown,
): Promise<void> => {
  logEvent(logger, label, 'backoff', `too many connections: retrying in ${delayMs} ms`, refusal)
  await new Promise((resolve) => setTimeout(resolve, delayMs))
}
