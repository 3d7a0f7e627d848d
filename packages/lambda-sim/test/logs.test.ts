// A log line is kept whole up to CloudWatch Logs' event size (256 KB, 262,144 bytes of the runtime's
// JSON line); a longer one is kept cut to it, on a whole character, and what was cut off is counted in
// logsDropped and said in a last WARN line. Checked on the capture itself by generators, and through
// the runtime.
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { maxLogLineBytes } from '../src/limits.ts'
import { RuntimeOutput } from '../src/output.ts'
import { shutdownStartedEnvironments, startTestEnvironment } from './helpers.ts'

afterAll(shutdownStartedEnvironments)

describe("the capture of a runtime's output", () => {
  it('gives every line back whole up to 256 KB, and cut on a whole character past it, counting the cut', () => {
    const directory = mkdtempSync(join(tmpdir(), 'thaw-lambda-sim-logs-test-'))
    try {
      // Lines of ASCII, two-, three- and four-byte characters, around the cut; written in pieces, as
      // a runtime's writes land between two reads.
      const line = fc
        .tuple(
          fc.constantFrom('a', 'ß', '水', '🐍'),
          fc.integer({ min: 0, max: 100_000 }),
          fc.string({ maxLength: 3 }),
        )
        .map(([unit, count, tail]) => unit.repeat(count) + tail.replaceAll('\n', ' '))
      fc.assert(
        fc.property(fc.array(line, { maxLength: 5 }), fc.integer({ min: 1, max: 5 }), (lines, pieces) => {
          const seen: Array<{ text: string; bytes: number; cutBytes: number }> = []
          const output = new RuntimeOutput(
            directory,
            'property',
            (parsed, text) => seen.push({ text, bytes: parsed.bytes, cutBytes: parsed.cutBytes }),
            () => undefined,
          )
          const written = Buffer.from(lines.map((text) => `${text}\n`).join(''))
          const size = Math.ceil(written.length / pieces)
          for (let start = 0; start < written.length; start += size) {
            appendFileSync(output.stdout.path, written.subarray(start, start + size))
            output.drain()
          }
          output.close()
          expect(seen).toHaveLength(lines.length)
          lines.forEach((text, index) => {
            const got = seen[index] as { text: string; bytes: number; cutBytes: number }
            const bytes = Buffer.byteLength(text)
            expect(got.bytes + got.cutBytes).toBe(bytes)
            expect(got.bytes).toBe(Buffer.byteLength(got.text))
            if (bytes <= maxLogLineBytes) expect(got).toEqual({ text, bytes, cutBytes: 0 })
            else {
              expect(text.startsWith(got.text)).toBe(true)
              // Cut on a whole character: at most three bytes short of the limit.
              expect(got.bytes).toBeLessThanOrEqual(maxLogLineBytes)
              expect(got.bytes).toBeGreaterThan(maxLogLineBytes - 4)
            }
          })
        }),
        { numRuns: 60 },
      )
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })
})

describe("an invocation's logs", () => {
  it.each([
    ['300 KiB', 300 * 1024, 'x'],
    ['1 MiB', 1024 * 1024, 'x'],
    ['1 MiB of three-byte characters', 350_000, '水'],
  ])('keep a line of %s cut to 256 KB, and count what was cut', async (_, characters, unit) => {
    const environment = await startTestEnvironment('long-lines', { timeoutMs: 10_000, memoryMb: 256 })
    const outcome = await environment.invoke({ characters, unit })
    expect(outcome).toMatchObject({ ok: true, result: 'logged' })
    const messages = outcome.logs.map((line) => line.message)
    expect(messages[0]).toBe('before')
    const cut = messages[1] as string
    expect(cut.length).toBeGreaterThan(0)
    expect(unit.repeat(characters).startsWith(cut)).toBe(true)
    expect(messages[2]).toBe('after')
    // The runtime's JSON line around the message: its bytes and the cut bytes make the whole line.
    const lineBytes = Buffer.byteLength(JSON.stringify(unit.repeat(characters)))
    expect(outcome.logsDropped).toMatchObject({ lines: 0, cutLines: 1 })
    expect(outcome.logsDropped?.bytes).toBeGreaterThan(lineBytes - maxLogLineBytes)
    expect(outcome.logsDropped?.bytes).toBeLessThan(lineBytes - maxLogLineBytes + 200)
    expect(outcome.logs.at(-1)).toEqual({
      level: 'WARN',
      message: `@thaw/lambda-sim: 1 log line was cut to ${maxLogLineBytes} bytes, CloudWatch Logs' event size (${outcome.logsDropped?.bytes} bytes not kept)`,
    })
  })

  it('keep a line just under 256 KB whole', async () => {
    const environment = await startTestEnvironment('long-lines', { timeoutMs: 10_000 })
    const outcome = await environment.invoke({ characters: 250 * 1024 })
    expect(outcome.logs.map((line) => line.message)).toEqual(['before', 'x'.repeat(250 * 1024), 'after'])
    expect(outcome.logsDropped).toBeUndefined()
  })
})
