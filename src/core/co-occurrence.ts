/**
 * Co-occurrence suggestions (issue 14, "Suggestions without a model"): the tags that often go with an image's
 * current tags in this dataset, offered by the tag prompt when its input is empty. Pure: the caller passes the
 * other images' captions.
 *
 * The measure is the conditional frequency P(t | c) = (captions holding both t and c) / (captions holding c),
 * averaged over the image's current tags c that at least `minSupport` captions hold (tags compared folded: case
 * and `_`/space ignored, core/caption.ts foldTag). A tag that goes with every current tag scores high; one that
 * goes with one of four scores at most 0.25.
 */
import {foldTag} from './caption.js'

/** One suggestion: a tag and how often it goes with the current tags. */
export interface CoOccurring {
  /** The tag, spelt as the first caption holding it spells it. */
  tag: string
  /** The mean conditional frequency, 0–1. */
  p: number
  /** Captions holding the tag together with at least one of the current tags. */
  together: number
}

/** Options of `coOccurring`. */
export interface CoOccurrenceOptions {
  /** Tags never suggested nor counted as current (the trigger word), compared folded. */
  ignore?: readonly string[]
  /** A current tag counts only when at least this many captions hold it (default 2). */
  minSupport?: number
  /** Suggestions scoring below this are left out (default 0.3). */
  minP?: number
  /** At most this many suggestions (default 5). */
  limit?: number
}

/**
 * The tags that often go with `current` in `captions`, best first (then most often together, then by name).
 * Tags already in `current` are never suggested. Empty when no current tag has enough support.
 * @param captions the tags of the dataset's other images (not the image being tagged)
 * @param current the image's tags now
 */
export function coOccurring(
  captions: readonly (readonly string[])[],
  current: readonly string[],
  options: CoOccurrenceOptions = {},
): CoOccurring[] {
  const {minSupport = 2, minP = 0.3, limit = 5} = options
  const ignored = new Set((options.ignore ?? []).map(foldTag))
  const currentKeys = new Set(current.map(foldTag).filter((k) => !ignored.has(k)))
  if (currentKeys.size === 0) return []
  // holding.get(c): captions holding c; together.get(c).get(t): captions holding both.
  const holding = new Map<string, number>()
  const together = new Map<string, Map<string, number>>()
  const spelling = new Map<string, string>()
  const withAny = new Map<string, number>()
  for (const caption of captions) {
    const keys = new Map<string, string>()
    for (const tag of caption) {
      const key = foldTag(tag)
      if (key !== '' && !ignored.has(key) && !keys.has(key)) keys.set(key, tag)
    }
    const present = [...keys.keys()].filter((k) => currentKeys.has(k))
    if (present.length === 0) continue
    for (const c of present) holding.set(c, (holding.get(c) ?? 0) + 1)
    for (const [t, tag] of keys) {
      if (currentKeys.has(t)) continue
      if (!spelling.has(t)) spelling.set(t, tag)
      withAny.set(t, (withAny.get(t) ?? 0) + 1)
      for (const c of present) {
        let row = together.get(c)
        if (!row) together.set(c, (row = new Map<string, number>()))
        row.set(t, (row.get(t) ?? 0) + 1)
      }
    }
  }
  const supported = [...currentKeys].filter((c) => (holding.get(c) ?? 0) >= minSupport)
  if (supported.length === 0) return []
  const found: CoOccurring[] = []
  for (const [t, tag] of spelling) {
    let sum = 0
    for (const c of supported) sum += (together.get(c)?.get(t) ?? 0) / holding.get(c)!
    const p = sum / supported.length
    if (p >= minP) found.push({tag, p, together: withAny.get(t) ?? 0})
  }
  found.sort((a, b) => b.p - a.p || b.together - a.together || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
  return found.slice(0, limit)
}
