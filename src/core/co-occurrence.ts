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
 * Tags already in `current` are never suggested. Empty when no current tag has enough support. For one question;
 * a tagging session keeps a CoOccurrenceIndex instead.
 * @param captions the tags of the dataset's other images (not the image being tagged)
 * @param current the image's tags now
 */
export function coOccurring(
  captions: readonly (readonly string[])[],
  current: readonly string[],
  options: CoOccurrenceOptions = {},
): CoOccurring[] {
  return new CoOccurrenceIndex(
    captions.map((tags, i) => [String(i), tags] as const),
    options.ignore,
  ).suggest(current, options)
}

/**
 * The dataset's captions, folded once and indexed by tag, so that a question costs the captions holding the
 * current tags rather than every caption (100,000 captions of 20 tags: about 1.5 s each time unindexed). Captions
 * are keyed by image id; `set` replaces one (a save in the prompt).
 */
export class CoOccurrenceIndex {
  private readonly keys = new Map<string, number>()
  /** Each spelling's tag id (-1: ignored or empty): folding is the costly part, so each spelling is folded once. */
  private readonly bySpelling = new Map<string, number>()
  private readonly spellings: string[] = []
  private readonly rowOf = new Map<string, number>()
  /** Per caption, the ids of its distinct folded tags. */
  private readonly rows: number[][] = []
  /** Per tag id, the captions that held it when added (a caption may have lost it since: checked when read). */
  private readonly postings: number[][] = []
  private readonly ignored: Set<string>

  /**
   * @param captions `[image id, tags]` of the dataset's images
   * @param ignore tags never suggested nor counted (the trigger word), compared folded
   */
  constructor(captions: Iterable<readonly [string, readonly string[]]>, ignore: readonly string[] = []) {
    this.ignored = new Set(ignore.map(foldTag))
    for (const [id, tags] of captions) this.set(id, tags)
  }

  /** Adds the caption of image `id`, or replaces it. */
  set(id: string, tags: readonly string[]): void {
    let row = this.rowOf.get(id)
    // A new caption is in no posting yet; a replaced one may be in one of a tag it lost and now has again.
    const known = row !== undefined
    if (row === undefined) {
      row = this.rows.length
      this.rowOf.set(id, row)
      this.rows.push([])
    }
    const before = known ? new Set(this.rows[row]) : undefined
    const ids: number[] = []
    for (const tag of tags) {
      const k = this.idOf(tag)
      if (k < 0 || ids.includes(k)) continue
      ids.push(k)
      if (!before?.has(k) && !(known && this.postings[k].includes(row))) this.postings[k].push(row)
    }
    this.rows[row] = ids
  }

  private idOf(tag: string): number {
    let k = this.bySpelling.get(tag)
    if (k !== undefined) return k
    const key = foldTag(tag)
    if (key === '' || this.ignored.has(key)) k = -1
    else {
      k = this.keys.get(key)
      if (k === undefined) {
        k = this.spellings.length
        this.keys.set(key, k)
        this.spellings.push(tag)
        this.postings.push([])
      }
    }
    this.bySpelling.set(tag, k)
    return k
  }

  /**
   * The tags that often go with `current`, best first (then most often together, then by name); see the file
   * comment for the measure.
   * @param options.exclude the image being tagged: its own caption is not counted
   */
  suggest(current: readonly string[], options: CoOccurrenceOptions & {exclude?: string} = {}): CoOccurring[] {
    const {minSupport = 2, minP = 0.3, limit = 5} = options
    const skip = options.exclude === undefined ? undefined : this.rowOf.get(options.exclude)
    const cur = [
      ...new Set(
        current
          .map(foldTag)
          .filter((k) => !this.ignored.has(k))
          .map((k) => this.keys.get(k))
          .filter((k) => k !== undefined),
      ),
    ]
    if (cur.length === 0) return []
    const holds = (row: number, k: number) => row !== skip && this.rows[row].includes(k)
    const holding = new Map<number, number>()
    const withCurrent = new Set<number>()
    for (const c of cur) {
      let n = 0
      for (const row of this.postings[c])
        if (holds(row, c)) {
          n++
          withCurrent.add(row)
        }
      holding.set(c, n)
    }
    const supported = cur.filter((c) => holding.get(c)! >= minSupport)
    if (supported.length === 0) return []
    const isCurrent = new Set(cur)
    const together = new Map<number, number>()
    for (const row of withCurrent)
      for (const t of this.rows[row]) if (!isCurrent.has(t)) together.set(t, (together.get(t) ?? 0) + 1)
    const sum = new Map<number, number>()
    for (const c of supported) {
      const n = holding.get(c)!
      for (const row of this.postings[c])
        if (holds(row, c)) for (const t of this.rows[row]) if (!isCurrent.has(t)) sum.set(t, (sum.get(t) ?? 0) + 1 / n)
    }
    const found: CoOccurring[] = []
    for (const [t, n] of together) {
      const p = (sum.get(t) ?? 0) / supported.length
      if (p >= minP) found.push({tag: this.spellings[t], p, together: n})
    }
    found.sort((a, b) => b.p - a.p || b.together - a.together || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
    return found.slice(0, limit)
  }
}
