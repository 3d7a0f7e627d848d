// By generators: `get(k)` returns exactly the bytes `put(k)` stored, or nothing, for
// arbitrary keys (lone surrogates, U+FFFD, NUL, slashes, any code point) and values, over any sequence
// of put / get / getOrFetch / delete / has / path on two stores sharing one directory with a budget
// small enough that entries are evicted all the time. Ill-formed keys are refused with
// THAW_TMP_STORE_INVALID_KEY by every method, and never reach another key's entry.
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { TmpStore, TmpStoreError } from '../src/index.ts'
import { cleanUp, scratchDir } from './helpers.ts'

afterAll(cleanUp)

const isWellFormed = (key: string) => (key as unknown as { isWellFormed(): boolean }).isWellFormed()
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

// Code units that break naive keying (lone surrogates, their UTF-8 stand-in U+FFFD), path characters,
// and any code point.
const keyArbitrary = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uFFFD', '/', '.', '\0', 'a'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 5,
})

const bytesOf = (key: string, version: number, size: number): Buffer => {
  const seed = Buffer.from(`${version}\0${key}`, 'utf8')
  return Buffer.from(Array.from({ length: size }, (_, i) => (seed[i % seed.length] ?? 0) ^ (i & 0xff)))
}

type Op =
  | { op: 'put' | 'getOrFetch'; key: number; size: number; store: number }
  | { op: 'get' | 'delete' | 'has' | 'path'; key: number; store: number }

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom('put' as const, 'getOrFetch' as const),
    key: fc.nat(5),
    size: fc.integer({ min: 0, max: 400 }),
    store: fc.nat(1),
  }),
  fc.record({
    op: fc.constantFrom('get' as const, 'delete' as const, 'has' as const, 'path' as const),
    key: fc.nat(5),
    store: fc.nat(1),
  }),
)

