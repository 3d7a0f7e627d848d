// The runtime's stdout and stderr go to files, not pipes: a file holds every byte written before the
// runtime's next HTTP request to the Runtime API, so reading it then (synchronously) sees all of an
// invocation's lines in order, which a pipe read by events cannot promise. aws-lambda-ric 4.0.2 writes
// console output synchronously (process.stdout.write, fs.writeSync(1) in multi-concurrency mode), in
// its JSON log format when AWS_LAMBDA_LOG_FORMAT=JSON, one line per call, carrying the request id.
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { LogLine } from './types.ts'

const levels = new Set(['INFO', 'WARN', 'ERROR', 'DEBUG', 'TRACE', 'FATAL'])

// The ric's JSON line starts with these keys in this order (formatJsonMessage); the request id is read
// without parsing the line, so lines past the capture limit cost a match, not a JSON.parse.
const jsonLinePrefix = /^\{"timestamp":"[^"]*","level":"([A-Z]+)","requestId":"([^"]*)"/

export interface ParsedLine {
  requestId: string | undefined
  bytes: number
  line: () => LogLine | undefined
}

const parseLine = (text: string): ParsedLine => {
  const match = jsonLinePrefix.exec(text)
  if (!match || !levels.has(match[1] as string))
    return { requestId: undefined, bytes: text.length, line: () => undefined }
  return {
    requestId: match[2] === '-' ? undefined : match[2],
    bytes: text.length,
    line: () => {
      try {
        const parsed = JSON.parse(text) as { level: LogLine['level']; message?: unknown }
        const { message } = parsed
        return {
          level: parsed.level,
          message: typeof message === 'string' ? message : (JSON.stringify(message) ?? ''),
        }
      } catch {
        return undefined
      }
    },
  }
}

// The longest line kept whole; a longer one (no newline in sight) is cut, as CloudWatch cuts an event
// at 256 KB.
const maxLineCharacters = 256 * 1024
const readChunkBytes = 64 * 1024

class CapturedFile {
  readonly path: string
  readonly fd: number
  #offset = 0
  #partial = ''
  readonly #buffer = Buffer.allocUnsafe(readChunkBytes)

  constructor(path: string) {
    this.path = path
    this.fd = openSync(path, 'a+')
  }

  // Reads what was appended since the last call; calls onLine for each complete line.
  drain(onLine: (text: string) => void, flushPartial = false): void {
    for (;;) {
      const read = readSync(this.fd, this.#buffer, 0, readChunkBytes, this.#offset)
      if (read === 0) break
      this.#offset += read
      const text = this.#partial + this.#buffer.toString('utf8', 0, read)
      const lines = text.split('\n')
      this.#partial = lines.pop() as string
      for (const line of lines) onLine(line)
      if (this.#partial.length > maxLineCharacters) {
        onLine(this.#partial.slice(0, maxLineCharacters))
        this.#partial = ''
      }
    }
    if (flushPartial && this.#partial) {
      onLine(this.#partial)
      this.#partial = ''
    }
  }

  // Empties the file once everything in it has been read (only while nothing writes to it).
  reset(): void {
    if (fstatSync(this.fd).size === this.#offset) {
      ftruncateSync(this.fd, 0)
      this.#offset = 0
    }
  }

  close(): void {
    closeSync(this.fd)
    rmSync(this.path, { force: true })
  }
}

// One process's stdout and stderr.
export class RuntimeOutput {
  readonly stdout: CapturedFile
  readonly stderr: CapturedFile
  readonly #onStdoutLine: (parsed: ParsedLine, text: string) => void
  readonly #onStderrLine: (text: string) => void

  constructor(
    directory: string,
    name: string,
    onStdoutLine: (parsed: ParsedLine, text: string) => void,
    onStderrLine: (text: string) => void,
  ) {
    this.stdout = new CapturedFile(join(directory, `${name}.stdout`))
    this.stderr = new CapturedFile(join(directory, `${name}.stderr`))
    this.#onStdoutLine = onStdoutLine
    this.#onStderrLine = onStderrLine
  }

  drain(flushPartial = false): void {
    this.stdout.drain((text) => this.#onStdoutLine(parseLine(text), text), flushPartial)
    this.stderr.drain(this.#onStderrLine, flushPartial)
  }

  // While the runtime is frozen: nothing writes, so the files can start again from empty.
  reset(): void {
    this.stdout.reset()
    this.stderr.reset()
  }

  close(): void {
    this.drain(true)
    this.stdout.close()
    this.stderr.close()
  }
}
