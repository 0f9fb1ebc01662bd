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
import {BugError} from '../errors.js'
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

const FORMAT = 'lora-tag-index 5'

/** The byte order of this machine's typed arrays: a cache written on another is rebuilt, not misread. */
const ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'LE' : 'BE'

/** Characters after which a new word starts inside a tag. */
const WORD_BREAKS = [' ', '(', '-', '/']

/** How many of the most used tags fuzzy matching considers. */
export const FUZZY_POOL = 30_000

/** The sections of a serialised index, in order (TagIndex.serialize describes them). */
const SECTIONS = [
  'keys',
  'exceptions',
  'categories',
  'schemes',
  'counts',
  'aliasKeys',
  'aliasExceptions',
  'aliasTargets',
  'wordOffsets',
  'wordTargets',
] as const

/** The header of a serialised index (its first line, JSON). */
export interface IndexHeader {
  format: string
  /** Tags, aliases and word suffixes. */
  size: number
  aliases: number
  words: number
  /** Byte order of the typed-array sections: `LE` or `BE`. */
  endian: string
  /** Byte length of each section, in the order of SECTIONS. */
  lengths: number[]
  sourceKey: string
  /** The least post count of the FUZZY_POOL most used tags (made when the index is built; absent: worked out when needed). */
  fuzzyCutoff?: number
}

/**
 * Strings held as ranges of one string (`text`): string `i` is `text.slice(startOf(i), endOf(i))` (UTF-16 offsets).
 * Holding 140,782 folded tags this way instead of as 140,782 JS strings is what makes loading the index cheap (one
 * string, typed arrays), and binary searches compare in place without making a string.
 */
abstract class StringRanges {
  constructor(readonly text: string) {}

  abstract get length(): number
  /** Where string `i` starts in `text`. */
  abstract startOf(i: number): number
  /** Where string `i` ends in `text` (exclusive). */
  abstract endOf(i: number): number

  /** String `i`. */
  at(i: number): string {
    return this.text.slice(this.startOf(i), this.endOf(i))
  }

  /** First character of string `i` ('' for an empty string). */
  first(i: number): string {
    const start = this.startOf(i)
    return start < this.endOf(i) ? this.text[start] : ''
  }

  /** Whether string `i` equals `s`. */
  equals(i: number, s: string): boolean {
    const start = this.startOf(i)
    return this.endOf(i) - start === s.length && this.text.startsWith(s, start)
  }

  /**
   * String `i` against `prefix`, in code-unit order (JS `<`): < 0 when it sorts before `prefix` and does not start
   * with it, 0 when it starts with `prefix`, > 0 when it sorts after it.
   */
  comparePrefix(i: number, prefix: string): number {
    const start = this.startOf(i)
    const length = this.endOf(i) - start
    // The common case in a binary search's last steps, natively; the loop below finds the first difference.
    if (length >= prefix.length && this.text.startsWith(prefix, start)) return 0
    const n = Math.min(length, prefix.length)
    for (let k = 0; k < n; k++) {
      const d = this.text.charCodeAt(start + k) - prefix.charCodeAt(k)
      if (d !== 0) return d
    }
    return length < prefix.length ? -1 : 0
  }

  /** [lo, hi) of the strings (sorted) that start with `prefix`. */
  prefixRange(prefix: string): [number, number] {
    let lo = 0
    let hi = this.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.comparePrefix(mid, prefix) < 0) lo = mid + 1
      else hi = mid
    }
    const start = lo
    hi = this.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.comparePrefix(mid, prefix) <= 0) lo = mid + 1
      else hi = mid
    }
    return [start, lo]
  }
}

/** Strings as ranges of `text` given by two typed arrays of offsets. */
class Slices extends StringRanges {
  constructor(
    text: string,
    private readonly starts: Int32Array,
    private readonly ends: Int32Array,
  ) {
    super(text)
  }

  get length(): number {
    return this.starts.length
  }

  startOf(i: number): number {
    return this.starts[i]
  }

  endOf(i: number): number {
    return this.ends[i]
  }

