// Waits with deadlines: a test on a busy machine may be slow, never stuck. Nothing here depends on a
// timer being punctual; a deadline only bounds how long a broken promise can hold a test.

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// Settles like `promise`, or rejects naming `what` once `ms` have passed.
export const withDeadline = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

// Polls `probe` until it returns something other than undefined, for at most `withinMs`; returns
// that value, or throws naming `what` with the last value seen.
export const waitFor = async <T>(
  probe: () => T | undefined | Promise<T | undefined>,
  { what, withinMs = 10_000, everyMs = 10 }: { what: string; withinMs?: number; everyMs?: number },
): Promise<T> => {
  const deadline = Date.now() + withinMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${withinMs} ms`)
    await sleep(everyMs)
  }
}
