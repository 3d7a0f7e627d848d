// Modules import down, never around (CONTRIBUTING.md): a circle of imports means two rooms that are
// really one, or a counter incremented from the wrong place. This reads every package's src/ and fails
// naming the first circle it finds.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from '@jest/globals'

const packagesDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return path.endsWith('.ts') ? [path] : []
  })

// Relative imports and re-exports, type-only ones included: a type circle is still a circle of ideas.
const importPattern = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm

const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(importPattern)].map((match) =>
    resolve(dirname(file), match[1] as string),
  )

const findCycle = (graph: Map<string, string[]>): string[] | undefined => {
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node]
    state.set(node, 'visiting')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next)
      if (cycle) return cycle
    }
    stack.pop()
    state.set(node, 'done')
    return undefined
  }
  for (const node of graph.keys()) {
    const cycle = visit(node)
    if (cycle) return cycle
  }
  return undefined
}

const packages = readdirSync(packagesDir).filter((name) => {
  try {
    return statSync(join(packagesDir, name, 'src')).isDirectory()
  } catch {
    return false
  }
})

describe('no import circles', () => {
  test('the check finds a circle when there is one', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', []],
    ])
    expect(findCycle(graph)).toEqual(['a', 'b', 'c', 'a'])
    expect(findCycle(new Map([['a', ['b']]]))).toBeUndefined()
  })

  test.each(packages)('%s/src imports down, never around', (name) => {
    const srcDir = join(packagesDir, name, 'src')
    const graph = new Map(sourceFiles(srcDir).map((file) => [file, importsOf(file)]))
    expect(graph.size).toBeGreaterThan(0)
    const cycle = findCycle(graph)
    expect(cycle?.map((file) => file.slice(packagesDir.length + 1)).join(' → ')).toBeUndefined()
  })
})
