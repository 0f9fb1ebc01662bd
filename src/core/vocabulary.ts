/**
 * The vocabulary: `tags.txt` in the output folder, one tag per line, sorted by code point (so its git diffs are
 * stable). It holds every tag the dataset has used or the user added; usage counts come from the captions.
 */
import {foldTag, normalizeTag, uniqueTags} from './caption.js'
import {findKey, type TagIndex} from './tag-index.js'
import type {CategoryScheme} from './categories.js'

export {foldTag}

/** File name of the vocabulary inside the output folder. */
export const VOCABULARY_FILE = 'tags.txt'

/**
 * Parses tags.txt: one tag per line; blank lines and lines starting with `#` are comments. As in gitignore, a
 * backslash before a leading `#` escapes it: `\#compass` is the tag `#compass` (and `\\#x` is `\#x`).
 */
export function parseVocabulary(text: string): string[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text
  return uniqueTags(
    body
      .split(/\r?\n/u)
      .map((line) => line.trimStart())
      .filter((line) => !line.startsWith('#'))
      .map((line) => normalizeTag(ESCAPED_HASH.test(line) ? line.slice(1) : line)),
  )
}

/** A line holding backslashes then `#`: one escaping backslash is dropped when read, added when written. */
const ESCAPED_HASH = /^\\+#/u
const NEEDS_ESCAPE = /^\\*#/u

/**
 * Serialises the vocabulary: sorted by code point, one per line, trailing newline ('' when empty). A tag starting
 * with `#` (danbooru has `#compass`) is written `\#compass` so that it is not read back as a comment.
 */
export function serializeVocabulary(tags: Iterable<string>): string {
  const list = uniqueTags([...tags].map(normalizeTag)).sort(compareCodePoints)
  return list.length === 0 ? '' : list.map((tag) => (NEEDS_ESCAPE.test(tag) ? '\\' + tag : tag)).join('\n') + '\n'
}

function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Counts how many captions use each tag. */
export function countTags(captions: Iterable<readonly string[]>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const tags of captions) for (const tag of tags) counts.set(tag, (counts.get(tag) ?? 0) + 1)
  return counts
}

/** One autocomplete suggestion. */
export interface Suggestion {
  tag: string
  /** Captions in this dataset using the tag. */
  count: number
  /** How it matched the input (`alias` and `fuzzy` only come from a reference vocabulary). */
  match: 'prefix' | 'word' | 'substring' | 'alias' | 'fuzzy'
  /**
   * From a reference vocabulary, when the tag is in one: its category number, the category scheme to read it in
   * (core/categories.ts categoryLabel) and its post count.
   */
  category?: number
  scheme?: CategoryScheme
  posts?: number
  /** The alias the user typed, for `alias` matches (`longhair` → `long_hair`). */
  alias?: string
}

/**
 * Autocomplete over the vocabulary. Matching ignores case and treats `_` and space alike (`long hair` finds
 * `long_hair`). Ranking: prefix matches, then matches at a word start, then substring matches; within each, most
 * used first, then alphabetical.
 *
 * @param vocabulary all known tags
 * @param counts usage counts (tags missing from it count 0)
 * @param input what the user typed so far ('' lists the most used tags)
 * @param exclude tags not to suggest (the image's current tags)
 * @param limit at most this many suggestions
 * @param fold foldTag, or a lookup of folded forms the caller keeps (a prompt asks once per key typed)
 */
