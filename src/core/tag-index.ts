/**
 * A compact, prebuilt index over reference vocabularies (e.g. the 140,782 tags of a1111 tagcomplete's
 * danbooru.csv) for autocomplete within a keystroke's budget:
 * - prefix matches by binary search over tags sorted by their folded form (lower case, `_` read as space);
 * - alias prefix matches (`longhair`, `/lh` → `long_hair`) the same way over sorted aliases;
 * - word-start matches (`hair` → `long hair`) by binary search over the sorted suffixes that start a word;
 * - fuzzy matches (typos: `thighhihgs`) with uFuzzy (@leeoniya/ufuzzy) over the tags sharing the input's first
 *   character, only when the tiers above found too few.
 * The index is cached under `.lora-tagger/cache/` and rebuilt when a reference file changes (see services/tags).
 */
import {foldTag} from './caption.js'
import type {ReferenceTag} from './reference.js'
import {CATEGORY_SCHEMES, type CategoryScheme} from './categories.js'

/** One match from the index. */
export interface IndexMatch {
  /** Position in the index. */
  index: number
  match: 'prefix' | 'alias' | 'word' | 'fuzzy'
  /** The alias that matched, for `alias` matches. */
  alias?: string
}

const FORMAT = 'lora-tag-index 3'

/** Characters after which a new word starts inside a tag. */
const WORD_BREAKS = [' ', '(', '-', '/']

/** How many of the most used tags fuzzy matching considers. */
export const FUZZY_POOL = 30_000

/** The index: parallel arrays sorted by folded tag. */
export class TagIndex {
  /** The fuzzy tier's pool (the FUZZY_POOL most used tags) split by first character: tag indexes and folded keys. */
  private pools = new Map<string, {ids: number[]; hay: string[]}>()
  private fuzzy?: import('@leeoniya/ufuzzy').default

  private constructor(
    /** Folded tags, sorted. */
    readonly keys: string[],
    /** Tags whose written form is not their key with `_` for spaces, by index. */
    private readonly exceptions: Map<number, string>,
    readonly categories: Int8Array,
    /** The category scheme each category is read in: its position in CATEGORY_SCHEMES. */
    private readonly schemeIds: Uint8Array,
    /** Post counts. */
    readonly counts: Float64Array,
    /** Folded aliases, sorted. */
    readonly aliasKeys: string[],
    /** The alias as written. */
    readonly aliasNames: string[],
    /** Index of each alias's tag. */
    readonly aliasTargets: Int32Array,
    /** Folded tag suffixes starting at a word inside the tag (`hair` of `long hair`), sorted. */
    readonly wordKeys: string[],
    /** Index of each suffix's tag. */
    readonly wordTargets: Int32Array,
    /** What the index was built from (to know when to rebuild). */
    readonly sourceKey: string,
  ) {}

  /** The tag at `index` as written in the reference (e.g. `long_hair`). */
  name(index: number): string {
    return this.exceptions.get(index) ?? this.keys[index].replaceAll(' ', '_')
  }

  /** The category scheme of the tag at `index` (core/categories.ts). */
  scheme(index: number): CategoryScheme {
    return CATEGORY_SCHEMES[this.schemeIds[index]] ?? 'numbers'
  }

  /** Number of tags. */
  get size(): number {
    return this.keys.length
  }

