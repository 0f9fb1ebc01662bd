/**
 * Caption files: one line of tags joined by a separator (`, ` by default), a trailing newline, UTF-8.
 * This is the format kohya sd-scripts (`library/train_util.py`, split on `caption_separator`, default `,`),
 * ai-toolkit (`toolkit/prompt_utils.py`) and CivitAI's trainer read.
 */

import {UsageError} from '../errors.js'

/** Default separator written between tags. */
export const DEFAULT_SEPARATOR = ', '

/**
 * Normalises one tag as typed: trims it and collapses inner runs of white space (including tabs and newlines)
 * to one space. Everything else is kept as typed: `(`, `)`, `:`, `\`, `_` and non-ASCII characters.
 * Returns '' for a tag that is only white space.
 */
export function normalizeTag(raw: string): string {
  return raw.replace(/\s+/gu, ' ').trim()
}

/** The Unicode noncharacters: U+FDD0–U+FDEF and the last two code points of each plane (U+FFFE, U+FFFF, U+1FFFE, ...). */
const NONCHARACTER = new RegExp(
  `[\\u{FDD0}-\\u{FDEF}${Array.from({length: 17}, (_, plane) => `\\u{${(plane * 0x10000 + 0xfffe).toString(16)}}-\\u{${(plane * 0x10000 + 0xffff).toString(16)}}`).join('')}]`,
  'u',
)

/**
 * `U+FFFF` style name of the first Unicode noncharacter in `text` (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF), or undefined
 * when it has none. Such characters are for a program's own use, never for interchange: a trainer's config reader
 * may refuse a file holding one (PyYAML refuses U+FFFE and U+FFFF), so a trigger word or class token holds none.
 */
export function firstNoncharacter(text: string): string | undefined {
  const match = NONCHARACTER.exec(text)
  return match ? `U+${match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : undefined
}

/**
 * Refuses a flag value (`--trigger`, `--class`) holding a Unicode noncharacter (firstNoncharacter).
 * @throws UsageError (exit 2) naming the flag and the character
 */
export function refuseNoncharacterFlag(flag: string, value: string | undefined): void {
  const char = value === undefined ? undefined : firstNoncharacter(value)
  if (char)
    throw new UsageError(
      `${flag} holds a Unicode noncharacter (${char}); nothing was written.`,
      `Type ${flag} without it: noncharacters are not for interchange, and trainers' config readers (PyYAML) refuse them.`,
    )
}

/**
 * Removes empty tags and exact repeats (the first occurrence wins, order kept). Input tags must already be
 * normalised. For lists of distinct spellings, such as the vocabulary; a caption's tags use `uniqueCaptionTags`.
 */
export function uniqueTags(tags: Iterable<string>): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const tag of tags) {
    if (tag === '' || seen.has(tag)) continue
    seen.add(tag)
    out.push(tag)
  }
  return out
}

/**
 * The form in which two tags of one caption are the same tag: lower case (`sky` and `SKY` are one tag). CLIP
 * lower-cases the caption, so a second spelling only weights the tag twice; `lora validate`'s `duplicate-tag`
 * compares the same way.
 */
export function tagKey(tag: string): string {
  return tag.toLowerCase()
}

/**
 * The one rule for a caption's tags: empty tags and repeats are dropped, case ignored (`tagKey`); the first
 * spelling wins and the order is kept (`sky, SKY, cloud` → `sky, cloud`). Every list of tags that becomes a caption
 * goes through it (reading a caption, `lora tag`, the prompt, merges), and `withTrigger` counts the trigger word
 * the same way. Input tags must already be normalised.
 */
export function uniqueCaptionTags(tags: Iterable<string>): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const tag of tags) {
    const key = tagKey(tag)
    if (tag === '' || seen.has(key)) continue
    seen.add(key)
    out.push(tag)
  }
  return out
}

/**
 * The tag of `tags` that is the same tag as `tag` (case ignored, `tagKey`), or undefined: what the prompt and the
 * edits name when a tag is already there.
 */
export function findSameTag(tags: Iterable<string>, tag: string): string | undefined {
  const key = tagKey(tag)
  for (const t of tags) if (tagKey(t) === key) return t
  return undefined
}