  /**
   * The `count` lines of `text` between `start` and `end` (joined by `\n`); undefined when there are not exactly
   * `count` of them.
   */
  static lines(text: string, start: number, end: number, count: number): Slices | undefined {
    const starts = new Int32Array(count)
    const ends = new Int32Array(count)
    if (count === 0) return start === end ? new Slices(text, starts, ends) : undefined
    let at = start
    for (let i = 0; i < count - 1; i++) {
      const nl = text.indexOf('\n', at)
      if (nl < 0 || nl >= end) return undefined
      starts[i] = at
      ends[i] = nl
      at = nl + 1
    }
    const nl = text.indexOf('\n', at)
    if (nl >= 0 && nl < end) return undefined
    starts[count - 1] = at
    ends[count - 1] = end
    return new Slices(text, starts, ends)
  }

  /**
   * Suffixes of these strings: string `i` of the result is string `of[i]` from its `offsets[i]`-th character. Nothing
   * is computed per suffix until it is asked for (loading the index does not walk its 162,433 word suffixes); a suffix
   * whose string or offset is out of range (a damaged cache) reads as the empty string, and its tag is not offered
   * (TagIndex.wordStarts).
   */
  suffixes(of: Int32Array, offsets: Int32Array): Suffixes {
    return new Suffixes(this, of, offsets)
  }

  /** Whether `i` is the position of one of these strings. */
  has(i: number): boolean {
    return i >= 0 && i < this.starts.length
  }
}

/** Suffixes of the strings of a Slices (Slices.suffixes). */
class Suffixes extends StringRanges {
  constructor(
    private readonly of: Slices,
    private readonly targets: Int32Array,
    private readonly offsets: Int32Array,
  ) {
    super(of.text)
  }

  get length(): number {
    return this.targets.length
  }

  startOf(i: number): number {
    const tag = this.targets[i]
    if (!this.of.has(tag)) return 0
    const offset = this.offsets[i]
    const start = this.of.startOf(tag)
    const end = this.of.endOf(tag)
    return offset >= 0 && offset <= end - start ? start + offset : end
  }

  endOf(i: number): number {
    const tag = this.targets[i]
    return this.of.has(tag) ? this.of.endOf(tag) : 0
  }
}

/** The parts an index is made of, before serialisation (TagIndex.build). */
interface IndexParts {
  keys: string[]
  exceptions: Map<number, string>
  categories: Int8Array
  schemeIds: Uint8Array
  counts: Float64Array
  aliasKeys: string[]
  /** Aliases whose written form is not their key with `_` for spaces, by position among the aliases. */
  aliasExceptions: Map<number, string>
  aliasTargets: Int32Array
  wordTargets: Int32Array
  wordOffsets: Int32Array
  sourceKey: string
  fuzzyCutoff: number
}

/**
 * The index: folded tags sorted, with parallel typed arrays, over the strings of its serialised form's text sections
 * (what the cache file holds: loading is one read, four decodes, a scan for line ends and typed-array views).
 */
export class TagIndex {
  /** The fuzzy tier's pool (the FUZZY_POOL most used tags) split by first character: tag indexes and folded keys. */
  private pools = new Map<string, {ids: number[]; hay: string[]}>()
  private fuzzy?: import('@leeoniya/ufuzzy').default

  private constructor(
    /** The serialised index (the typed arrays may be views of it). */
    private readonly bytes: Uint8Array,
    /** Folded tags, sorted. */
    private readonly tagKeys: Slices,
    /** Tags whose written form is not their key with `_` for spaces, by index. */
    private readonly exceptions: Map<number, string>,
    readonly categories: Int8Array,
    /** The category scheme each category is read in: its position in CATEGORY_SCHEMES. */
    private readonly schemeIds: Uint8Array,
    /** Post counts. */
    readonly counts: Float64Array,
    /** Folded aliases, sorted. */
    private readonly aliasKeys: Slices,
    /** Aliases whose written form is not their key with `_` for spaces, by position. */
    private readonly aliasExceptions: Map<number, string>,
    /** Index of each alias's tag. */
    private readonly aliasTargets: Int32Array,
    /** Folded tag suffixes starting at a word inside the tag (`hair` of `long hair`), sorted. */
    private readonly wordKeys: Suffixes,
    /** Index of each suffix's tag. */
    private readonly wordTargets: Int32Array,
    /** What the index was built from (to know when to rebuild). */
    readonly sourceKey: string,
  ) {}

