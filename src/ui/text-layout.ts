/**
 * Fitting text to the terminal: how wide text is in terminal cells, flowing items onto lines at word boundaries,
 * and the escape sequence that clears a prompt after the terminal was resized under it. Pure functions of text and
 * sizes (no I/O), used by the tag prompt (prompts/tag-prompt.ts) and the lines `lora next`/`resume` print.
 */
import {stripVTControlCharacters} from 'node:util'

/**
 * The terminal cells `text` takes (plain text, no escape sequences): 0 for combining marks and zero-width
 * characters, 2 for East Asian wide and full-width characters and emoji, 1 otherwise. An approximation of
 * Unicode's East_Asian_Width (the ranges below), good for the tags and keys the prompt shows.
 */
export function cellWidth(text: string): number {
  // ASCII holds no mark, zero-width or wide character: one cell each (the common case, tested once per string).
  if (ASCII.test(text)) return text.length
  let width = 0
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0
    // Below U+0300 (the first combining mark) only U+00AD SOFT HYPHEN is zero-width (Cf); none is wide.
    if (code < 0x300 && code !== 0xad) {
      width++
      continue
    }
    if (/\p{Mn}|\p{Me}|\p{Cf}/u.test(char)) continue
    width += isWide(code) ? 2 : 1
  }
  return width
}

const ASCII = /^[^\u0080-\u{10ffff}]*$/u

/** The cells a styled string takes (its escape sequences take none). */
export function visibleWidth(styled: string): number {
  return cellWidth(stripVTControlCharacters(styled))
}

function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0x303e) ||
    (code >= 0x3041 && code <= 0x33ff) ||
    (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0x4e00 && code <= 0x9fff) ||
    (code >= 0xa000 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  )
}

/** A piece of text to flow: its text (it may hold colours already) and how to colour it. */
export interface Piece {
  text: string
  style?: (text: string) => string
}

/**
 * Flows `items` onto lines of at most `width` cells, `sep` between items on the same line (not at a line's end or
 * start). An item is moved whole to the next line when it does not fit; only an item wider than a line is broken,
 * at its spaces (a single word wider than a line, at any character). The first line starts with `prefix`, the
 * others with `indent`.
 *
 * @returns the styled lines (at least one)
 */
export function flow(
  items: readonly Piece[],
  width: number,
  options: {sep?: Piece; prefix?: Piece; indent?: string} = {},
): string[] {
  const sep = options.sep ?? {text: ' '}
  const indent = options.indent ?? ''
  const lines: string[] = []
  let line = ''
  let used = 0
  let empty = true
  const paint = (p: Piece, text = p.text) => (p.style ? p.style(text) : text)
  const newLine = () => {
    lines.push(line)
    line = indent
    used = cellWidth(indent)
    empty = true
  }
  if (options.prefix) {
    line = paint(options.prefix)
    used = visibleWidth(options.prefix.text)
  }
  const put = (p: Piece, text: string, w: number, separator: Piece) => {
    if (!empty) line += paint(separator)
    line += paint(p, text)
    used += w + (empty ? 0 : visibleWidth(separator.text))
    empty = false
  }
  for (const item of items) {
    const w = visibleWidth(item.text)
    const sepWidth = empty ? 0 : visibleWidth(sep.text)
    if (used + sepWidth + w <= width) {
      put(item, item.text, w, sep)
      continue
    }
    if (!empty) newLine()
    if (used + w <= width) {
      put(item, item.text, w, sep)
      continue
    }
    // Wider than a line: its words, flowed one by one (a colour inside it is dropped).
    for (const word of stripVTControlCharacters(item.text)
      .split(' ')
      .filter((x) => x !== '')) {
      let rest = word
      while (rest !== '') {
        const room = width - used - (empty ? 0 : 1)
        const ww = cellWidth(rest)
        if (ww <= room) {
          put(item, rest, ww, {text: ' '})
          break
        }
        if (!empty) {
          newLine()
          continue
        }
        const [head, tail] = splitAt(rest, Math.max(1, width - used))
        put(item, head, cellWidth(head), {text: ' '})
        newLine()
        rest = tail
      }
    }
  }
  lines.push(line)
  return lines
}

