/**
 * "Did you mean": the names close to a mistyped one, for the error of an unknown command (src/cli/command-not-found.ts).
 * The matching is @oclif/plugin-not-found's (edit distance between the typed word and each command name), with two
 * changes taken from git's `help.c`: a transposition (`stauts` → `status`) costs one edit, and a name is suggested
 * only when it is close enough, so that `lora xyz` suggests nothing rather than the least unlike command. Pure.
 */

/**
 * The optimal-string-alignment distance between `a` and `b`: how many single-character insertions, deletions,
 * substitutions and swaps of two adjacent characters turn one into the other (Damerau–Levenshtein where no
 * substring is edited twice). Compares UTF-16 code units, case-sensitively.
 */
export function editDistance(a: string, b: string): number {
  // Three rows of the dynamic-programming table: the one before the previous, the previous, the current.
  let before: number[] = []
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2] + 1)
      current.push(d)
    }
    before = previous
    previous = current
  }
  return previous[b.length]
}

/**
 * The names among `names` that `typed` was probably meant to be, in the order given: those at the smallest edit
 * distance (ignoring case) when it is at most max(1, ⌊length of typed / 3⌋) — one edit for a word of up to 5
 * characters, two up to 8; else, for a typed word of 2 characters or more, the names it is the start of (`val` →
 * `validate`). Empty when none is close.
 */
export function closestNames(typed: string, names: readonly string[]): string[] {
  const word = typed.toLowerCase()
  const limit = Math.max(1, Math.floor(word.length / 3))
  const distances = names.map((name) => editDistance(word, name.toLowerCase()))
  const best = Math.min(...distances)
  if (best <= limit) return names.filter((_, i) => distances[i] === best)
  if (word.length < 2) return []
  return names.filter((name) => name.toLowerCase().startsWith(word))
}