/** The character tags are split on when reading: the separator without its spaces (`, ` → `,`). */
export function splitChar(separator: string = DEFAULT_SEPARATOR): string {
  return separator.trim() || ','
}

/**
 * Parses caption text into tags. A UTF-8 BOM is dropped; line breaks count as separators, so a hand-written
 * multi-line caption loses nothing (it is saved back as one line). Tags are normalised, empty tags and repeats
 * (case ignored: `uniqueCaptionTags`) dropped.
 *
 * @param text the caption file's content
 * @param separator the configured separator (only its non-space part is used for splitting)
 * @returns the tags in order
 */
export function parseCaption(text: string, separator: string = DEFAULT_SEPARATOR): string[] {
  return uniqueCaptionTags(splitCaption(text, separator))
}

/**
 * The tags caption text holds as written: like `parseCaption` (BOM dropped, line breaks as separators, tags
 * normalised, empty ones dropped) but repeats kept, so an edit can tell that the file needs rewriting.
 */
export function splitCaption(text: string, separator: string = DEFAULT_SEPARATOR): string[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text
  const sep = splitChar(separator)
  const parts: string[] = []
  for (const line of body.split(/\r?\n|\r/u)) {
    for (const part of line.split(sep)) {
      const tag = normalizeTag(part)
      if (tag !== '') parts.push(tag)
    }
  }
  return parts
}

/**
 * Parses a list of tags given on the command line or typed (`a, b,c`): the same rules as caption text.
 */
export function parseTagList(input: string, separator: string = DEFAULT_SEPARATOR): string[] {
  return parseCaption(input, separator)
}

/**
 * Serialises tags into caption file content: tags joined by `separator`, then a newline. No tags gives an empty
 * file (''). Tags must not contain the separator character or line breaks (parseCaption never yields such tags).
 */
export function serializeCaption(tags: readonly string[], separator: string = DEFAULT_SEPARATOR): string {
  const clean = uniqueCaptionTags(tags.map(normalizeTag))
  return clean.length === 0 ? '' : clean.join(separator) + '\n'
}

/**
 * Puts the trigger word first (moving it there if present elsewhere; another spelling of it, case ignored, is
 * dropped: `tagKey`). Without a trigger the tags are returned unchanged. The trigger is what kohya's
 * `keep_tokens = 1` keeps in place when captions are shuffled.
 */
export function withTrigger(tags: readonly string[], trigger: string | undefined): string[] {
  const t = trigger ? normalizeTag(trigger) : ''
  if (!t) return [...tags]
  const key = tagKey(t)
  return [t, ...tags.filter((tag) => tagKey(tag) !== key)]
}

/** What changed between two tag lists: tags added (in `after`'s order) and removed (in `before`'s order). */
export interface TagDiff {
  added: string[]
  removed: string[]
}

/** Computes the tag-level difference between two lists (order changes alone are not a change). */
export function diffTags(before: readonly string[], after: readonly string[]): TagDiff {
  const b = new Set(before)
  const a = new Set(after)
  return {added: after.filter((t) => !b.has(t)), removed: before.filter((t) => !a.has(t))}
}

/**
 * Three-way merge used when a caption changed on disk while the user was typing: applies the user's edit
 * (`base` → `mine`) onto the current tags (`theirs`). When nothing changed on disk the user's list is taken as
 * is (keeping their order); otherwise their removals are removed and their additions appended.
 */
export function mergeTags(base: readonly string[], mine: readonly string[], theirs: readonly string[]): string[] {
  if (sameList(base, theirs)) return [...mine]
  const {added, removed} = diffTags(base, mine)
  const drop = new Set(removed)
  return uniqueCaptionTags([...theirs.filter((t) => !drop.has(t)), ...added])
}

/** True when both lists hold the same tags in the same order. */
export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i])
}

/** Lower case, with `_` read as a space: the form tags are compared in for matching (`Long_Hair` ~ `long hair`). */
export function foldTag(tag: string): string {
  return normalizeTag(tag.replace(/_/gu, ' ')).toLowerCase()
}
