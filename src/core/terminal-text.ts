/**
 * Terminal safety (README "Safety model", rule 7): text that came from files, names or git can hold characters a
 * terminal acts on instead of showing: C0 controls (U+0000–U+001F: ESC starts escape sequences such as an OSC 52
 * clipboard write or a screen clear, BEL rings, CR and backspace overwrite), DEL and the C1 controls
 * (U+007F–U+009F; U+009B is a one-character CSI for some terminals), and the bidirectional controls (U+202A–U+202E,
 * U+2066–U+2069) that reorder what is shown (the "Trojan Source" characters, CVE-2021-42574). lora refuses them in
 * tags and shows them escaped wherever it prints such text for a person. Pure: no I/O.
 */
import {CaptionControlError, UsageError} from '../errors.js'

/* eslint-disable no-control-regex -- matching control characters is what this file is for */
/** One character a terminal must not receive raw: C0, DEL, C1, or a bidi control. */
const UNSAFE_CHAR = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu
/** The same, except the line feed (for multi-line messages). */
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu
/** A colour (SGR) sequence, `ESC [ 1;31 m`: the only escape sequence lora's own styling writes. */
const SGR = /^\u001b\[[0-9;]*m/u
/** C0 controls other than tab and line feed, unless the ESC starts a colour (SGR) sequence such as chalk writes. */
const RAW_C0 = /\u001b(?!\[[0-9;]*m)|[\u0000-\u0008\u000b-\u001a\u001c-\u001f]/gu
/* eslint-enable no-control-regex */

const NAMED: Record<string, string> = {'\t': '\\t', '\n': '\\n', '\r': '\\r'}

/** How one unsafe character is shown: `\t` `\n` `\r`, `\x1b` for other C0, DEL and C1, `<U+202E>` for bidi. */
export function escapeChar(c: string): string {
  const code = c.codePointAt(0)!
  if (NAMED[c]) return NAMED[c]
  if (code <= 0x9f) return `\\x${code.toString(16).padStart(2, '0')}`
  return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`
}

/** True when `text` holds a control or bidi character (see the file comment). */
export function hasControls(text: string): boolean {
  return UNSAFE_CHAR.test(text)
}

/**
 * `text` with every control and bidi character escaped (escapeChar), so that it prints as what it is:
 * `a\x1b]52;c;...\x07`, `cat<U+202E>gpj.exe`. Every renderer in src/ui applies it to text that came from files,
 * names or git before adding its own colours.
 *
 * @param options.keepNewlines leave `\n` as a line break (multi-line messages such as errors)
 * @param options.keepColors leave colour sequences (`ESC [ ... m`) as they are: only for text lora styled itself,
 *   such as oclif's parse errors, never for text from files
 */
export function escapeControls(text: string, options: {keepNewlines?: boolean; keepColors?: boolean} = {}): string {
  return text.replace(options.keepNewlines ? UNSAFE_BUT_NEWLINE : UNSAFE_CHARS, (c, offset: number) => {
    if (options.keepColors && c === '\u001b' && SGR.test(text.slice(offset, offset + 32))) return c
    return escapeChar(c)
  })
}

/**
 * The last line of defence of the Terminal: escapes the C0 controls left in a whole output line (tab and line
 * feed excepted), keeping only the colour sequences (`ESC [ ... m`) lora's own styling writes. JSON output is
 * unchanged by it (JSON.stringify already escapes every C0 character). Renderers still escape their data with
 * escapeControls, which also covers C1, DEL and bidi characters and colour-looking sequences.
 */
export function escapeRawControls(line: string): string {
  return line.replace(RAW_C0, escapeChar)
}

/** `U+001B` style name of the first control or bidi character of `text`, or undefined when it has none. */
export function firstControl(text: string): string | undefined {
  const match = UNSAFE_CHAR.exec(text)
  return match ? `U+${match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : undefined
}

/**
 * Why `tag` cannot be a tag, or undefined when it can: it holds a control or bidi character. The text names the
 * tag escaped and the character, e.g. `tag "a\x1b[2Jb" holds a control character (U+001B)`.
 */
export function tagControlProblem(tag: string): string | undefined {
  const char = firstControl(tag)
  if (!char) return undefined
  const code = Number.parseInt(char.slice(2), 16)
  const kind = code >= 0x202a ? 'a bidirectional control character' : 'a control character'
  return `tag "${escapeControls(tag)}" holds ${kind} (${char})`
}

/**
 * Why a caption's tags cannot be taken in (into `state.json` and `tags.txt`), or undefined when they can: the
 * problem of its first tag holding a control or bidi character (tagControlProblem). The one rule every command that
 * reads a caption file applies: `lora init` adopting a caption, `status --rescan`, `repair`, caption edits (`lora
 * tag`, `next`, the dataset-wide `lora tags` edits; on the tags an edit would save) and `lora undo` (on the caption
 * it would bring back).
 */
export function captionTagsProblem(tags: readonly string[]): string | undefined {
  for (const tag of tags) {
    const problem = tagControlProblem(tag)
    if (problem) return problem
  }
  return undefined
}

/** A caption whose tags are not taken in (captionTagsProblem): its image, path (relative) and the problem. */
export interface ControlCaption {
  id: string
  path: string
  problem: string
}

/**
 * The error a change that would take in a caption's tags holding a control or bidi character raises (exit 1, code
 * `caption-control`; nothing was written), naming every such image, its caption file and the tag (escaped).
 * @param options.lead the message before the list (default `A caption holds a tag lora does not take in`)
 * @param options.hint what to do (default: fix the caption by hand, `lora status --rescan`, then run it again)
 */
export function controlCaptionsError(
  items: readonly ControlCaption[],
  options: {lead?: string; hint?: string} = {},
): CaptionControlError {
  const names = items.map((i) => `${i.id} (${i.path}: ${i.problem})`)
  const shown = names.length > 5 ? [...names.slice(0, 5), `and ${names.length - 5} more`] : names
  const lead =
    options.lead ??
    (items.length === 1
      ? 'A caption holds a tag lora does not take in'
      : `${items.length} captions hold tags lora does not take in`)
  return new CaptionControlError(
    `${lead}: ${shown.join('; ')}. Nothing was written.`,
    options.hint ??
      'Remove that character from each caption named by hand (or remove the tag in this edit), then run `lora status --rescan` to take the fixed caption in, and run the command again. lora takes no control or bidirectional characters into its state and tags.txt (README "Safety model").',
  )
}

/** The hint that goes with a refused tag or flag value. */
export const CONTROL_HINT =
  'lora refuses control and bidirectional characters in tags and names: a terminal that printed them could be made to run escape sequences or show reordered text (README "Safety model"). Type the text without them.'

/**
 * Refuses tags holding control or bidi characters (every way tags come in: `lora tag`, `next`, `tags add/rename`,
 * `tags import`).
 *
 * @param tags the tags, already normalised
 * @param where what they came from, for the message (`--add`, `stdin line 3`, `tags import line 12`)
 * @throws UsageError (exit 2) naming the first such tag, escaped
 */
export function refuseControlTags(tags: Iterable<string>, where: string): void {
  for (const tag of tags) {
    const problem = tagControlProblem(tag)
    if (problem) throw new UsageError(`${where}: ${problem}.`, CONTROL_HINT)
  }
}

/**
 * Refuses a flag value (`--prefix`, `--class`, `--trigger`) holding a control or bidi character.
 * @throws UsageError (exit 2) naming the flag and the value, escaped
 */
export function refuseControlFlag(flag: string, value: string | undefined): void {
  const char = value === undefined ? undefined : firstControl(value)
  if (char)
    throw new UsageError(
      `${flag} "${escapeControls(value!)}" holds a control or bidirectional character (${char}).`,
      CONTROL_HINT,
    )
}
