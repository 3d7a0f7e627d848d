// The name a misspelt one was probably meant to be ('regoin' → 'region'), for an unknown option's
// message. Damerau-Levenshtein distance (a swap of two neighbours is one edit, the commonest typo),
// written here rather than taken from a library: it is fifteen lines, and @thaw/util is bundled into
// every function that uses thaw.

const distance = (a: string, b: string): number => {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    // Stryker disable next-line ConditionalExpression: a cell past the first column is written before it is read, so what it starts at never matters
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const row = rows[i] as number[]
      const above = rows[i - 1] as number[]
      let best = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      )
      // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: at i or j of 1 the letter before the first is undefined, which equals no letter, so the bounds only say what the comparisons already mean
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1)
      row[j] = best
    }
  }
  return (rows[a.length] as number[])[b.length] as number
}

/**
 * The known name nearest to `name`, compared without case, when it is near enough to be a typo: at
 * most 2 edits, and fewer than half the name's length (so 'a' does not suggest 'b'). Undefined when
 * none is, or when two are equally near.
 * @example nearestName('regoin', ['region', 'endpoint']) // 'region'
 */
export const nearestName = (name: string, known: Iterable<string>): string | undefined => {
  const wanted = name.toLowerCase()
  const limit = Math.min(2, Math.ceil(wanted.length / 2) - 1)
  let nearest: string | undefined
  let nearestDistance = Number.POSITIVE_INFINITY
  // Stryker disable next-line BooleanLiteral: the first candidate sets it, and with none there is no name to give
  let tie = false
  for (const candidate of known) {
    const d = distance(wanted, candidate.toLowerCase())
    if (d < nearestDistance) {
      nearest = candidate
      nearestDistance = d
      tie = false
    } else if (d === nearestDistance) tie = true
  }
  // With no candidate the distance is Infinity, over any limit.
  return nearestDistance <= limit && !tie ? nearest : undefined
}
