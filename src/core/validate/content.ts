/**
 * Checks of one caption file's bytes, the way trainers read them: UTF-8 only (kohya sd-scripts
 * `library/train_util.py` opens captions with `encoding="utf-8"`, so a BOM is kept as U+FEFF). The text is decoded
 * with lora's own caption decoder (core/caption-encoding.ts: UTF-8, its BOM dropped, or UTF-16 with a BOM), so the
 * tags of a UTF-16 or BOM caption are checked too; `encoding` reports what trainers cannot read. Only the first
 * line is used (sd-scripts `lines[0].strip()`), tags are the first line split on the separator and stripped
 * (sd-scripts `caption.split(caption_separator)`, ai-toolkit `raw_caption.split(',')`). Pure: no file system, no
 * terminal.
 */
import {normalizeTag, tagKey} from '../caption.js'
import type {RuleId} from './rules.js'
import {overTokenLimit} from './tokens.js'
import {escapeChar} from '../terminal-text.js'
import {decodeCaption} from '../caption-encoding.js'

/** What the caption checks need to know. */
export interface CaptionContext {
  /** The character tags are split on (`,` for the default separator `, `). */
  splitChar: string
  /** Trigger word expected first, or null. */
  trigger: string | null
  /** Known tags for `unknown-tag`, or null when that rule is off. */
  vocabulary: ReadonlySet<string> | null
  /** CLIP token budget for `token-limit`. */
  tokenLimit: number
  /** The rules that run. */
  active: ReadonlySet<RuleId>
}

/** A caption problem: the rule and the message (the caller adds path, severity and hint). */
export interface CaptionProblem {
  rule: RuleId
  message: string
}

const LINE_BREAK = /\r\n|\r|\n/u
/** Control and bidi characters a terminal acts on (core/terminal-text.ts), except tab and line breaks (other rules). */
// eslint-disable-next-line no-control-regex -- the rule finds control characters
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u
/** White space other than the plain space: tabs, NBSP, ideographic space, line and paragraph separators, ... */
const ODD_SPACE = /[^\S ]|[\u200b\ufeff]/u

/**
 * Checks a caption file's content.
 *
 * @param bytes the file's bytes, or its first bytes when `complete` is false
 * @param name the file's path relative to the validated folder, used in messages
 * @param ctx the separator, trigger, vocabulary, token budget and active rules
 * @param complete false when `bytes` is only the start of the file (a UTF-8 sequence cut at its end is not an error)
 * @returns the problems found, at most one per rule
 */
export function checkCaptionBytes(
  bytes: Uint8Array,
  name: string,
  ctx: CaptionContext,
  complete = true,
): CaptionProblem[] {
  const problems: CaptionProblem[] = []
  const on = (rule: RuleId) => ctx.active.has(rule)
  const add = (rule: RuleId, message: string) => {
    if (on(rule)) problems.push({rule, message})
  }
  // Decoded as everywhere else in lora (core/caption-encoding.ts): UTF-8 with its BOM dropped, or UTF-16 with a BOM.
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
  const decoded = decodeCaption(complete ? bytes : wholeCharacters(bytes, utf16, bom))
  if (decoded.problem !== undefined) {
    // Invalid UTF-8 is named by its first bad byte; the other problems (NUL, U+FFFD, bad UTF-16) as lora names them.
    const what = decoded.problem.startsWith('is not UTF-8')
      ? `is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8(bom ? bytes.subarray(3) : bytes) + (bom ? 3 : 0)})`
      : decoded.problem
    add(
      'encoding',
      `${name} ${what}; lora reads captions only as UTF-8 or as UTF-16 with a byte-order mark, and trainers stop with UnicodeDecodeError.`,
    )
    return problems
  }
  if (utf16)
    add(
      'encoding',
      `${name} is UTF-16 text (lora reads it, and its tags are checked below); trainers read captions as UTF-8 and stop on it.`,
    )
  if (bom)
    add('encoding', `${name} starts with a UTF-8 byte-order mark (BOM); sd-scripts keeps it as part of the first tag.`)
  const text = decoded.text
  if (text.length === 0) {
    add('empty-caption', `${name} is empty (0 bytes); sd-scripts stops with "AssertionError: caption file is empty".`)
    return problems
  }
  const lines = text.split(LINE_BREAK)
  const control = on('control-character') ? lines.findIndex((line) => CONTROL.test(line)) : -1
  if (control !== -1) {
    const char = CONTROL.exec(lines[control])![0]
    const code = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
    const kind = char >= '\u202a' ? 'a bidirectional control character' : 'a control character'
    add('control-character', `${name} holds ${kind} (${code}, shown as ${escapeChar(char)}) on line ${control + 1}.`)
  }
  const first = lines[0]
  const more = lines.slice(1).filter((line) => line.trim() !== '').length
  if (more > 0)
    add(
      'multiline-caption',
      `${name} has ${more + 1} lines of text; sd-scripts reads only the first line${first.trim() === '' ? ', which is empty' : ''}.`,
    )
  if (first.trim() === '') {
    add('empty-caption', `${name} has no tags on its first line; the image trains with an empty caption.`)
    return problems
  }

  const parts = first.split(ctx.splitChar)
  const emptyAt = parts.findIndex((part) => part.trim() === '')
  if (emptyAt !== -1)
    add(
      'empty-tag',
      `${name} has an empty tag (tag ${emptyAt + 1} of ${parts.length}: ${describeEmpty(emptyAt, parts.length)}).`,
    )
  if (on('whitespace')) {
    const problem = whitespaceProblem(first, parts)
    if (problem) add('whitespace', `${name} ${problem}.`)
  }
  const tags = parts.map(normalizeTag).filter((tag) => tag !== '')
  if (on('duplicate-tag')) {
    const seen = new Set<string>()
    const repeated = new Set<string>()
    for (const tag of tags) {
      const key = tagKey(tag)
      if (seen.has(key)) repeated.add(tag)
      seen.add(key)
    }
    if (repeated.size > 0) add('duplicate-tag', `${name} repeats ${quoteList([...repeated])}.`)
  }
  if (ctx.trigger && on('missing-trigger') && tags[0] !== ctx.trigger) {
    const at = tags.indexOf(ctx.trigger)
    add(
      'missing-trigger',
      at === -1
        ? `${name} lacks the trigger word "${ctx.trigger}".`
        : `${name} has the trigger word "${ctx.trigger}" as tag ${at + 1}, not first.`,
    )
  }
  if (ctx.vocabulary && on('unknown-tag')) {
    const unknown = tags.filter((tag) => tag !== ctx.trigger && !ctx.vocabulary!.has(tag))
    if (unknown.length > 0)
      add(
        'unknown-tag',
        `${name} uses ${unknown.length === 1 ? 'a tag' : `${unknown.length} tags`} not in tags.txt: ${quoteList(unknown)}.`,
      )
  }
  if (on('token-limit')) {
    const {over, tokens} = overTokenLimit(first, ctx.tokenLimit)
    if (over)
      add(
        'token-limit',
        `${name} is about ${tokens} CLIP tokens, over the limit of ${ctx.tokenLimit}; the rest is cut off.`,
      )
  }
  return problems
}

