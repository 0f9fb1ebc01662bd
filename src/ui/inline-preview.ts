/**
 * The image drawn inside the terminal (README "Images in the terminal"): by `lora next`/`lora resume` above the
 * tag prompt, by `lora show --preview` below the report.
 *
 * Once per run (`prepare`), the protocol is chosen from the environment (core/inline-image.ts `detectInline`) and,
 * when the environment cannot tell, from the terminal's answer to one query (kitty's `a=q`, the cell size, DA1)
 * read from stdin in raw mode for at most QUERY_TIMEOUT_MS, before any prompt reads it. Inside tmux the kitty,
 * iTerm2 and sixel sequences go through its passthrough when `allow-passthrough` is on, else half blocks are drawn.
 * Half blocks need colour: with NO_COLOR (or --no-color) nothing is drawn.
 *
 * In the tag prompt: `reserve` writes the preview's rows (blank) before the prompt, so the prompt is drawn below
 * them and told it has that many rows fewer (it fits itself into the rest: the whole prompt stays visible); `draw`
 * starts after the prompt has been shown, resizes the image off the event loop (sharp), and then writes it in one
 * write: save the cursor, up to the reserved rows, the image, restore the cursor, so typing is never waited on
 * and the prompt is not moved. `clear`, when the prompt has ended, erases the rows (and deletes a kitty image),
 * so what stays behind is what stayed before previews existed; a process exit while an image shows deletes it too.
 */
import {
  DEFAULT_CELL,
  detectInline,
  fitPreview,
  halfBlockLines,
  type InlineProtocol,
  iterm2Image,
  kittyDelete,
  kittyImage,
  parseQueryAnswer,
  type PreviewBox,
  sixelImage,
  TERMINAL_QUERY,
  withoutAnswers,
  tmuxPassthrough,
} from '../core/inline-image.js'
import {previewPixels} from '../adapters/preview-image.js'
import {tmuxAllowsPassthrough} from '../adapters/viewer.js'
import {debugLog} from '../adapters/debug.js'
import type {Terminal} from './terminal.js'

/** The cell size sixel assumes when the terminal does not say: xterm's smallest usual font (6×12 pixels). */
export const SIXEL_GUESSED_CELL = {width: 6, height: 12}
/** Longest wait for the terminal's answer to the query, in milliseconds (once per run). */
export const QUERY_TIMEOUT_MS = 400
/** Preview rows when `preview.rows` is not set. */
export const DEFAULT_PREVIEW_ROWS = 20
/** Rows kept for the tag prompt below the preview: its message, tags, key help, 7 suggestions, a note, the input. */
export const PROMPT_ROWS = 12
/** Fewer rows than this left for a preview: none is drawn. */
export const MIN_PREVIEW_ROWS = 3

/** How this run draws, once `prepare` has looked. */
export interface InlineMode {
  protocol: InlineProtocol
  colors: 'truecolor' | '256'
  /** Wrap sequences for tmux's passthrough. */
  tmux: boolean
  /** A cell's size in pixels. */
  cell: {width: number; height: number}
  /** Why this protocol (the variable, or `query`). */
  because: string
}

type Stream = NodeJS.WritableStream & {columns?: number; rows?: number}
type Input = NodeJS.ReadableStream & {isTTY?: boolean; isRaw?: boolean; setRawMode?(raw: boolean): unknown}

/** Kitty image ids lora uses: one per image shown in a run. */
let nextKittyId = 0x10a0

