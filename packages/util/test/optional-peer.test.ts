import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from '@jest/globals'
import { loadOptionalPeer } from '../src/index.ts'

// A package only some options need, required by a name held in a variable: from beside the caller,
// then from the function's task root, then from the working directory; a package that is nowhere
// becomes the caller's own error, and one that fails while loading keeps its error.

const previousTaskRoot = process.env.LAMBDA_TASK_ROOT
const roots: string[] = []
afterEach(() => {
  if (previousTaskRoot === undefined) delete process.env.LAMBDA_TASK_ROOT
  else process.env.LAMBDA_TASK_ROOT = previousTaskRoot
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

// A task root with node_modules/<name>/index.js holding `source`.
const taskRootWith = (name: string, source: string) => {
  const root = mkdtempSync(join(tmpdir(), 'thaw-util-peer-'))
  roots.push(root)
  mkdirSync(join(root, 'node_modules', name), { recursive: true })
  writeFileSync(join(root, 'node_modules', name, 'index.js'), source)
  return root
}

const missing = (cause: unknown) => Object.assign(new Error('the caller says what to install'), { cause })

describe('loadOptionalPeer', () => {
  it('loads the package from beside the caller', () => {
    const fastCheck = loadOptionalPeer<{ assert: unknown }>('fast-check', import.meta.url, missing)
    expect(typeof fastCheck.assert).toBe('function')
  })

  it("looks in the function's task root when the caller has no URL (a CommonJS bundle)", () => {
    process.env.LAMBDA_TASK_ROOT = taskRootWith(
      'thaw-peer-in-task-root',
      'module.exports = { where: "task root" }',
    )
    expect(loadOptionalPeer('thaw-peer-in-task-root', undefined, missing)).toEqual({ where: 'task root' })
  })

  it("gives the caller's error, with the resolution failure as its cause, for a package that is nowhere", () => {
    process.env.LAMBDA_TASK_ROOT = taskRootWith('something-else', 'module.exports = {}')
    let thrown: unknown
    try {
      loadOptionalPeer('thaw-no-such-package', import.meta.url, missing)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ message: 'the caller says what to install' })
    expect((thrown as { cause?: { code?: string } }).cause?.code).toBe('MODULE_NOT_FOUND')
  })

  it('keeps the error of a package that is found and fails while loading', () => {
    process.env.LAMBDA_TASK_ROOT = taskRootWith(
      'thaw-peer-that-throws',
      'throw new RangeError("broken install")',
    )
    expect(() => loadOptionalPeer('thaw-peer-that-throws', undefined, missing)).toThrow(
      new RangeError('broken install'),
    )
  })
})