const refusedAsInvalidKey = async (call: () => Promise<unknown>) => {
  const error = await call().then(
    () => undefined,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(TmpStoreError)
  expect((error as TmpStoreError).code).toBe('THAW_TMP_STORE_INVALID_KEY')
}

describe('keys, by generators', () => {
  it('get(k) is exactly what put(k) stored, or nothing; ill-formed keys are refused everywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(keyArbitrary, { minLength: 1, maxLength: 6 }),
        fc.array(opArbitrary, { minLength: 1, maxLength: 25 }),
        async (keys, ops) => {
          const dir = scratchDir('keys')
          // Two stores over one directory (two instances, as two handlers or a reopened store); 1000
          // bytes of budget against values up to 400: eviction all the time.
          const stores = [new TmpStore({ dir, maxBytes: 1000 }), new TmpStore({ dir, maxBytes: 1000 })]
          // What each key holds now: the digest of its last stored version; undefined when deleted.
          const current = new Map<string, string | undefined>()
          let version = 0
          for (const step of ops) {
            const key = keys[step.key % keys.length] as string
            const store = stores[step.store] as TmpStore
            if (!isWellFormed(key)) {
              const size = 'size' in step ? step.size : 1
              await refusedAsInvalidKey(async () => {
                switch (step.op) {
                  case 'put':
                    return store.put(key, bytesOf(key, 0, size))
                  case 'getOrFetch':
                    return store.getOrFetch(key, () => bytesOf(key, 0, size))
                  default:
                    return store[step.op](key)
                }
              })
              continue
            }
            switch (step.op) {
              case 'put': {
                const bytes = bytesOf(key, ++version, step.size)
                expect((await store.put(key, bytes)).size).toBe(step.size)
                current.set(key, sha256(bytes))
                break
              }
              case 'getOrFetch': {
                const bytes = bytesOf(key, ++version, step.size)
                const entry = await store.getOrFetch(key, () => bytes)
                if (!entry.hit) current.set(key, sha256(bytes))
                // A hit serves the version the model holds; a miss stored the fetched bytes.
                expect(sha256(readFileSync(entry.path))).toBe(current.get(key))
                break
              }
              case 'get': {
                const bytes = await store.get(key)
                // Evicted is allowed (the budget), anything else than the last version is not.
                if (bytes !== undefined) expect(sha256(bytes)).toBe(current.get(key))
                break
              }
              case 'has':
              case 'path': {
                const found = await store[step.op](key)
                if (!current.get(key)) expect(found === false || found === undefined).toBe(true)
                break
              }
              case 'delete':
                await store.delete(key)
                current.set(key, undefined)
                break
            }
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  it("a lone surrogate never reaches U+FFFD's entry (they encode to the same UTF-8)", async () => {
    const store = new TmpStore({ dir: scratchDir('surrogates') })
    await store.put('\uFFFD', 'replacement character')
    for (const key of ['\uD800', '\uDBFF', '\uDC00', 'a\uD800b']) {
      await refusedAsInvalidKey(() => store.get(key))
      await refusedAsInvalidKey(() => store.delete(key))
    }
    expect((await store.get('\uFFFD'))?.toString()).toBe('replacement character')
    // A well-formed pair is one code point, and a key like any other.
    await store.put('\uD83D\uDE00', 'grinning face')
    expect((await store.get('\uD83D\uDE00'))?.toString()).toBe('grinning face')
    expect((await store.get('\uFFFD'))?.toString()).toBe('replacement character')
  })

  it('keys are their code units, never normalized: the NFC and NFD (and NFKC) forms of one word are different entries (by generators)', async () => {
    // Words with letters that Unicode composes and decomposes (é is U+00E9 or e + U+0301; ﬁ is one
    // ligature or f + i under NFKC): normalizing a key before hashing or comparing it would make
    // two keys a caller keeps apart name one entry.
    const letter = fc.constantFrom(
      'e\u0301',
      '\u00E9',
      'A\u030A',
      '\u00C5',
      '\uFB01',
      'n\u0303',
      'a',
      'z',
      ' ',
    )
    const store = new TmpStore({ dir: scratchDir('normalization') })
    await fc.assert(
      fc.asyncProperty(
        fc
          .string({ unit: letter, minLength: 1, maxLength: 6 })
          .filter((word) => word.normalize('NFKC') !== word.normalize('NFD')),
        async (word) => {
          const forms = [...new Set([word.normalize('NFC'), word.normalize('NFD'), word.normalize('NFKC')])]
          for (const [i, key] of forms.entries()) await store.put(key, `form ${i}`)
          for (const [i, key] of forms.entries()) {
            expect((await store.get(key))?.toString()).toBe(`form ${i}`)
            expect(await store.getOrFetch(key, () => 'fetched')).toMatchObject({ hit: true })
          }
          for (const key of forms) expect(await store.delete(key)).toBe(true)
        },
      ),
      { numRuns: 40, examples: [['\u00E9']] },
    )
  })

  it("metadata naming another form of the key, planted under this form's name, is another key's entry: never served", async () => {
    // The compare as well as the hash must be of code units: é (U+00E9) is not e + U+0301.
    const dir = scratchDir('normalization-planted')
    const store = new TmpStore({ dir })
    const [composed, decomposed] = ['\u00E9t\u00E9', 'e\u0301te\u0301']
    await store.put(composed, 'summer')
    const data = join(dir, `${sha256(Buffer.from(composed, 'utf8'))}.data`)
    writeFileSync(
      `${data.slice(0, -'.data'.length)}.meta`,
      JSON.stringify({ v: 1, key: decomposed, size: 6, createdAt: Date.now() }),
    )
    const fresh = new TmpStore({ dir })
    expect(await fresh.get(composed)).toBeUndefined()
    expect(await fresh.has(composed)).toBe(false)
    expect(readFileSync(data, 'utf8')).toBe('summer')
  })
})