/** One run's inline previews. Never throws from `draw`: a preview that cannot be made is a warning. */
export class InlinePreview {
  private mode?: InlineMode | null
  /**
   * The rows reserved for the image shown now: `reserved` as written, `rows` as they take the screen now (half
   * blocks wider than a narrowed terminal are re-wrapped by it: see `onResize`), the half blocks drawn
   * (`drawnRows` lines of `drawnColumns` cells), the kitty image id.
   */
  private current?: {
    reserved: number
    rows: number
    drawnRows: number
    drawnColumns: number
    kittyId?: number
    active: boolean
  }
  /**
   * After a resize, the rows the reserved area takes: a terminal that reflows (xterm.js, VTE, kitty, iTerm2, Windows
   * Terminal; as the tag prompt assumes, ui/text-layout.ts `clearAfterResize`) wraps each half-block line wider than
   * the new width onto ceil(width / columns) rows, and joins them again when it widens; blank rows stay one row.
   */
  private readonly onResize = () => {
    const target = this.current
    const columns = this.out.columns ?? 0
    if (!target || target.drawnRows === 0 || columns <= 0) return
    target.rows = target.reserved - target.drawnRows + target.drawnRows * Math.ceil(target.drawnColumns / columns)
  }
  private warned = false
  /** The terminal had too few rows for an image above the prompt (for `whyNot`). */
  private tooShort = false
  private told = false
  private readonly onExit = () => this.deleteKitty()

  /**
   * @param term the terminal (stdout draws, stdin answers the query)
   * @param rows the preview's rows (`preview.rows`), or undefined for DEFAULT_PREVIEW_ROWS
   */
  constructor(
    private readonly term: Terminal,
    private readonly rows?: number,
  ) {}

  private get out(): Stream {
    const out: Stream = this.term.stdout
    return out
  }

  /**
   * Chooses the protocol (once per run): the environment, then, when it cannot tell and stdin is a terminal, the
   * terminal's answer. Null when nothing can be drawn (stdout is no terminal, or half blocks without colour).
   */
  async prepare(): Promise<InlineMode | null> {
    if (this.mode !== undefined) return this.mode
    this.mode = await this.choose()
    const mode = this.mode
    await debugLog(
      'lora:preview',
      mode
        ? `drawing with ${mode.protocol} (${mode.because}${mode.tmux ? ', through tmux' : ''}), cells ${mode.cell.width}×${mode.cell.height} px`
        : 'no inline preview (stdout is not a terminal, or half blocks without colour)',
    )
    return mode
  }

  private async choose(): Promise<InlineMode | null> {
    if (!this.term.stdoutIsTTY) return null
    const env = this.term.env
    const found = detectInline(env)
    let protocol: InlineProtocol = found.protocol === 'query' ? 'halfblocks' : found.protocol
    let because = found.because
    let cell: {width: number; height: number} | undefined
    const tmux = found.tmux && protocol !== 'halfblocks' && tmuxAllowsPassthrough(env)
    if (found.tmux && !tmux) {
      protocol = 'halfblocks'
      because = 'tmux without allow-passthrough'
    } else if (!found.tmux && protocol !== 'halfblocks') {
      const answer = await this.query()
      if (answer?.cell) cell = answer.cell
    } else if (found.protocol === 'query' && !found.tmux) {
      const answer = await this.query()
      if (answer?.cell) cell = answer.cell
      if (answer?.kitty) protocol = 'kitty'
      else if (answer?.sixel) protocol = 'sixel'
      because = `query (${found.because})`
    }
    if (protocol === 'halfblocks' && this.term.color.level === 0) return null
    // sixel's pixels are drawn as they are: with a guessed cell too large the image would cover more rows than kept
    // for it (the prompt's), so it guesses small; kitty and iTerm2 are told the cells to cover.
    cell ??= protocol === 'sixel' ? SIXEL_GUESSED_CELL : DEFAULT_CELL
    return {protocol, colors: found.colors, tmux, cell, because}
  }

