// Ctrl-C (SIGINT) or SIGTERM while `pnpm fleet` plays a day: the day's private servers and pooler are
// stopped, and its environments killed, instead of left running. Without a handler Node ends at once
// on the signal: no `finally` runs and no 'exit' listener either, so lambda-sim's exit hook (which
// kills every environment's process group, frozen or not) never ran, and mariadbd, which ignores the
// terminal's SIGINT, went on with its data directory in /tmp.
const cleanups = new Set<() => Promise<unknown>>()

// How long the servers get to stop before the process exits anyway (a frozen peer cannot hold it).
const stopWithinMs = 15_000

/** `stop` runs on an interrupt until the returned function takes it back (the day's own finally). */
export const stopOnInterrupt = (stop: () => Promise<unknown>): (() => void) => {
  cleanups.add(stop)
  return () => cleanups.delete(stop)
}

let installed = false

export const installInterruptHandler = (): void => {
  if (installed) return
  installed = true
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    // once: a second Ctrl-C while the servers stop finds no listener and ends the process at once.
    process.once(signal, async () => {
      process.stderr.write(
        `\nfleet: ${signal}: stopping ${cleanups.size} database server(s) and every environment\n`,
      )
      let timer: NodeJS.Timeout | undefined
      const late = new Promise((resolve) => {
        timer = setTimeout(resolve, stopWithinMs)
      })
      await Promise.race([Promise.allSettled([...cleanups].map((stop) => stop())), late])
      clearTimeout(timer)
      // process.exit runs the 'exit' listeners: lambda-sim's kills the environments.
      process.exit(code)
    })
  }
}
