// The runtime's stdout and stderr go to files, not pipes: a file holds every byte written before the
// runtime's next HTTP request to the Runtime API, so reading it then (synchronously) sees all of an
// invocation's lines in order, which a pipe read by events cannot promise. aws-lambda-ric 4.0.2 writes
// console output synchronously (process.stdout.write, fs.writeSync(1) in multi-concurrency mode), in
// its JSON log format when AWS_LAMBDA_LOG_FORMAT=JSON, one line per call, carrying the request id.
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { maxLogLineBytes } from './limits.ts'
import type { LogLine } from './types.ts'

const levels = new Set(['INFO', 'WARN', 'ERROR', 'DEBUG', 'TRACE', 'FATAL'])

// The ric's JSON line starts with these keys in this order (formatJsonMessage); the request id is read
// without parsing the line, so lines past the capture limit cost a match, not a JSON.parse.
const jsonLinePrefix = /^\{"timestamp":"[^"]*","level":"([A-Z]+)","requestId":"([^"]*)"/

export interface ParsedLine {
  requestId: string | undefined
  // The line's bytes as kept, and the bytes cut off it (0 for a line kept whole).
  bytes: number
  cutBytes: number
  line: () => LogLine | undefined
}

// The message of a line cut inside its JSON: the ric writes "message" right after the request id, so
// the cut keeps its start. A string message is decoded up to the cut (a half escape at the end is
// left out); any other (an object the ric wrote as JSON) is given as the text kept.
const cutMessage = (text: string): string | undefined => {
  const key = text.indexOf('"message":', text.indexOf('"requestId":'))
  if (key < 0) return undefined
  const value = text.slice(key + '"message":'.length)
  if (!value.startsWith('"')) return value
  const body = value.slice(1).replace(/\\(u[0-9a-fA-F]{0,3})?$/, '')
  for (const candidate of [body, body.replace(/(^|[^\\])(\\\\)*\\$/, '$1$2')]) {
    try {
      return JSON.parse(`"${candidate}"`) as string
    } catch {
      // An odd number of backslashes at the end: the second candidate leaves the last one out.
    }
  }
  return undefined
}

export const parseLine = (text: string, bytes: number, cutBytes: number): ParsedLine => {
  const match = jsonLinePrefix.exec(text)
  if (!match || !levels.has(match[1] as string))
    return { requestId: undefined, bytes, cutBytes, line: () => undefined }
  const level = match[1] as LogLine['level']
  return {
    requestId: match[2] === '-' ? undefined : match[2],
    bytes,
    cutBytes,
    line: () => {
      if (cutBytes > 0) {
        const message = cutMessage(text)
        return message === undefined ? undefined : { level, message }
      }
      try {
        const { message } = JSON.parse(text) as { message?: unknown }
        return { level, message: typeof message === 'string' ? message : (JSON.stringify(message) ?? '') }
      } catch {
        return undefined
      }
    },
  }
}

const readChunkBytes = 64 * 1024
const newline = 0x0a

// A line cut at a byte count may end inside a UTF-8 character: leave that character out.
const withoutPartialCharacter = (bytes: Buffer): Buffer => {
  let start = bytes.length - 1
  // Continuation bytes (10xxxxxx) belong to the character whose lead byte comes before them.
  while (start > 0 && ((bytes[start] as number) & 0xc0) === 0x80) start--
  const lead = (bytes[start] as number | undefined) ?? 0
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1
  return start + length > bytes.length ? bytes.subarray(0, start) : bytes
}

class CapturedFile {
  readonly path: string
  readonly fd: number
  #offset = 0
  // The line being read: its first bytes (up to the longest line kept), and how many bytes past them.
  #kept: Buffer[] = []
  #keptBytes = 0
  #pastBytes = 0
  readonly #buffer = Buffer.allocUnsafe(readChunkBytes)

  constructor(path: string) {
    this.path = path
    this.fd = openSync(path, 'a+')
  }

  #add(bytes: Buffer): void {
    const room = maxLogLineBytes - this.#keptBytes
    if (bytes.length <= room) {
      this.#kept.push(Buffer.from(bytes))
      this.#keptBytes += bytes.length
      return
    }
    this.#kept.push(Buffer.from(bytes.subarray(0, room)))
    this.#keptBytes += room
    this.#pastBytes += bytes.length - room
  }

  #endLine(onLine: (text: string, bytes: number, cutBytes: number) => void): void {
    const whole = Buffer.concat(this.#kept)
    const kept = this.#pastBytes > 0 ? withoutPartialCharacter(whole) : whole
    onLine(kept.toString('utf8'), kept.length, this.#pastBytes + whole.length - kept.length)
    this.#kept = []
    this.#keptBytes = 0
    this.#pastBytes = 0
  }

  // Reads what was appended since the last call; calls onLine for each complete line (split on the
  // newline byte, which is never part of a multi-byte UTF-8 character, so no character is split).
  drain(onLine: (text: string, bytes: number, cutBytes: number) => void, flushPartial = false): void {
    for (;;) {
      const read = readSync(this.fd, this.#buffer, 0, readChunkBytes, this.#offset)
      if (read === 0) break
      this.#offset += read
      let start = 0
      for (
        let end = this.#buffer.indexOf(newline, start);
        end >= 0 && end < read;
        end = this.#buffer.indexOf(newline, start)
      ) {
        this.#add(this.#buffer.subarray(start, end))
        this.#endLine(onLine)
        start = end + 1
      }
      if (start < read) this.#add(this.#buffer.subarray(start, read))
    }
    if (flushPartial && this.#keptBytes + this.#pastBytes > 0) this.#endLine(onLine)
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
    this.stdout.drain(
      (text, bytes, cutBytes) => this.#onStdoutLine(parseLine(text, bytes, cutBytes), text),
      flushPartial,
    )
    this.stderr.drain((text) => this.#onStderrLine(text), flushPartial)
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