  /** Asks the terminal (TERMINAL_QUERY) and reads its answer for at most QUERY_TIMEOUT_MS. */
  private async query(): Promise<ReturnType<typeof parseQueryAnswer> | undefined> {
    const input = this.term.stdin as Input
    if (!this.term.stdinIsTTY || typeof input.setRawMode !== 'function') return undefined
    const cells = {columns: this.out.columns ?? 0, rows: this.out.rows ?? 0}
    const wasRaw = Boolean(input.isRaw)
    let text = ''
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer)
        input.off('data', onData)
        input.setRawMode?.(wasRaw)
        input.pause()
        // Keys typed meanwhile are given back, for the prompt to read.
        const typed = withoutAnswers(text)
        if (typed !== '') input.unshift(Buffer.from(typed))
        resolve(parseQueryAnswer(text, cells))
      }
      const onData = (chunk: Buffer | string) => {
        text += chunk.toString()
        if (parseQueryAnswer(text, cells).complete) finish()
      }
      input.setRawMode?.(true)
      input.on('data', onData)
      input.resume()
      const timer = setTimeout(finish, QUERY_TIMEOUT_MS)
      this.out.write(TERMINAL_QUERY)
    })
  }

  /** The preview's rows for a terminal of `terminalRows`, leaving `keep` rows for what is below it. */
  private previewRows(keep: number): number {
    const terminalRows = this.out.rows ?? 0
    const rows = Math.min(this.rows ?? DEFAULT_PREVIEW_ROWS, terminalRows - keep)
    return rows >= MIN_PREVIEW_ROWS ? rows : 0
  }

  /**
   * Before the tag prompt: writes the preview's blank rows (none when the terminal is too small or nothing can be
   * drawn) and returns how many, which the prompt must leave free. With the image's displayed size, only the rows
   * its box takes at this width (a wide image leaves no blank rows between it and the prompt).
   */
  reserve(image?: {width: number; height: number}): number {
    this.current = undefined
    const mode = this.mode
    if (!mode) return 0
    // The details line above and the prompt below stay on the screen.
    let rows = this.previewRows(PROMPT_ROWS + 1)
    if (rows === 0) {
      this.tooShort = true
      return 0
    }
    if (image) {
      const maxColumns = Math.max(1, (this.out.columns ?? 80) - 1)
      const box = fitPreview(image, {maxColumns, maxRows: rows}, mode.cell, mode.protocol)
      if (box) rows = box.rows
    }
    this.out.write('\n'.repeat(rows))
    this.current = {reserved: rows, rows, drawnRows: 0, drawnColumns: 0, active: true}
    this.out.on('resize', this.onResize)
    return rows
  }

  /**
   * Draws `path` into the reserved rows, once sharp has resized it; `rowsAboveCursor` gives, when it is drawn, the
   * rows from the prompt's first row to the cursor's. Nothing is drawn once `clear` was called.
   * @returns the warning to print when the image could not be made (once per run), else undefined
   */
  async draw(path: string, rowsAboveCursor: () => number): Promise<string | undefined> {
    const target = this.current
    if (!this.mode || !target) return undefined
    const columns = Math.max(1, (this.out.columns ?? 80) - 1)
    let drawn: {text: string; box: PreviewBox; kittyId?: number} | undefined
    try {
      drawn = await this.render(path, {maxColumns: columns, maxRows: target.rows})
    } catch (error) {
      return this.warnOnce(`could not draw a preview of ${path} (${(error as Error).message}).`)
    }
    if (!drawn || !target.active || this.current !== target) return undefined
    // Resized narrower since the box was chosen, or meanwhile: the lines would wrap; this image is not drawn.
    if (drawn.box.columns >= (this.out.columns ?? 80) || target.rows !== target.reserved) return undefined
    target.kittyId = drawn.kittyId
    if (this.mode.protocol === 'halfblocks') {
      target.drawnRows = drawn.box.rows
      target.drawnColumns = drawn.box.columns
    }
    if (drawn.kittyId !== undefined) process.on('exit', this.onExit)
    const up = target.reserved + rowsAboveCursor()
    this.out.write(`\x1b7\x1b[${up}A\r${drawn.text}\x1b8`)
    return undefined
  }

  /** Erases the reserved rows (the cursor is on the row below them, where the prompt began) and the image. */
  clear(): void {
    const target = this.current
    if (!target) return
    target.active = false
    this.current = undefined
    this.out.off('resize', this.onResize)
    this.deleteKitty(target)
    this.out.write(`\x1b[${target.rows}A\r\x1b[J`)
  }

  private deleteKitty(target = this.current): void {
    if (target?.kittyId === undefined || !this.mode) return
    this.out.write(this.wrap(kittyDelete(target.kittyId)))
    target.kittyId = undefined
    process.off('exit', this.onExit)
  }

  /**
   * Why nothing is drawn, once per run, for a note: colour is off where only half blocks can be drawn, or the
   * terminal has too few rows for an image and the whole prompt. Undefined when images are drawn, or once said.
   */
  whyNot(): string | undefined {
    if (this.told || this.mode === undefined) return undefined
    let why: string | undefined
    if (this.mode === null && this.term.stdoutIsTTY)
      why =
        'the image is not drawn in the terminal: this terminal shows images only as coloured half blocks, and colour is off (NO_COLOR or --no-color); set LORA_VIEWER to an image viewer command, or turn colour on.'
    else if (this.tooShort)
      why = `the image is not drawn in the terminal: it has fewer than ${PROMPT_ROWS + 1 + MIN_PREVIEW_ROWS} rows, too few for an image above the whole prompt; make it taller.`
    if (why) this.told = true
    return why
  }

  /**
   * `lora show --preview`: draws `path` at the cursor, below what was printed, and leaves the cursor on the row
   * under it. Nothing when nothing can be drawn.
   * @returns a warning to print, or undefined
   */
  async drawHere(path: string): Promise<string | undefined> {
    const mode = await this.prepare()
    if (!mode) return undefined
    const rows = this.previewRows(2)
    if (rows === 0) return undefined
    const columns = Math.max(1, (this.out.columns ?? 80) - 1)
    let drawn
    try {
      drawn = await this.render(path, {maxColumns: columns, maxRows: rows})
    } catch (error) {
      return this.warnOnce(`could not draw a preview of ${path} (${(error as Error).message}).`)
    }
    if (!drawn) return undefined
    // The rows first (the screen scrolls now, not under the image), then the image at their top.
    this.out.write('\n'.repeat(drawn.box.rows) + `\x1b[${drawn.box.rows}A\r${drawn.text}\x1b[${drawn.box.rows}B\r`)
    return undefined
  }

  /** The image's escape sequence (or half-block lines) for a box of at most `room`, from one sharp resize. */
  private async render(
    path: string,
    room: {maxColumns: number; maxRows: number},
  ): Promise<{text: string; box: PreviewBox; kittyId?: number} | undefined> {
    const mode = this.mode
    if (!mode) return undefined
    let box: PreviewBox | undefined
    const png = mode.protocol === 'kitty' || mode.protocol === 'iterm2'
    const pixels = await previewPixels(path, png ? 'png' : 'rgb', (displayed) => {
      box = fitPreview(displayed, room, mode.cell, mode.protocol)
      return box
    })
    if (!pixels || !box) return undefined
    switch (mode.protocol) {
      case 'kitty': {
        const kittyId = nextKittyId++
        return {text: this.wrap(kittyImage(pixels.data, box, kittyId)), box, kittyId}
      }
      case 'iterm2':
        return {text: this.wrap(iterm2Image(pixels.data, box)), box}
      case 'sixel':
        return {text: this.wrap(sixelImage(pixels)), box}
      case 'halfblocks':
        // One line a row, each started where the first began: down one row without a newline (never scrolls).
        return {text: halfBlockLines(pixels, mode.colors).join(`\x1b[1B\r`), box}
    }
  }

  /** Inside tmux: each kitty chunk in a passthrough of its own (each stays small), other sequences whole. */
  private wrap(sequence: string): string {
    if (!this.mode?.tmux) return sequence
    // eslint-disable-next-line no-control-regex -- kitty's APC sequences
    const chunks = sequence.match(/\x1b_G[^\x1b]*\x1b\\/gu)
    return chunks && chunks.join('') === sequence ? chunks.map(tmuxPassthrough).join('') : tmuxPassthrough(sequence)
  }

  private warnOnce(text: string): string | undefined {
    if (this.warned) return undefined
    this.warned = true
    return text
  }
}