  /**
   * Builds the index from reference tags (of a folded name, the occurrence with the highest post count wins, with
   * its category and scheme). A tag without a scheme is read in `numbers`.
   */
  static build(tags: readonly ReferenceTag[], sourceKey: string): TagIndex {
    const byKey = new Map<string, ReferenceTag>()
    for (const t of tags) {
      const key = foldTag(t.name)
      const seen = byKey.get(key)
      if (!seen || t.count > seen.count) byKey.set(key, t)
    }
    const keys = [...byKey.keys()].sort(compare)
    const entries = keys.map((k) => byKey.get(k)!)
    const position = new Map(keys.map((k, i) => [k, i]))
    const aliases: [string, string, number][] = []
    for (const [i, t] of entries.entries()) {
      for (const a of t.aliases) {
        const key = foldTag(a)
        if (key && !position.has(key)) aliases.push([key, a, i])
      }
    }
    aliases.sort((a, b) => compare(a[0], b[0]))
    const exceptions = new Map<number, string>()
    for (const [i, t] of entries.entries()) if (t.name !== keys[i].replaceAll(' ', '_')) exceptions.set(i, t.name)
    const words: [string, number][] = []
    for (const [i, key] of keys.entries()) {
      for (let at = 1; at < key.length; at++)
        if (WORD_BREAKS.includes(key[at - 1]) && !WORD_BREAKS.includes(key[at])) words.push([key.slice(at), i])
    }
    words.sort((a, b) => compare(a[0], b[0]))
    return new TagIndex(
      keys,
      exceptions,
      Int8Array.from(entries.map((t) => t.category)),
      Uint8Array.from(entries.map((t) => CATEGORY_SCHEMES.indexOf(t.scheme ?? 'numbers'))),
      Float64Array.from(entries.map((t) => t.count)),
      aliases.map((a) => a[0]),
      aliases.map((a) => a[1]),
      Int32Array.from(aliases.map((a) => a[2])),
      words.map((w) => w[0]),
      Int32Array.from(words.map((w) => w[1])),
      sourceKey,
    )
  }

  /**
   * Serialises the index as NUL-separated sections, so that loading is a few splits rather than per-line parsing:
   * a JSON header; the folded tags joined by newlines (also the word-start haystack); names that differ from
   * their key with `_` for spaces (`index\tname` lines); categories (one character each, code = category + 64);
   * category schemes (one digit each, the position in CATEGORY_SCHEMES);
   * post counts (base64 of a Float64Array); aliases (folded, as written, joined by newlines); alias targets
   * (base64 of an Int32Array); word suffixes (joined by newlines) and their targets (base64 of an Int32Array).
   */
  serialize(): string {
    const exceptions = [...this.exceptions].map(([i, name]) => `${i}\t${name}`)
    const header = JSON.stringify({
      format: FORMAT,
      size: this.keys.length,
      aliases: this.aliasKeys.length,
      words: this.wordKeys.length,
      sourceKey: this.sourceKey,
    })
    return [
      header,
      this.keys.join('\n'),
      exceptions.join('\n'),
      Buffer.from(Uint8Array.from(this.categories, (c) => c + 64)).toString('latin1'),
      Array.from(this.schemeIds, String).join(''),
      Buffer.from(this.counts.buffer, this.counts.byteOffset, this.counts.byteLength).toString('base64'),
      this.aliasKeys.join('\n'),
      this.aliasNames.join('\n'),
      Buffer.from(this.aliasTargets.buffer, this.aliasTargets.byteOffset, this.aliasTargets.byteLength).toString(
        'base64',
      ),
      this.wordKeys.join('\n'),
      Buffer.from(this.wordTargets.buffer, this.wordTargets.byteOffset, this.wordTargets.byteLength).toString('base64'),
    ].join('\0')
  }

  /** Parses a serialised index; undefined when the text is not one (a damaged cache is rebuilt). */
  static parse(text: string): TagIndex | undefined {
    try {
      return TagIndex.parseOrThrow(text)
    } catch {
      return undefined
    }
  }