function describeEmpty(index: number, count: number): string {
  if (index === 0) return 'the line starts with a separator'
  if (index === count - 1) return 'the line ends with a separator'
  return 'two separators in a row'
}

/** What is wrong with the white space of a caption line, or undefined. Tags may follow a separator by one space. */
function whitespaceProblem(line: string, parts: readonly string[]): string | undefined {
  const odd = ODD_SPACE.exec(line)
  if (odd) return `contains ${describeChar(odd[0])}`
  if (line !== line.trim()) return line.startsWith(' ') ? 'starts with a space' : 'ends with a space'
  for (let i = 0; i < parts.length; i++) {
    const part = i > 0 && parts[i].startsWith(' ') ? parts[i].slice(1) : parts[i]
    if (part.trim() === '') continue
    if (part !== part.trim()) return `has a tag with ${part.startsWith(' ') ? 'leading' : 'trailing'} spaces: "${part}"`
    if (part.includes('  ')) return `has a tag with doubled spaces: "${part}"`
  }
  return undefined
}

function describeChar(c: string): string {
  const names: Record<string, string> = {
    '\t': 'a tab',
    '\u00a0': 'a no-break space (U+00A0)',
    '\u3000': 'an ideographic space (U+3000)',
    '\u200b': 'a zero-width space (U+200B)',
    '\ufeff': 'a zero-width no-break space (U+FEFF)',
  }
  return names[c] ?? `an unusual space character (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`
}

function quoteList(tags: readonly string[], max = 5): string {
  const shown = tags
    .slice(0, max)
    .map((t) => `"${t}"`)
    .join(', ')
  return tags.length > max ? `${shown} and ${tags.length - max} more` : shown
}

/**
 * The start of a file read only in part, cut before a character the read cut in two: a UTF-16 code unit (odd
 * length) or a high surrogate without its pair, or a UTF-8 sequence (lastWholeSequence).
 */
function wholeCharacters(bytes: Uint8Array, utf16: boolean, bom: boolean): Uint8Array {
  if (!utf16) {
    const start = bom ? 3 : 0
    return bytes.subarray(0, start + lastWholeSequence(bytes.subarray(start)))
  }
  let end = bytes.length - ((bytes.length - 2) % 2)
  const littleEndian = bytes[0] === 0xff
  if (end >= 4) {
    const unit = littleEndian ? bytes[end - 2] | (bytes[end - 1] << 8) : (bytes[end - 2] << 8) | bytes[end - 1]
    if (unit >= 0xd800 && unit <= 0xdbff) end -= 2
  }
  return bytes.subarray(0, end)
}

/** Length of `bytes` without a UTF-8 sequence cut off at its end. */
function lastWholeSequence(bytes: Uint8Array): number {
  const i = bytes.length
  for (let k = 1; k <= 3 && i - k >= 0; k++) {
    const b = bytes[i - k]
    if ((b & 0xc0) === 0x80) continue // continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
    return need > k ? i - k : i
  }
  return i
}

/** Offset of the first byte that makes `bytes` invalid UTF-8 (bytes.length when valid). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i]
    const need =
      b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1
    if (need < 0) return i
    for (let k = 1; k <= need; k++) {
      if (i + k >= bytes.length || (bytes[i + k] & 0xc0) !== 0x80) return i
    }
    // Overlongs and surrogates: the second byte's range is narrower after E0, ED, F0, F4.
    const second = bytes[i + 1]
    if (
      (b === 0xe0 && second < 0xa0) ||
      (b === 0xed && second > 0x9f) ||
      (b === 0xf0 && second < 0x90) ||
      (b === 0xf4 && second > 0x8f)
    )
      return i
    i += need + 1
  }
  return bytes.length
}
