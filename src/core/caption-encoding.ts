/**
 * Text encodings of caption files (README "Safety model", rule 6). A caption is UTF-8 (a leading BOM is dropped)
 * or UTF-16 with a byte-order mark (decoded). Anything else (Latin-1 `café`, UTF-16 without a BOM, text holding
 * NUL bytes or U+FFFD replacement characters) is not guessed at: it is a problem the user fixes with `iconv`, and
 * lora neither takes it in nor writes over it. Pure: bytes in, text or a problem out.
 */

import {LoraError} from '../errors.js'
import {groupDigits} from './progress.js'
import {shellQuote} from './shell.js'
import {escapeControls} from './terminal-text.js'

/**
 * The largest caption file lora reads, in bytes: 1 MiB. A caption is one line of tags (one of 8,000 tags is about
 * 100 KB), so a larger file is not a caption: it is refused before any byte of it is read, so that a caption file
 * planted at gigabytes cannot be read whole into memory by any command (README "Safety model").
 */
export const CAPTION_MAX_BYTES = 1024 * 1024

/** A file size for messages: `2.0 GiB (2,147,483,648 bytes)`, `1.0 MiB (1,048,577 bytes)`, `512 bytes`. */
export function fileSizeText(bytes: number): string {
  const exact = `${groupDigits(bytes)} bytes`
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB (${exact})`
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB (${exact})`
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KiB (${exact})`
  return exact
}

/**
 * Why a caption file of `size` bytes is not read, as a clause to follow its name: `is 2.0 GiB (2,147,483,648
 * bytes), more than the 1 MiB lora reads for a caption file`.
 */
export function captionTooLargeProblem(size: number): string {
  return `${overCapText(size, CAPTION_MAX_BYTES)} for a caption file`
}

/**
 * A file of `size` bytes past a cap of `maxBytes`, as a clause to follow its name: `is 600.0 MiB (629,145,600 bytes),
 * more than the 512 MiB lora reads` (the cap in whole MiB; callers say of what).
 */
export function overCapText(size: number, maxBytes: number): string {
  return `is ${fileSizeText(size)}, more than the ${Math.round(maxBytes / 2 ** 20)} MiB lora reads`
}

/**
 * A caption file larger than CAPTION_MAX_BYTES, met by a command that would read it (exit 1, code
 * `caption-too-large`): names the file (relative to the dataset folder, escaped), its size and the cap, and says what
 * to do. Nothing of the file was read, and nothing was written.
 */
export class CaptionTooLargeError extends LoraError {
  /**
   * @param path the caption file, relative to the dataset folder (`/`-separated)
   * @param size its size in bytes
   */
  constructor(
    readonly path: string,
    readonly size: number,
  ) {
    super(`${escapeControls(path)} ${captionTooLargeProblem(size)}; nothing of it was read, and nothing was done.`, {
      code: 'caption-too-large',
      hint: `A caption file holds one line of tags (a few KB). Look at what this one holds (\`head -c 300 ${escapeControls(shellQuote(path))}\`), then replace it with the image's tags or remove it, and run the command again.`,
    })
  }
}

/** A decoded caption, or why it cannot be read as text. */
export type DecodedCaption = {text: string; problem?: undefined} | {text?: undefined; problem: string}

/**
 * The byte order of UTF-16 text without a byte-order mark, told by where its zero bytes fall: an ASCII character's
 * zero high byte comes first in big-endian text, second in little-endian (Windows "Unicode"). Undefined when the
 * zeros fall evenly (no guess). Pure.
 */
export function utf16OrderByZeros(bytes: Uint8Array): 'be' | 'le' | undefined {
  let even = 0
  let odd = 0
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) continue
    if (i % 2 === 0) even++
    else odd++
  }
  return even > odd ? 'be' : odd > even ? 'le' : undefined
}

/** The problem of text holding NUL bytes: UTF-16 without its byte-order mark, as a rule (utf16OrderByZeros). */
function nulBytes(bytes: Uint8Array): string {
  return `holds NUL bytes (UTF-16${utf16OrderByZeros(bytes) === 'be' ? 'BE' : 'LE'} without a byte-order mark?)`
}