  private static parseOrThrow(text: string): TagIndex | undefined {
    const parts = text.split('\0')
    if (parts.length !== 11) return undefined
    let header: {format: string; size: number; aliases: number; words: number; sourceKey: string}
    try {
      header = JSON.parse(parts[0]) as typeof header
    } catch {
      return undefined
    }
    if (header.format !== FORMAT) return undefined
    const keys = header.size === 0 ? [] : parts[1].split('\n')
    if (keys.length !== header.size) return undefined
    const exceptions = new Map<number, string>()
    if (parts[2]) {
      for (const line of parts[2].split('\n')) {
        const tab = line.indexOf('\t')
        exceptions.set(Number(line.slice(0, tab)), line.slice(tab + 1))
      }
    }
    const categories = new Int8Array(header.size)
    for (let i = 0; i < header.size; i++) categories[i] = parts[3].charCodeAt(i) - 64
    if (parts[4].length !== header.size) return undefined
    const schemeIds = Uint8Array.from(parts[4], (c) => c.charCodeAt(0) - 48)
    const counts = new Float64Array(toArrayBuffer(Buffer.from(parts[5], 'base64')))
    const aliasKeys = header.aliases === 0 ? [] : parts[6].split('\n')
    const aliasNames = header.aliases === 0 ? [] : parts[7].split('\n')
    const aliasTargets = new Int32Array(toArrayBuffer(Buffer.from(parts[8], 'base64')))
    const wordKeys = header.words === 0 ? [] : parts[9].split('\n')
    const wordTargets = new Int32Array(toArrayBuffer(Buffer.from(parts[10], 'base64')))
    if (
      counts.length !== header.size ||
      aliasKeys.length !== header.aliases ||
      aliasTargets.length !== header.aliases ||
      wordKeys.length !== header.words ||
      wordTargets.length !== header.words
    )
      return undefined
    return new TagIndex(
      keys,
      exceptions,
      categories,
      schemeIds,
      counts,
      aliasKeys,
      aliasNames,
      aliasTargets,
      wordKeys,
      wordTargets,
      header.sourceKey,
    )
  }

  /**
   * Matches for a folded query, best tier first (prefix and alias-prefix, then word-start, then fuzzy), each tier
   * by post count; at most `limit`. `skip` excludes indexes (e.g. tags shown from the dataset already).
   */
  search(query: string, limit: number, skip: (index: number) => boolean = () => false): IndexMatch[] {
    const out: IndexMatch[] = []
    const taken = new Set<number>()
    const add = (ms: IndexMatch[]) => {
      for (const m of ms) {
        if (out.length >= limit) return
        if (taken.has(m.index) || skip(m.index)) continue
        taken.add(m.index)
        out.push(m)
      }
    }
    if (query === '') {
      add(this.top(range(0, this.keys.length), limit * 2).map((index) => ({index, match: 'prefix'})))
      return out
    }
    const [lo, hi] = prefixRange(this.keys, query)
    const prefix: IndexMatch[] = this.top(range(lo, hi), limit * 2).map((index) => ({index, match: 'prefix'}))
    const [alo, ahi] = prefixRange(this.aliasKeys, query)
    const aliasHits: IndexMatch[] = []
    for (let i = alo; i < ahi && aliasHits.length < 5000; i++)
      aliasHits.push({index: this.aliasTargets[i], match: 'alias', alias: this.aliasNames[i]})
    // An alias typed in full (`longhair`, `/lh`) goes first; other alias prefixes follow the name prefixes.
    const exact = query.length >= 3 ? aliasHits.filter((_, k) => this.aliasKeys[alo + k] === query) : []
    add(exact)
    add(prefix)
    add(aliasHits.sort((a, b) => this.counts[b.index] - this.counts[a.index]))
    if (out.length < limit)
      add(this.top(this.wordStarts(query, 5000), limit * 2).map((index) => ({index, match: 'word'})))
    if (out.length < limit && query.length >= 3 && this.fuzzy)
      add(this.fuzzyMatches(query, limit * 2).map((index) => ({index, match: 'fuzzy'})))
    return out
  }

  /** The `k` indexes with the highest post counts among `ids`. */
  private top(ids: Iterable<number>, k: number): number[] {
    const best: number[] = []
    for (const i of ids) {
      if (best.length < k) {
        best.push(i)
        if (best.length === k) best.sort((a, b) => this.counts[b] - this.counts[a])
        continue
      }
      if (this.counts[i] <= this.counts[best[k - 1]]) continue
      // insert in order (k is small)
      let j = k - 1
      while (j > 0 && this.counts[best[j - 1]] < this.counts[i]) {
        best[j] = best[j - 1]
        j--
      }
      best[j] = i
    }
    return best.length < k ? best.sort((a, b) => this.counts[b] - this.counts[a]) : best
  }

