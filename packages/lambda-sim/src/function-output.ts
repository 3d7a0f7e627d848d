// Where each line the runtime writes goes: a line that carries the request id of an invocation still
// running goes to that invocation's logs (./invocation.ts, capture); every other line (init, a timer
// after the answer, raw process.stdout.write, stderr) to the environment's output, of which the last
// 4 MiB are kept for assertions and error messages, not as a log store: a long benchmark or a chatty
// handler would otherwise grow it without bound. The oldest chunks go first.
import type { Invocation } from './invocation.ts'
import { maxOutputCharacters } from './limits.ts'
import type { ParsedLine } from './output.ts'

export class FunctionOutput {
  readonly chunks: string[] = []
  readonly #echo: boolean
  readonly #running = new Map<string, Invocation>()
  #characters = 0

  constructor(echo: boolean) {
    this.#echo = echo
  }

  track(invocation: Invocation): void {
    this.#running.set(invocation.requestId, invocation)
  }

  forget(invocation: Invocation): void {
    this.#running.delete(invocation.requestId)
  }

  stdoutLine(parsed: ParsedLine, text: string): void {
    if (this.#echo) process.stderr.write(`${text}\n`)
    const invocation = parsed.requestId === undefined ? undefined : this.#running.get(parsed.requestId)
    if (invocation && !invocation.settled && invocation.capture(parsed)) return
    const line = parsed.line()
    this.#append(line ? `${line.level}\t${line.message}\n` : `${text}\n`)
  }

  stderrLine(text: string): void {
    if (this.#echo) process.stderr.write(`${text}\n`)
    this.#append(`${text}\n`)
  }

  text(): string {
    return this.chunks.join('')
  }

  #append(text: string): void {
    this.chunks.push(text)
    this.#characters += text.length
    while (this.#characters > maxOutputCharacters && this.chunks.length > 1)
      this.#characters -= (this.chunks.shift() as string).length
  }
}