const utf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})
const utf16le = new TextDecoder('utf-16le', {fatal: true, ignoreBOM: true})
const utf16be = new TextDecoder('utf-16be', {fatal: true, ignoreBOM: true})

/**
 * Decodes a caption file's bytes.
 * - `EF BB BF` (UTF-8 BOM): the rest as UTF-8, BOM dropped.
 * - `FF FE` / `FE FF` (UTF-16 LE/BE BOM): the rest as UTF-16, BOM dropped.
 * - otherwise: strict UTF-8.
 * The decoded text must not contain U+0000 (NUL: typically UTF-16 without a BOM) or U+FFFD (a file already
 * damaged by a lossy conversion). Never throws.
 *
 * @param bytes the whole file
 * @returns `{text}` or `{problem}` (a predicate to follow the file's name: "is not UTF-8 text (...)", "holds NUL bytes (...)")
 */
export function decodeCaption(bytes: Uint8Array): DecodedCaption {
  let text: string
  let encoding = 'UTF-8'
  try {
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) text = utf8.decode(bytes.subarray(3))
    else if (bytes[0] === 0xff && bytes[1] === 0xfe) {
      encoding = 'UTF-16'
      text = utf16le.decode(bytes.subarray(2))
    } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
      encoding = 'UTF-16'
      text = utf16be.decode(bytes.subarray(2))
    } else text = utf8.decode(bytes)
  } catch {
    if (encoding === 'UTF-8' && bytes.includes(0)) return {problem: nulBytes(bytes)}
    return {
      problem:
        encoding === 'UTF-8' ? 'is not UTF-8 text (Latin-1 or another legacy encoding?)' : 'is not valid UTF-16 text',
    }
  }
  if (text.includes('\u0000')) return {problem: encoding === 'UTF-8' ? nulBytes(bytes) : 'holds NUL characters'}
  if (text.includes('\uFFFD'))
    return {problem: 'holds U+FFFD replacement characters (damaged by an earlier conversion)'}
  return {text}
}

/**
 * The one-line fix for a caption `decodeCaption` refused, naming the file as given (a path the user can paste).
 * Latin-1 is the usual culprit (Windows Notepad, old taggers); UTF-16LE or UTF-16BE when the problem is NUL bytes
 * (decodeCaption says which); the user may substitute the real encoding.
 */
export function captionEncodingFix(path: string, problem = ''): string {
  const q = /^[\w./@%+=:,-]+$/u.test(path) ? path : `'${path.replace(/'/gu, `'\\''`)}'`
  // NUL bytes in otherwise valid UTF-8 are almost always UTF-16 (Windows "Unicode") without its byte-order mark;
  // decodeCaption says which byte order the zeros point to.
  const from = problem.includes('NUL') ? (problem.includes('UTF-16BE') ? 'utf-16be' : 'utf-16le') : 'latin1'
  return `convert it to UTF-8, e.g. \`iconv -f ${from} -t utf-8 ${q} > ${q}.new && mv ${q}.new ${q}\` (with the file's real encoding if it is not ${from})`
}

/** A caption lora cannot read as text: the image, the caption's path (relative to the dataset folder), why. */
export interface UndecodableCaption {
  id: string
  path: string
  problem: string
}

/**
 * The error a command that would write (or export) an undecodable caption raises: exit 1, code `caption-encoding`,
 * naming every such image and the fix; nothing was written.
 */
export function undecodableCaptionsError(items: readonly UndecodableCaption[]): LoraError {
  const names = items.map((i) => `${i.id} (${i.path} ${i.problem})`)
  const shown = names.length > 5 ? [...names.slice(0, 5), `and ${names.length - 5} more`] : names
  const first = items[0]
  return new LoraError(
    `${items.length === 1 ? 'A caption is' : `${items.length} captions are`} not UTF-8 or UTF-16 text: ${shown.join('; ')}. Nothing was written.`,
    {
      code: 'caption-encoding',
      hint: `For each, ${captionEncodingFix(first.path, first.problem)}; then run the command again. \`lora status --rescan\` lists them all.`,
    },
  )
}