  /** The folded tag at `index` (e.g. `long hair`). */
  key(index: number): string {
    return this.tagKeys.at(index)
  }

  private keyArray?: readonly string[]

  /**
   * Every folded tag, sorted, as an array (made on first use, for tests and tools: it is the 140,782 strings the
   * compact form avoids; the search path reads the keys in place).
   */
  get keys(): readonly string[] {
    return (this.keyArray ??= Array.from({length: this.size}, (_, i) => this.tagKeys.at(i)))
  }

  /** The tag at `index` as written in the reference (e.g. `long_hair`). */
  name(index: number): string {
    return this.exceptions.get(index) ?? this.tagKeys.at(index).replaceAll(' ', '_')
  }

  /** The category scheme of the tag at `index` (core/categories.ts). */
  scheme(index: number): CategoryScheme {
    return CATEGORY_SCHEMES[this.schemeIds[index]] ?? 'numbers'
  }

  /** Number of tags. */
  get size(): number {
    return this.tagKeys.length
  }

  /** Index of the tag whose folded form is `key`, or -1. */
  find(key: string): number {
    const [lo, hi] = this.tagKeys.prefixRange(key)
    return lo < hi && this.tagKeys.equals(lo, key) ? lo : -1
  }

  /**
   * Builds the index from reference tags (of a folded name, the occurrence with the highest post count wins, with
   * its category and scheme). A tag without a scheme is read in `numbers`.
   * @throws BugError when the index does not read back (a tag holding NUL, which every way in refuses)
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
    const words: [string, number, number][] = []
    for (const [i, key] of keys.entries()) {
      for (let at = 1; at < key.length; at++)
        if (WORD_BREAKS.includes(key[at - 1]) && !WORD_BREAKS.includes(key[at])) words.push([key.slice(at), i, at])
    }
    words.sort((a, b) => compare(a[0], b[0]))
    const bytes = encode({
      keys,
      exceptions,
      categories: Int8Array.from(entries.map((t) => t.category)),
      schemeIds: Uint8Array.from(entries.map((t) => CATEGORY_SCHEMES.indexOf(t.scheme ?? 'numbers'))),
      counts: Float64Array.from(entries.map((t) => t.count)),
      aliasKeys: aliases.map((a) => a[0]),
      aliasExceptions: new Map(
        aliases.flatMap(([key, name], i) => (name === key.replaceAll(' ', '_') ? [] : [[i, name] as const])),
      ),
      aliasTargets: Int32Array.from(aliases.map((a) => a[2])),
      wordTargets: Int32Array.from(words.map((w) => w[1])),
      wordOffsets: Int32Array.from(words.map((w) => w[2])),
      sourceKey,
      fuzzyCutoff: fuzzyCutoff(entries.map((t) => t.count)),
    })
    const index = TagIndex.parseOrThrow(bytes)
    if (!index) throw new BugError('The tag index did not read back what was written.')
    return index
  }

  /**
   * Serialises the index (a copy of the bytes it was read from), laid out so that loading is one read, a decode of
   * its four text sections and typed-array views of the rest, with no per-number parsing (joinIndexSections): a JSON
   * header line (format, counts, byte order, section lengths, source key), then, each at a multiple of 8 bytes: the
   * folded tags joined by newlines (UTF-8); names that differ from their key with `_` for spaces (`index\tname`
   * lines); categories (Int8Array); category schemes (Uint8Array of positions in CATEGORY_SCHEMES; an unknown one
   * reads `numbers`); post counts (Float64Array); aliases, folded (lines), and those written otherwise than their key
   * with `_` for spaces (`index\tname` lines); alias targets (Int32Array); word suffixes
   * as the position in their tag where each starts and their tags (two Int32Arrays), sorted by suffix. Typed arrays
   * are in the machine's byte order (the header says which; a cache of the other order is rebuilt).
   */
  serialize(): Uint8Array {
    return this.bytes.slice()
  }

