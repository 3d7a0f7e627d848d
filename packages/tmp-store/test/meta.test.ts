import { readdirSync } from 'node:fs'
import { Readable } from 'node:stream'
import { afterAll, describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { type TmpEntryInfo, TmpStore, TmpStoreError } from '../src/index.ts'
import { cleanUp, scratchDir } from './helpers.ts'

// An entry's metadata (its key and the meta a put or a fetch gave it) is what a later call reads back
// through `validate`. The store refuses metadata it could not serve back (not an object of strings, or
// over the 1 MiB a reader accepts as JSON) before it writes anything: before this check, such an entry
// was stored, counted against the budget, and never found again.

afterAll(cleanUp)

const mebibyte = 1024 * 1024

const newStore = () => new TmpStore({ dir: scratchDir('meta'), maxBytes: 16 * mebibyte })

// The meta a later getOrFetch sees for a key, through validate (undefined when nothing is served).
const servedMeta = async (store: TmpStore, key: string) => {
  let seen: TmpEntryInfo | undefined
  const entry = await store.getOrFetch(key, () => 'fetched again', {
    validate: (info) => {
      seen = info
      return true
    },
  })
  return entry.hit ? seen?.meta : undefined
}

const entriesIn = (store: TmpStore) => readdirSync(store.dir).filter((name) => /\.(data|meta)$/.test(name))

const invalidMeta = (message: RegExp) =>
  expect.objectContaining({ code: 'THAW_TMP_STORE_INVALID_META', message: expect.stringMatching(message) })

describe('metadata the store could not serve back is refused before anything is written', () => {
  it('meta over 1 MiB, or a key that long: THAW_TMP_STORE_INVALID_META, no file, no budget used', async () => {
    const store = newStore()
    const big = { etag: 'x'.repeat(mebibyte) }
    await expect(store.put('k', 'data', { meta: big })).rejects.toEqual(
      invalidMeta(
        /^@thaw\/tmp-store: put's option 'meta' for key "k" must be under 1048576 bytes as JSON together with its key/,
      ),
    )
    await expect(store.put('k'.repeat(mebibyte + 1), 'data')).rejects.toBeInstanceOf(TmpStoreError)
    await expect(store.getOrFetch('f', () => ({ data: 'data', meta: big }))).rejects.toEqual(
      invalidMeta(/^@thaw\/tmp-store: the meta that fetch resolved with for key "f"/),
    )
    expect(entriesIn(store)).toEqual([])
    expect(store.stats().bytes).toBe(0)
    // The store still works, and a fetch for the refused key runs again.
    expect(await store.getOrFetch('f', () => ({ data: 'data', meta: { etag: '1' } }))).toMatchObject({
      hit: false,
    })
    expect(await servedMeta(store, 'f')).toEqual({ etag: '1' })
  })

  it('meta that is not a plain object of strings is refused with what it was', async () => {
    const store = newStore()
    const cases: [unknown, RegExp][] = [
      [{ version: 3 }, /a plain object of strings, got number at "version"/],
      [{ nested: { a: 'b' } }, /got object at "nested"/],
      [['a'], /got an array/],
      [null, /got null/],
      ['etag', /got string/],
      [new Map([['a', 'b']]), /got object/],
    ]
    for (const [meta, message] of cases)
      await expect(store.put('k', 'data', { meta: meta as Record<string, string> })).rejects.toEqual(
        invalidMeta(message),
      )
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    await expect(store.getOrFetch('k', () => ({ data: 'data', meta: cycle as never }))).rejects.toEqual(
      invalidMeta(/got object at "self"/),
    )
    expect(entriesIn(store)).toEqual([])
    // An object without a prototype is a plain object.
    const bare = Object.assign(Object.create(null) as Record<string, string>, { etag: 'e' })
    await store.put('k', 'data', { meta: bare })
    expect(await servedMeta(store, 'k')).toEqual({ etag: 'e' })
  })

  it('a refused fetch result closes its stream instead of leaving it open', async () => {
    const store = newStore()
    const body = Readable.from(['never read'])
    await expect(store.getOrFetch('s', () => ({ data: body, meta: { n: 1 as never } }))).rejects.toEqual(
      invalidMeta(/got number at "n"/),
    )
    expect(body.destroyed).toBe(true)
  })

  it('generated keys and meta near the limit: either served back exactly, or refused with nothing stored', async () => {
    const store = newStore()
    // Characters whose JSON takes 1 (a), 2 (\n), 2 (é as UTF-8), 4 (an emoji) or 6 (\u0001) bytes.
    const piece = fc.constantFrom('a', '\n', 'é', '😀', '\u0001')
    const repeatTo = (each: string, bytes: number) =>
      each.repeat(Math.max(0, Math.round(bytes / Buffer.byteLength(JSON.stringify(each).slice(1, -1)))))
    // The JSON of key and meta aimed at within a few KiB of 1 MiB, shared between the key and up to
    // three meta values in generated proportions, each of its own character.
    const nearTheLimit = fc.record({
      total: fc.integer({ min: mebibyte - 8 * 1024, max: mebibyte + 8 * 1024 }),
      shares: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }),
      pieces: fc.array(piece, { minLength: 4, maxLength: 4 }),
      names: fc.uniqueArray(fc.string({ maxLength: 8 }), { minLength: 3, maxLength: 3 }),
    })
    let index = 0
    await fc.assert(
      fc.asyncProperty(nearTheLimit, async ({ total, shares, pieces, names }) => {
        const sum = shares.reduce((a, b) => a + b, 0) || 1
        const [keyShare = 0, ...metaShares] = shares.map((share) => (share / sum) * total)
        const key = `${index++}:${repeatTo(pieces[0] as string, keyShare)}`
        const meta = Object.fromEntries(
          metaShares.map((bytes, at) => [names[at] as string, repeatTo(pieces[at + 1] as string, bytes)]),
        )
        const before = store.stats().bytes
        const fits = Buffer.byteLength(JSON.stringify({ key, meta })) + 200 <= mebibyte
        const stored = await store.put(key, 'value', { meta }).then(
          () => true,
          (error: unknown) => {
            expect(error).toEqual(invalidMeta(/as JSON together with its key/))
            return false
          },
        )
        expect(stored).toBe(fits)
        if (stored) {
          expect(await servedMeta(store, key)).toEqual(meta)
          expect(await store.get(key)).toEqual(Buffer.from('value'))
        } else {
          expect(await store.has(key)).toBe(false)
          expect(store.stats().bytes).toBe(before)
        }
      }),
      { numRuns: 40 },
    )
  })
})
