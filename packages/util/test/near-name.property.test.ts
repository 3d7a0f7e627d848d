// The "did you mean" of a misspelt option, by generators: nearestName answers what the rule in its
// JSDoc says (the one known name within 2 edits and under half the name's length, a swap of two
// neighbours counting as one edit; none on a tie), over names built from a few letters so that
// swaps, repeats and ties come up often. The distance is computed here a second way, by its
// recursive definition, rather than by the table src/near-name.ts fills.
import { describe, expect, test } from '@jest/globals'
import fc from 'fast-check'
import { nearestName } from '../src/index.ts'

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// neighbours, each one edit, no substring edited twice.
const editDistance = (a: string, b: string): number => {
  const memo = new Map<string, number>()
  const d = (i: number, j: number): number => {
    if (i === 0) return j
    if (j === 0) return i
    const key = `${i},${j}`
    const known = memo.get(key)
    if (known !== undefined) return known
    let best = Math.min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1))
    if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
      best = Math.min(best, d(i - 2, j - 2) + 1)
    memo.set(key, best)
    return best
  }
  return d(a.length, b.length)
}

const expected = (name: string, known: string[]): string | undefined => {
  const wanted = name.toLowerCase()
  const limit = Math.min(2, Math.ceil(wanted.length / 2) - 1)
  const distances = known.map((candidate) => editDistance(wanted, candidate.toLowerCase()))
  const nearest = Math.min(...distances)
  const at = distances.filter((distance) => distance === nearest)
  return at.length === 1 && nearest <= limit ? known[distances.indexOf(nearest)] : undefined
}

const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'A'), maxLength: 8 })
// A name and the known names, some of them a few random edits away from it.
const edited = (name: string) =>
  fc
    .array(
      fc.tuple(
        fc.constantFrom('insert', 'delete', 'swap', 'change'),
        fc.nat(),
        fc.constantFrom('a', 'b', 'c'),
      ),
      { maxLength: 3 },
    )
    .map((edits) =>
      edits.reduce((text, [kind, at, letter]) => {
        const i = text.length === 0 ? 0 : at % text.length
        if (kind === 'insert') return text.slice(0, i) + letter + text.slice(i)
        if (kind === 'delete') return text.slice(0, i) + text.slice(i + 1)
        if (kind === 'swap' && i + 1 < text.length)
          return text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2)
        return text.slice(0, i) + letter + text.slice(i + 1)
      }, name),
    )

describe('nearestName', () => {
  test('answers by its rule over generated names and near misses', () => {
    fc.assert(
      fc.property(
        word.chain((name) =>
          fc.tuple(fc.constant(name), fc.array(fc.oneof(edited(name), word), { minLength: 1, maxLength: 4 })),
        ),
        ([name, known]) => {
          expect(nearestName(name, known)).toBe(expected(name, known))
        },
      ),
      { numRuns: 2_000 },
    )
  })

  test('a swap of two neighbours is one edit, where two changes of letter would be too many', () => {
    // 'abcd' → 'bacd' is one swap; as two substitutions it would be 2, over the limit of 1 for a
    // four-letter name.
    expect(nearestName('bacd', ['abcd', 'zzzz'])).toBe('abcd')
    expect(nearestName('acbd', ['abcd'])).toBe('abcd')
    // Two letters apart are not neighbours: two edits, over the limit.
    expect(nearestName('cbad', ['abcd'])).toBeUndefined()
  })
})