  /** Parses a serialised index; undefined when the bytes are not one (a damaged cache is rebuilt). */
  static parse(bytes: Uint8Array): TagIndex | undefined {
    try {
      return TagIndex.parseOrThrow(bytes)
    } catch {
      return undefined
    }
  }

  private static parseOrThrow(bytes: Uint8Array): TagIndex | undefined {
    const split = indexSections(bytes)
    if (!split) return undefined
    const {header, sections} = split
    if (header.format !== FORMAT || header.endian !== ENDIAN) return undefined
    const {size, aliases, words} = header
    if (![size, aliases, words].every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined
    const section = (name: (typeof SECTIONS)[number]) => sections[SECTIONS.indexOf(name)]
    const lines = (name: (typeof SECTIONS)[number], count: number) => {
      const text = decodeText(section(name))
      return Slices.lines(text, 0, text.length, count)
    }
    const keys = lines('keys', size)
    if (!keys) return undefined
    const exceptions = exceptionLines(section('exceptions'), size)
    if (!exceptions) return undefined
    const categories = typedView(Int8Array, section('categories'), size)
    const schemeIds = typedView(Uint8Array, section('schemes'), size)
    const counts = typedView(Float64Array, section('counts'), size)
    const aliasKeys = lines('aliasKeys', aliases)
    const aliasExceptions = exceptionLines(section('aliasExceptions'), aliases)
    const aliasTargets = typedView(Int32Array, section('aliasTargets'), aliases)
    const wordOffsets = typedView(Int32Array, section('wordOffsets'), words)
    const wordTargets = typedView(Int32Array, section('wordTargets'), words)
    if (
      !categories ||
      !schemeIds ||
      !counts ||
      !aliasKeys ||
      !aliasExceptions ||
      !aliasTargets ||
      !wordOffsets ||
      !wordTargets
    )
      return undefined
    // Every alias names a tag of the index (a word suffix's tag is checked when it is read). A category scheme this lora does
    // not know reads `numbers` (scheme()). Indexed loops: this runs once, before the optimising compiler sees it.
    for (let i = 0; i < aliases; i++) if (aliasTargets[i] < 0 || aliasTargets[i] >= size) return undefined
    const wordKeys = keys.suffixes(wordTargets, wordOffsets)
    const index = new TagIndex(
      bytes,
      keys,
      exceptions,
      categories,
      schemeIds,
      counts,
      aliasKeys,
      aliasExceptions,
      aliasTargets,
      wordKeys,
      wordTargets,
      header.sourceKey,
    )
    if (typeof header.fuzzyCutoff === 'number' && Number.isFinite(header.fuzzyCutoff)) index.cutoff = header.fuzzyCutoff
    return index
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
      add(this.top(range(0, this.size), limit * 2).map((index) => ({index, match: 'prefix'})))
      return out
    }
    const [lo, hi] = this.tagKeys.prefixRange(query)
    const prefix: IndexMatch[] = this.top(range(lo, hi), limit * 2).map((index) => ({index, match: 'prefix'}))
    const [alo, ahi] = this.aliasKeys.prefixRange(query)
    const aliasHits: IndexMatch[] = []
    for (let i = alo; i < ahi && aliasHits.length < 5000; i++)
      aliasHits.push({
        index: this.aliasTargets[i],
        match: 'alias',
        alias: this.aliasExceptions.get(i) ?? this.aliasKeys.at(i).replaceAll(' ', '_'),
      })
    // An alias typed in full (`longhair`, `/lh`) goes first; other alias prefixes follow the name prefixes.
    const exact = query.length >= 3 ? aliasHits.filter((_, k) => this.aliasKeys.equals(alo + k, query)) : []
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
    const [lo, hi] = this.wordKeys.prefixRange(query)
    const hits = new Set<number>()
    for (let i = lo; i < hi && hits.size < cap; i++) {
      const tag = this.wordTargets[i]
      if (this.tagKeys.has(tag)) hits.add(tag)
    }
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
      const [lo, hi] = this.tagKeys.prefixRange(first)
      const ids = [...range(lo, hi)].filter((i) => this.counts[i] >= cutoff)
      pool = {ids, hay: ids.map((i) => this.tagKeys.at(i))}
      this.pools.set(first, pool)
    }
    const found = this.fuzzyFilter(pool.hay, query)
    return this.top(
      found.map((i) => pool.ids[i]),
      k,
    )
  }

  /** The least post count in the fuzzy tier's pool (the header's `fuzzyCutoff`, else worked out on first use). */
  private cutoff?: number

  /** The post count of the FUZZY_POOL-th most used tag (0 when the index is smaller). */
  private poolCutoff(): number {
    return (this.cutoff ??= fuzzyCutoff(this.counts))
  }

  private fuzzyFilter(hay: string[], query: string): number[] {
    const fuzzy = this.fuzzy!
    return fuzzy.filter(hay, query) ?? []
  }

  private preparing?: Promise<void>

  /**
   * Loads uFuzzy and warms the index up before the first fuzzy query: builds every first-character pool of the
   * fuzzy tier and runs a few searches so the code is compiled. Without it the first keystroke, and the first fuzzy
   * query of each letter, cost 10–30 ms. It yields to the event loop between its steps (each a few ms), so that
   * keys typed meanwhile are answered at once from the other tiers instead of waiting for all of it (about 70 ms on
   * danbooru.csv's 140,782 tags); the fuzzy tier joins when it is done. Calling it again returns the same promise.
   */
  prepareFuzzy(): Promise<void> {
    return (this.preparing ??= this.prepare())
  }

  private async prepare(): Promise<void> {
    const {default: UFuzzy} = await import('@leeoniya/ufuzzy')
    await yieldToInput()
    const cutoff = this.poolCutoff()
    await yieldToInput()
    const byFirst = new Map<string, number[]>()
    for (let i = 0; i < this.size; i++) {
      const first = this.tagKeys.first(i)
      if (this.counts[i] < cutoff || first === '') continue
      const ids = byFirst.get(first)
      if (ids) ids.push(i)
      else byFirst.set(first, [i])
    }
    await yieldToInput()
    for (const [first, ids] of byFirst) this.pools.set(first, {ids, hay: ids.map((i) => this.tagKeys.at(i))})
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- 1: SingleError (const enum)
    this.fuzzy = new UFuzzy({intraMode: 1})
    for (const warm of ['a', 'lo', 'hai', 'smiel', 'blu ey']) {
      await yieldToInput()
      this.search(warm, 20)
    }
  }
}