export function suggestTags(
  vocabulary: readonly string[],
  counts: ReadonlyMap<string, number>,
  input: string,
  exclude: ReadonlySet<string> = new Set(),
  limit = 50,
  fold: (tag: string) => string = foldTag,
): Suggestion[] {
  const query = foldTag(input)
  const rank: Record<Suggestion['match'], number> = {prefix: 0, word: 1, substring: 2, alias: 3, fuzzy: 4}
  const out: Suggestion[] = []
  for (const tag of vocabulary) {
    if (exclude.has(tag)) continue
    const folded = fold(tag)
    let match: 'prefix' | 'word' | 'substring' | undefined
    if (query === '' || folded.startsWith(query)) match = 'prefix'
    else {
      const at = folded.indexOf(query)
      if (at > 0) match = /[\s\-(:/]/u.test(folded[at - 1]) ? 'word' : 'substring'
    }
    if (match) out.push({tag, count: counts.get(tag) ?? 0, match})
  }
  out.sort((a, b) => rank[a.match] - rank[b.match] || b.count - a.count || compareCodePoints(a.tag, b.tag))
  return out.slice(0, limit)
}

/**
 * Autocomplete over the dataset's vocabulary and, when one is imported, a reference vocabulary index.
 * Ranking (issue: "tags used in this dataset first"): the dataset's own tags that match (prefix, word start,
 * substring; by dataset count, then reference post count), then reference tags: an alias typed in full, prefix
 * matches, alias prefix matches, word-start matches, then fuzzy matches (each by post count). A tag appears once
 * (`long hair` in the dataset hides the reference's `long_hair`).
 */
export class Suggester {
  constructor(
    private readonly vocabulary: readonly string[],
    private readonly counts: ReadonlyMap<string, number>,
    /** The reference vocabularies' index this suggester searches too. */
    readonly index?: TagIndex,
  ) {}

  /** The vocabulary's folded forms by tag (made on first use, then kept: folding 2,000 tags on every key typed showed). */
  private foldedByTag?: ReadonlyMap<string, string>

  /** The same suggester searching `index` too (what it folded is kept). */
  withIndex(index: TagIndex): Suggester {
    const next = new Suggester(this.vocabulary, this.counts, index)
    next.foldedByTag = this.foldedByTag
    return next
  }

  /** Each dataset tag's position in the index (-1: not in it), by folded form; filled as tags are looked up. */
  private readonly positions = new Map<string, number>()
  /** The dataset's tags by folded form (made on first use: a suggester answers every key typed at one prompt). */
  private datasetForms?: Map<string, string>

  private position(index: TagIndex, folded: string): number {
    let at = this.positions.get(folded)
    if (at === undefined) this.positions.set(folded, (at = findKey(index, folded)))
    return at
  }

  /** Suggestions for `input`, excluding `exclude` (the image's current tags, in either form); at most `limit`. */
  suggest(input: string, exclude: ReadonlySet<string> = new Set(), limit = 50): Suggestion[] {
    const {index} = this
    const excluded = new Set([...exclude].map(foldTag))
    const foldedByTag = (this.foldedByTag ??= new Map(this.vocabulary.map((t) => [t, foldTag(t)])))
    const fold = (tag: string) => foldedByTag.get(tag) ?? foldTag(tag)
    const local = suggestTags(this.vocabulary, this.counts, input, exclude, index ? Infinity : limit, fold).filter(
      (s) => !excluded.has(fold(s.tag)),
    )
    if (!index) return local
    for (const s of local) {
      const at = this.position(index, fold(s.tag))
      if (at >= 0) {
        s.category = index.categories[at]
        s.scheme = index.scheme(at)
        s.posts = index.counts[at]
      }
    }
    const rank: Record<Suggestion['match'], number> = {prefix: 0, word: 1, substring: 2, alias: 3, fuzzy: 4}
    local.sort(
      (a, b) =>
        rank[a.match] - rank[b.match] ||
        b.count - a.count ||
        (b.posts ?? 0) - (a.posts ?? 0) ||
        compareCodePoints(a.tag, b.tag),
    )
    const shown = local.slice(0, limit)
    const remaining = limit - shown.length
    if (remaining <= 0) return shown
    const seen = new Set([...shown.map((s) => fold(s.tag)), ...excluded])
    // A reference tag the dataset already has in another form (`long_hair` / `long hair`) is offered in the dataset's form.
    const datasetForm = (this.datasetForms ??= new Map(this.vocabulary.map((t) => [fold(t), t])))
    const fromIndex = index.search(foldTag(input), remaining, (i) => seen.has(index.key(i)))
    return [
      ...shown,
      ...fromIndex.map((m) => {
        const own = datasetForm.get(index.key(m.index))
        return {
          tag: own ?? index.name(m.index),
          count: own ? (this.counts.get(own) ?? 0) : 0,
          match: m.match,
          category: index.categories[m.index],
          scheme: index.scheme(m.index),
          posts: index.counts[m.index],
          alias: m.alias,
        }
      }),
    ]
  }
}

/**
 * Tags close to `query` (never `query` itself), for a "did you mean" when a tag is not found: first those equal to
 * it but for case, spaces, `_` and `-` (`longhair`, `Long_Hair` → `long hair`), then uFuzzy's single-error matches (one substitution, transposition,
 * insertion or deletion per word: `watermrk` → `watermark`; the matcher of the autocomplete's fuzzy tier,
 * core/tag-index.ts), best first. Case is ignored.
 * @param candidates the tags to choose from (duplicates are shown once)
 * @param limit at most this many
 */
export async function closeMatches(query: string, candidates: Iterable<string>, limit = 5): Promise<string[]> {
  const folded = foldTag(query)
  const compact = (s: string) => s.replace(/[\s_-]+/gu, '')
  const exact = normalizeTag(query)
  const list = uniqueTags([...candidates]).filter((t) => t !== exact)
  if (folded === '' || list.length === 0) return []
  const out = list.filter((t) => compact(foldTag(t)) === compact(folded))
  const {default: UFuzzy} = await import('@leeoniya/ufuzzy')
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- 1: SingleError (const enum)
  const fuzzy = new UFuzzy({intraMode: 1})
  const hay = list.map(foldTag)
  const [idxs, info, order] = fuzzy.search(hay, folded)
  if (idxs && info && order) for (const i of order) out.push(list[info.idx[i]])
  else if (idxs) for (const i of idxs) out.push(list[i])
  return uniqueTags(out).slice(0, limit)
}
