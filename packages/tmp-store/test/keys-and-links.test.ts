import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { cleanUp, run, scratchDir, startStoreEnvironment, storeDirOf } from './helpers.ts'

afterAll(cleanUp)

const hostileKeys = [
  '../../etc/passwd',
  '/abs',
  'a/../../b',
  '\0',
  'x\0../../y',
  '..',
  '.',
  '',
  'k'.repeat(20_000),
  'ключ/模型/🧊.bin',
  'C:\\Windows\\system32',
]

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((name) => join(dir, name))

describe('keys and the file system', () => {
  it('keeps every hostile key inside the directory, and each round-trips', async () => {
    const environment = await startStoreEnvironment()
    const storeDir = storeDirOf(environment.tmpDir)
    for (const [index, key] of hostileKeys.entries())
      expect(await run(environment, { op: 'put', key, size: 100 + index })).toMatchObject({
        size: 100 + index,
      })
    for (const [index, key] of hostileKeys.entries())
      expect(await run(environment, { op: 'get', key })).toEqual({
        found: true,
        intact: true,
        size: 100 + index,
      })
    // Nothing but the store's own files, all directly in its directory, and nothing beside it.
    expect(readdirSync(environment.tmpDir)).toEqual(['thaw-tmp-store'])
    // and the ledger of committed bytes.
    const files = filesUnder(storeDir).filter((file) => !file.endsWith('/.budget'))
    expect(files).toHaveLength(hostileKeys.length * 2)
    for (const file of files) expect(relative(storeDir, file)).toMatch(/^[0-9a-f]{64}\.(data|meta)$/)
    const paths = await Promise.all(hostileKeys.map((key) => run(environment, { op: 'path', key })))
    for (const { path } of paths) expect(String(path).startsWith(`${storeDir}/`)).toBe(true)
  })

  it('never follows a symlink planted in the directory', async () => {
    const environment = await startStoreEnvironment()
    await run(environment, { op: 'put', key: 'warm-up', size: 1 })
    const storeDir = storeDirOf(environment.tmpDir)
    const secret = join(scratchDir('secret'), 'secret.txt')
    writeFileSync(secret, 'do not serve me')
    const hash = createHash('sha256').update('planted').digest('hex')
    symlinkSync(secret, join(storeDir, `${hash}.data`))
    writeFileSync(
      join(storeDir, `${hash}.meta`),
      JSON.stringify({ v: 1, key: 'planted', size: 15, createdAt: Date.now() }),
    )
    expect(await run(environment, { op: 'get', key: 'planted' })).toEqual({ found: false, intact: false })
    expect(await run(environment, { op: 'has', key: 'planted' })).toEqual({ has: false })
    expect(await run(environment, { op: 'path', key: 'planted' })).toEqual({ path: null })
    // The link is dropped, its target untouched, and a real entry can take the key.
    expect(existsSync(join(storeDir, `${hash}.data`))).toBe(false)
    expect(readFileSync(secret, 'utf8')).toBe('do not serve me')
    expect(await run(environment, { op: 'getOrFetch', key: 'planted', size: 5 })).toMatchObject({
      hit: false,
      size: 5,
    })
  })
})