/**
 * `text` (a message line, colours allowed) flowed at its spaces onto lines of at most `width` cells, the lines
 * after the first indented by two spaces; unchanged when `width` is undefined (not a terminal).
 */
export function wrapText(text: string, width: number | undefined): string {
  if (width === undefined || visibleWidth(text) <= width) return text
  const words = text.split(' ').filter((w) => w !== '')
  return flow(
    words.map((w) => ({text: w})),
    width,
    {indent: '  '},
  ).join('\n')
}

/** Splits `text` where its first `cells` cells end. */
function splitAt(text: string, cells: number): [string, string] {
  let used = 0
  let i = 0
  for (const char of text) {
    const w = cellWidth(char)
    if (used + w > cells && i > 0) break
    used += w
    i += char.length
  }
  return [text.slice(0, i), text.slice(i)]
}

/** Cuts plain `text` to at most `cells` cells, ending in `…` when cut. */
export function truncate(text: string, cells: number): string {
  if (cellWidth(text) <= cells) return text
  if (cells <= 1) return cells === 1 ? '…' : ''
  return splitAt(text, cells - 1)[0] + '…'
}

/**
 * What a prompt drew last, as @inquirer/core's ScreenManager wrote it: enough to find the prompt's first line
 * again after the terminal changed width under it.
 */
export interface DrawnPrompt {
  /** The terminal's width when it was drawn (the width ScreenManager broke lines at). */
  columns: number
  /** The cells of each line above the input line (every one narrower than `columns`). */
  above: number[]
  /** The lines ScreenManager wrote in all (its `height`). */
  height: number
  /** The lines below the cursor's line (ScreenManager's `extraLinesUnderPrompt`). */
  below: number
}

/**
 * What ScreenManager writes for content of `aboveLines` lines above the input line, the input line
 * `promptLine` (plain: the prompt and what is typed), `cursor` cells into it, and `bottomLines` lines below, at
 * `columns` columns (@inquirer/core screen-manager.js: the input line is broken every `columns` cells and gets an
 * extra empty line when its length is a multiple of `columns`).
 */
export function drawnPrompt(
  columns: number,
  above: number[],
  promptLine: string,
  cursor: number,
  bottomLines: number,
): DrawnPrompt {
  const inputLines = Math.floor(promptLine.length / columns) + 1
  const cursorRow = Math.floor(cursor / columns)
  return {
    columns,
    above,
    height: above.length + inputLines + bottomLines,
    below: inputLines - 1 - cursorRow + bottomLines,
  }
}

/**
 * The escape sequence that clears a prompt after the terminal changed from `drawn.columns` to `columns` columns,
 * and leaves the cursor where ScreenManager's next render expects it, so that render draws the prompt afresh at
 * the prompt's first line, leaving no copy of any line behind.
 *
 * A terminal that reflows (xterm.js, VTE, tmux, iTerm2, kitty, Windows Terminal) re-wraps each line wider than the
 * new width onto ceil(cells / columns) rows, and keeps the cursor's place in its text; lines are never joined,
 * since the prompt draws none wider than the terminal. So the prompt's first line is that many rows above the
 * cursor, now `cursor` cells into the input line. From there: erase to the end of the screen, then move to the
 * line ScreenManager believes the cursor is on (`height - 1 - below` rows down; new lines scroll when the screen
 * is too short for that), from where its next render moves `below` down and erases `height` lines up to the
 * first line.
 */
export function clearAfterResize(drawn: DrawnPrompt, columns: number, cursor: number): string {
  const rows = (cells: number) => Math.max(1, Math.ceil(cells / columns))
  const cursorRow = Math.floor(cursor / drawn.columns)
  const cursorCol = cursor % drawn.columns
  const up =
    drawn.above.reduce((sum, cells) => sum + rows(cells), 0) +
    cursorRow * rows(drawn.columns) +
    Math.floor(cursorCol / columns)
  const ESC = '\u001B['
  let out = '\r' + (up > 0 ? `${ESC}${up}A` : '') + `${ESC}J`
  if (drawn.height > 1) out += '\n'.repeat(drawn.height - 1)
  if (drawn.below > 0) out += `${ESC}${drawn.below}A`
  return out
}
