// The registry: one pool per configuration, a closed one replaced, and at SIGTERM (a real signal to a
// real process) the pools that asked for it ended, within the shutdown deadline even when one never
// finishes ending, and the process left to exit only when nobody else listens.
import { spawn } from 'node:child_process'
import { describe, expect, it } from '@jest/globals'
import { fixturesOf, waitFor, withDeadline } from '@thaw/test-support'
import { poolRegistry } from '../src/index.ts'

const fixture = fixturesOf(import.meta.url)

describe('poolRegistry', () => {
  it('gives one pool per key, a new one once it is closed, and ends the ones picked', async () => {
    const registry = poolRegistry<{ name: string; closed: boolean; end(): Promise<void> }>()
    const ended: string[] = []
    let made = 0
    const create = () => {
      const entry = {
        name: `pool ${++made}`,
        closed: false,
        end: async () => {
          ended.push(entry.name)
        },
      }
      return entry
    }
    const first = registry.acquire('a', create, false)
    expect(registry.acquire('a', create, false)).toBe(first)
    const other = registry.acquire('b', create, false)
    expect(other).not.toBe(first)
    first.closed = true
    const replaced = registry.acquire('a', create, false)
    expect(replaced).not.toBe(first)
    expect(registry.created).toBe(3)
    await registry.closeAll((entry) => entry === other)
    expect(ended).toEqual(['pool 2'])
    // Forgotten once ended: the key gets a new pool.
    expect(registry.acquire('b', create, false)).not.toBe(other)
    await registry.closeAll()
    expect(ended.sort()).toEqual(['pool 2', 'pool 3', 'pool 4'])
  })
})

// Runs the fixture until 'ready', sends SIGTERM, and gives back its output and how it exited.
const terminate = async (...args: string[]) => {
  const child = spawn(process.execPath, [fixture('shutdown'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  try {
    await waitFor(() => (output.includes('ready') ? true : undefined), {
      what: 'the fixture ready',
      withinMs: 20_000,
    })
    child.kill('SIGTERM')
    const code = await withDeadline(exited, 20_000, 'the fixture’s exit after SIGTERM')
    return {
      code,
      ended: output
        .split('\n')
        .filter((line) => line.startsWith('ending '))
        .sort(),
    }
  } finally {
    child.kill('SIGKILL')
  }
}

describe('at SIGTERM', () => {
  it('ends the pools that asked for it and exits, though one never finishes ending', async () => {
    expect(await terminate()).toEqual({ code: 0, ended: ['ending asked', 'ending stuck'] })
  })

  it('leaves the exit to another SIGTERM listener', async () => {
    expect(await terminate('--other-listener')).toEqual({ code: 7, ended: ['ending asked', 'ending stuck'] })
  })
})