  /** Indexes of tags having a word that starts with `query` (not at the start of the tag). */
  private wordStarts(query: string, cap: number): number[] {
    const [lo, hi] = prefixRange(this.wordKeys, query)
    const hits = new Set<number>()
    for (let i = lo; i < hi && hits.size < cap; i++) hits.add(this.wordTargets[i])
    return [...hits]
  }

  /**
   * Fuzzy matches (uFuzzy, single-error mode: one substitution, transposition, deletion or insertion per word)
   * among the FUZZY_POOL most used tags that start with the query's first character. Limiting the pool keeps a
   * keystroke within budget; typos are overwhelmingly of common tags.
   */
  private fuzzyMatches(query: string, k: number): number[] {
    const first = query[0]
    let pool = this.pools.get(first)
    if (!pool) {
      const cutoff = this.poolCutoff()
      const [lo, hi] = prefixRange(this.keys, first)
      const ids = [...range(lo, hi)].filter((i) => this.counts[i] >= cutoff)
      pool = {ids, hay: ids.map((i) => this.keys[i])}
      this.pools.set(first, pool)
    }
    const found = this.fuzzyFilter(pool.hay, query)
    return this.top(
      found.map((i) => pool.ids[i]),
      k,
    )
  }

  private cutoff?: number

  /** The post count of the FUZZY_POOL-th most used tag (0 when the index is smaller). */
  private poolCutoff(): number {
    if (this.cutoff === undefined) {
      const sorted = Float64Array.from(this.counts).sort()
      this.cutoff = sorted.length <= FUZZY_POOL ? 0 : sorted[sorted.length - FUZZY_POOL]
    }
    return this.cutoff
  }

  private fuzzyFilter(hay: string[], query: string): number[] {
    const fuzzy = this.fuzzy!
    return fuzzy.filter(hay, query) ?? []
  }

  /**
   * Loads uFuzzy and warms the index up before the first keystroke (call once, before the prompt): builds every
   * first-character pool of the fuzzy tier and runs a few searches so the code is compiled. Without it the first
   * keystroke, and the first fuzzy query of each letter, cost 10–30 ms.
   */
  async prepareFuzzy(): Promise<void> {
    if (this.fuzzy) return
    const {default: UFuzzy} = await import('@leeoniya/ufuzzy')
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- 1: SingleError (const enum)
    this.fuzzy = new UFuzzy({intraMode: 1})
    const cutoff = this.poolCutoff()
    const byFirst = new Map<string, number[]>()
    for (let i = 0; i < this.keys.length; i++) {
      if (this.counts[i] < cutoff || this.keys[i] === '') continue
      const first = this.keys[i][0]
      const ids = byFirst.get(first)
      if (ids) ids.push(i)
      else byFirst.set(first, [i])
    }
    for (const [first, ids] of byFirst) this.pools.set(first, {ids, hay: ids.map((i) => this.keys[i])})
    for (const warm of ['a', 'lo', 'hai', 'smiel', 'blu ey']) this.search(warm, 20)
  }
}

function toArrayBuffer(buffer: Buffer): ArrayBuffer {
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function* range(lo: number, hi: number): Generator<number> {
  for (let i = lo; i < hi; i++) yield i
}

/** [lo, hi) of the sorted `keys` starting with `prefix`. */
export function prefixRange(keys: readonly string[], prefix: string): [number, number] {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid] < prefix) lo = mid + 1
    else hi = mid
  }
  const start = lo
  hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid].startsWith(prefix) || keys[mid] < prefix) lo = mid + 1
    else hi = mid
  }
  return [start, lo]
}

/** Index of the tag whose folded form is `key`, or -1. */
export function findKey(index: TagIndex, key: string): number {
  const [lo, hi] = prefixRange(index.keys, key)
  return lo < hi && index.keys[lo] === key ? lo : -1
}