/** Resolves after the I/O callbacks already due (a key typed) have run: `setImmediate` runs after the poll phase. */
function yieldToInput(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** The serialised form of an index's parts (TagIndex.serialize describes it). */
function encode(parts: IndexParts): Uint8Array {
  const text = (t: string) => new Uint8Array(Buffer.from(t, 'utf8'))
  const bytesOf = (a: Int8Array | Uint8Array | Float64Array | Int32Array) =>
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  const sections: Record<(typeof SECTIONS)[number], Uint8Array> = {
    keys: text(parts.keys.join('\n')),
    exceptions: text([...parts.exceptions].map(([i, name]) => `${i}\t${name}`).join('\n')),
    categories: bytesOf(parts.categories),
    schemes: bytesOf(parts.schemeIds),
    counts: bytesOf(parts.counts),
    aliasKeys: text(parts.aliasKeys.join('\n')),
    aliasExceptions: text([...parts.aliasExceptions].map(([i, name]) => `${i}\t${name}`).join('\n')),
    aliasTargets: bytesOf(parts.aliasTargets),
    wordOffsets: bytesOf(parts.wordOffsets),
    wordTargets: bytesOf(parts.wordTargets),
  }
  return joinIndexSections(
    {
      format: FORMAT,
      size: parts.keys.length,
      aliases: parts.aliasKeys.length,
      words: parts.wordTargets.length,
      endian: ENDIAN,
      sourceKey: parts.sourceKey,
      fuzzyCutoff: parts.fuzzyCutoff,
    },
    SECTIONS.map((name) => sections[name]),
  )
}

/** The least post count among the FUZZY_POOL highest (0 when there are no more tags than that). */
function fuzzyCutoff(counts: ArrayLike<number>): number {
  const sorted = Float64Array.from(counts).sort()
  return sorted.length <= FUZZY_POOL ? 0 : sorted[sorted.length - FUZZY_POOL]
}

/** Sections start at multiples of 8 bytes, so that every typed array can be a view of the bytes read. */
const align8 = (n: number) => Math.ceil(n / 8) * 8

/**
 * Lays out a serialised index: the header as one line of JSON (its section lengths filled in, padded with spaces to a
 * multiple of 8 bytes, then `\n`), then each section at the next multiple of 8 bytes (zero bytes between). The
 * inverse of `indexSections`; exported for tests and tools.
 */
export function joinIndexSections(header: Omit<IndexHeader, 'lengths'>, sections: readonly Uint8Array[]): Uint8Array {
  const json = JSON.stringify({...header, lengths: sections.map((s) => s.byteLength)})
  const head = Buffer.from(json + ' '.repeat(align8(Buffer.byteLength(json) + 1) - Buffer.byteLength(json) - 1) + '\n')
  let total = head.length
  for (const section of sections) total = align8(total + section.byteLength)
  const out = new Uint8Array(total)
  out.set(head, 0)
  let at = head.length
  for (const section of sections) {
    out.set(section, at)
    at = align8(at + section.byteLength)
  }
  return out
}

/**
 * A serialised index taken apart: its header and its sections (views of `bytes`), or undefined when the bytes are not
 * laid out as `joinIndexSections` lays them out (no header line, sections that do not end exactly at the end).
 */
export function indexSections(bytes: Uint8Array): {header: IndexHeader; sections: Uint8Array[]} | undefined {
  const newline = bytes.indexOf(10)
  if (newline < 0 || (newline + 1) % 8 !== 0) return undefined
  let header: IndexHeader
  try {
    header = JSON.parse(decodeText(bytes.subarray(0, newline))) as IndexHeader
  } catch {
    return undefined
  }
  const {lengths} = header
  if (!Array.isArray(lengths) || lengths.length !== SECTIONS.length) return undefined
  const sections: Uint8Array[] = []
  let at = newline + 1
  for (const length of lengths) {
    if (!Number.isSafeInteger(length) || length < 0 || at + length > bytes.length) return undefined
    sections.push(bytes.subarray(at, at + length))
    at = align8(at + length)
  }
  return at === bytes.length ? {header, sections} : undefined
}

/**
 * `index\tname` lines (a section of exceptions) as a map; undefined when a line is not one or its index is not below
 * `count`.
 */
function exceptionLines(bytes: Uint8Array, count: number): Map<number, string> | undefined {
  const out = new Map<number, string>()
  const text = decodeText(bytes)
  if (!text) return out
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t')
    const at = Number(line.slice(0, tab))
    if (tab < 1 || !Number.isInteger(at) || at < 0 || at >= count) return undefined
    out.set(at, line.slice(tab + 1))
  }
  return out
}

/** UTF-8 text (ASCII, as the folded tags of danbooru.csv are, decodes to a one-byte string: compact and fast). */
function decodeText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
}

/**
 * `count` elements of a typed array held in `bytes`: a view when aligned (the file's bytes are not copied), else a
 * copy. Undefined when `bytes` is not exactly `count` elements long.
 */
function typedView<T extends Int8Array | Uint8Array | Int32Array | Float64Array>(
  Type: {new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number},
  bytes: Uint8Array,
  count: number,
): T | undefined {
  if (bytes.byteLength !== count * Type.BYTES_PER_ELEMENT) return undefined
  if (bytes.byteOffset % Type.BYTES_PER_ELEMENT === 0 && bytes.buffer instanceof ArrayBuffer)
    return new Type(bytes.buffer, bytes.byteOffset, count)
  const copy = bytes.slice()
  return new Type(copy.buffer, 0, count)
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function* range(lo: number, hi: number): Generator<number> {
  for (let i = lo; i < hi; i++) yield i
}

/** Index of the tag whose folded form is `key`, or -1. */
export function findKey(index: TagIndex, key: string): number {
  return index.find(key)
}
