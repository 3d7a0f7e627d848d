import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from '@jest/globals'
import { databaseName, databaseUrl, fixturesOf, samMemorySize } from '../src/index.ts'

const scratch = mkdtempSync(join(tmpdir(), 'test-support-fixtures-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const template = (name: string, text: string): URL => {
  const file = join(scratch, `${name}.yaml`)
  writeFileSync(file, text)
  return pathToFileURL(file)
}

describe('fixtures', () => {
  it('samMemorySize reads the one MemorySize of a template, and refuses none or two', () => {
    expect(
      samMemorySize(template('one', 'Resources:\n  Fn:\n    Properties:\n      MemorySize: 512\n')),
    ).toBe(512)
    expect(() => samMemorySize(template('none', 'Resources: {}\n'))).toThrow(
      /expected one MemorySize, found 0/,
    )
    expect(() => samMemorySize(template('two', '      MemorySize: 128\n      MemorySize: 256\n'))).toThrow(
      /expected one MemorySize, found 2/,
    )
    // The examples' own templates, which their tests read.
    for (const example of ['orders-api', 'all-together', 'report-from-s3']) {
      const size = samMemorySize(new URL(`../../../examples/${example}/template.yaml`, import.meta.url))
      expect(size).toBeGreaterThanOrEqual(128)
    }
  })

  it('fixturesOf names files beside the test file', () => {
    expect(fixturesOf(import.meta.url)('handler')).toBe(join(import.meta.dirname, 'fixtures', 'handler.ts'))
  })

  it('databaseName is the path of DATABASE_URL, decoded', () => {
    const previous = process.env.DATABASE_URL
    try {
      process.env.DATABASE_URL = 'mysql://root@127.0.0.1:3306/thaw%2Dtests'
      expect(databaseUrl()).toBe('mysql://root@127.0.0.1:3306/thaw%2Dtests')
      expect(databaseName()).toBe('thaw-tests')
    } finally {
      if (previous === undefined) delete process.env.DATABASE_URL
      else process.env.DATABASE_URL = previous
    }
  })
})
