/**
 * Images drawn inside the terminal (README "Images in the terminal"): the viewer setting, which protocol a terminal
 * speaks, the preview's size in cells, and the escape sequences of each protocol. Pure: the pixels come from
 * adapters/images.ts (`previewPixels`), the terminal's answers from ui/inline-preview.ts.
 *
 * Sources of the formats:
 * - kitty graphics protocol, https://sw.kovidgoyal.net/kitty/graphics-protocol/ : APC `ESC _ G <keys> ; <base64>
 *   ESC \`, PNG data (`f=100`) sent at once (`a=T`: transmit and display) in chunks of at most 4096 base64 bytes,
 *   every chunk but the last with `m=1`; `c`/`r` the cells it covers, `C=1` leaves the cursor where it is, `q=2`
 *   silences the terminal's replies, `a=d,d=I,i=ID` deletes the image with that id.
 * - iTerm2 inline images, https://iterm2.com/documentation-images.html : OSC `ESC ] 1337 ; File = <args> :
 *   <base64> BEL`, with `inline=1`, `size` (bytes), `width`/`height` in cells and `preserveAspectRatio=0`.
 * - sixel, DEC STD 070 / VT330-340 Programmer Reference ch. 14 ("Sixel graphics"): DCS `ESC P q`, raster attributes
 *   `" 1 ; 1 ; W ; H`, colour registers `# n ; 2 ; r ; g ; b` (percent), bands of six pixel rows, `!n` repeats,
 *   `$` back to the band's start, `-` next band, ST `ESC \`. The palette is fixed: the 216 colours of the
 *   6×6×6 cube with levels 0, 51, …, 255 (the "web-safe" cube), nearest level per channel.
 * - half blocks: U+2580 ▀ with the upper pixel as foreground and the lower as background colour (ECMA-48 SGR
 *   38/48;2;r;g;b truecolor, or 38/48;5;n with xterm's 256-colour table: the 6×6×6 cube of levels 0, 95, 135,
 *   175, 215, 255 at 16–231 and 24 greys 8 + 10·i at 232–255).
 * - tmux passthrough (tmux(1), `allow-passthrough`): `ESC P tmux ; <sequence with every ESC doubled> ESC \`.
 */

/** How an image is drawn in the terminal. */
export type InlineProtocol = 'kitty' | 'iterm2' | 'sixel' | 'halfblocks'

/** The viewer setting, parsed (README "The viewer"). */
export interface ViewerSetting {
  /** `auto`: the system viewer with a display, else inline. */
  auto: boolean
  /** Draw in the terminal. */
  inline: boolean
  /** The system viewer (xdg-open, open, start). */
  system: boolean
  /** A viewer command (the image path is appended). */
  command?: string
}

const KEYWORDS = new Set(['auto', 'inline', 'system', 'none'])

/**
 * Parses a viewer setting: `auto`, `inline`, `system`, `none`, a comma-separated combination of these
 * (`inline,system`), a command (`feh -F`), or `inline,<command>`. A value that is not all keywords is a command:
 * a command may hold commas of its own.
 */
export function parseViewerSetting(text: string): ViewerSetting {
  const value = text.trim()
  const parts = value.split(',').map((p) => p.trim().toLowerCase())
  if (parts.every((p) => KEYWORDS.has(p))) {
    const has = (k: string) => parts.includes(k)
    return {auto: has('auto'), inline: has('inline'), system: has('system')}
  }
  const inlineCommand = /^inline\s*,\s*(.+)$/iu.exec(value)
  if (inlineCommand) return {auto: false, inline: true, system: false, command: inlineCommand[1].trim()}
  return {auto: false, inline: false, system: false, command: value}
}

/**
 * True when there is a display for the system viewer: macOS, Windows, WSL (its opener is Windows'), or
 * DISPLAY/WAYLAND_DISPLAY set elsewhere.
 */
export function hasDisplay(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): boolean {
  if (platform === 'darwin' || platform === 'win32') return true
  if (env.WSL_DISTRO_NAME || env.WSL_INTEROP) return true
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY)
}

/** What the environment says about the terminal's images. */
export interface InlineDetection {
  /** The protocol, or `query` when only the terminal's answer can tell (kitty's `a=q`, DA1's sixel bit). */
  protocol: InlineProtocol | 'query'
  /** Inside tmux: sequences other than half blocks need its passthrough. */
  tmux: boolean
  /** Colours for half blocks: truecolor when COLORTERM says so, else 256. */
  colors: 'truecolor' | '256'
  /** Which variable decided, for the debug output and the tests. */
  because: string
}

/**
 * The protocol the environment names, from the variables terminals set (README "Images in the terminal" has the
 * table): kitty (`KITTY_WINDOW_ID`, `TERM=xterm-kitty`), Ghostty (`TERM_PROGRAM=ghostty`, `TERM=xterm-ghostty`) →
 * kitty; iTerm2 (`TERM_PROGRAM=iTerm.app`, `LC_TERMINAL=iTerm2`), WezTerm (`TERM_PROGRAM=WezTerm`, `WEZTERM_*`;
 * its kitty graphics need a setting, iTerm2's do not), VS Code (`TERM_PROGRAM=vscode`), mintty → iterm2; foot
 * (`TERM=foot*`), mlterm, Windows Terminal (`WT_SESSION`) → sixel; the Linux console (`TERM=linux`), GNU screen
 * (`STY`) and `TERM=dumb` → half blocks; anything else (xterm, VTE's `VTE_VERSION`, Konsole, …) → `query`.
 */
export function detectInline(env: NodeJS.ProcessEnv): InlineDetection {
  const term = env.TERM ?? ''
  const program = env.TERM_PROGRAM ?? ''
  const tmux = Boolean(env.TMUX) || /^tmux/u.test(term)
  const colors = /^(truecolor|24bit)$/iu.test(env.COLORTERM ?? '') ? 'truecolor' : '256'
  const found = (protocol: InlineDetection['protocol'], because: string): InlineDetection => ({
    protocol,
    tmux,
    colors,
    because,
  })
  if (env.STY) return found('halfblocks', 'STY (GNU screen)')
  if (term === 'linux' || term === 'dumb' || term === '') return found('halfblocks', `TERM=${term}`)
  if (env.KITTY_WINDOW_ID) return found('kitty', 'KITTY_WINDOW_ID')
  if (term === 'xterm-kitty') return found('kitty', 'TERM=xterm-kitty')
  if (program === 'ghostty' || term === 'xterm-ghostty') return found('kitty', 'ghostty')
  if (program === 'iTerm.app' || env.LC_TERMINAL === 'iTerm2') return found('iterm2', 'iTerm2')
  if (program === 'WezTerm' || env.WEZTERM_PANE || env.WEZTERM_EXECUTABLE) return found('iterm2', 'WezTerm')
  if (program === 'vscode') return found('iterm2', 'TERM_PROGRAM=vscode')
  if (program === 'mintty' || term === 'mintty') return found('iterm2', 'mintty')
  if (/^foot/u.test(term)) return found('sixel', `TERM=${term}`)
  if (term === 'mlterm' || env.MLTERM) return found('sixel', 'mlterm')
  if (env.WT_SESSION) return found('sixel', 'WT_SESSION (Windows Terminal)')
  return found('query', `TERM=${term}`)
}

/**
 * What lora asks a terminal whose protocol the environment does not name, in one write: kitty's graphics query
 * (`a=q` of a 1×1 image: a kitty-protocol terminal answers `ESC _ G i=31 ; OK ESC \`), the cell size in pixels
 * (`CSI 16 t` → `CSI 6 ; H ; W t`), the text area in pixels (`CSI 14 t` → `CSI 4 ; H ; W t`), and DA1 (`CSI c` →
 * `CSI ? … c`, attribute 4 = sixel). Every terminal answers DA1, and answers in order, so DA1's answer ends it.
 */
export const TERMINAL_QUERY = '\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\\x1b[16t\x1b[14t\x1b[c'

/** What a terminal answered to TERMINAL_QUERY. */
export interface QueryAnswer {
  kitty: boolean
  sixel: boolean
  /** The size of one cell in pixels, when the terminal said (16t, or 14t divided by the cells). */
  cell?: {width: number; height: number}
  /** DA1's answer came: nothing more will. */
  complete: boolean
}

/**
 * Reads a terminal's answer to TERMINAL_QUERY.
 * @param text what came on stdin
 * @param cells the terminal's size in cells (to turn 14t's pixels into a cell size)
 */
export function parseQueryAnswer(text: string, cells: {columns: number; rows: number}): QueryAnswer {
  /* eslint-disable no-control-regex -- the answers are escape sequences */
  const kitty = /\x1b_Gi=31;OK\x1b\\/u.test(text)
  const da1 = /\x1b\[\?([\d;]*)c/u.exec(text)
  const sixel = da1 ? da1[1].split(';').includes('4') : false
  const cell16 = /\x1b\[6;(\d+);(\d+)t/u.exec(text)
  const area14 = /\x1b\[4;(\d+);(\d+)t/u.exec(text)
  /* eslint-enable no-control-regex */
  let cell: QueryAnswer['cell']
  if (cell16 && Number(cell16[1]) > 0 && Number(cell16[2]) > 0)
    cell = {width: Number(cell16[2]), height: Number(cell16[1])}
  else if (area14 && cells.columns > 0 && cells.rows > 0 && Number(area14[1]) > 0 && Number(area14[2]) > 0)
    cell = {width: Number(area14[2]) / cells.columns, height: Number(area14[1]) / cells.rows}
  return cell ? {kitty, sixel, cell, complete: da1 !== null} : {kitty, sixel, complete: da1 !== null}
}

/** `text` without the terminal's answers to TERMINAL_QUERY (what is left was typed). */
export function withoutAnswers(text: string): string {
  // eslint-disable-next-line no-control-regex -- the answers are escape sequences
  return text.replace(/\x1b_G[^\x1b]*\x1b\\|\x1b\[[46];\d+;\d+t|\x1b\[\?[\d;]*c/gu, '')
}

/** The cell size assumed when the terminal does not say: 10×20 pixels (twice as tall as wide, as most fonts). */
export const DEFAULT_CELL = {width: 10, height: 20}

/** Largest preview side sent, in pixels: keeps a kitty/iTerm2/sixel image to a few hundred kB. */
export const MAX_PREVIEW_PIXELS = 1200

/** Where and how large a preview is drawn. */
export interface PreviewBox {
  /** Cells it covers. */
  columns: number
  rows: number
  /** Pixels of the image drawn (for half blocks: one per column, two per row). */
  width: number
  height: number
}

/**
 * The largest box of at most `maxColumns` × `maxRows` cells that shows an image of `imageWidth` × `imageHeight`
 * pixels (as displayed) at its aspect ratio, given the cell's size in pixels, and the pixels to resize it to:
 * the cells' pixels (at most MAX_PREVIEW_PIXELS a side) for kitty, iTerm2 and sixel; one pixel per column and two
 * per row for half blocks. Undefined when there is no room or the image has no pixels.
 */
export function fitPreview(
  image: {width: number; height: number},
  room: {maxColumns: number; maxRows: number},
  cell: {width: number; height: number},
  protocol: InlineProtocol,
): PreviewBox | undefined {
  if (image.width <= 0 || image.height <= 0 || room.maxColumns < 1 || room.maxRows < 1) return undefined
  const aspect = image.width / image.height
  const ratio = cell.height / cell.width
  let rows = room.maxRows
  let columns = Math.max(1, Math.round(rows * ratio * aspect))
  if (columns > room.maxColumns) {
    columns = room.maxColumns
    rows = Math.max(1, Math.min(room.maxRows, Math.round(columns / (ratio * aspect))))
  }
  if (protocol === 'halfblocks') return {columns, rows, width: columns, height: rows * 2}
  let width = Math.round(columns * cell.width)
  let height = Math.round(rows * cell.height)
  const scale = Math.min(1, MAX_PREVIEW_PIXELS / Math.max(width, height))
  // sixel draws pixels as they are: never scaled below the cells' size (it would cover fewer cells).
  if (protocol !== 'sixel') {
    width = Math.max(1, Math.round(width * scale))
    height = Math.max(1, Math.round(height * scale))
  }
  return {columns, rows, width, height}
}

/** The kitty chunk size: at most 4096 bytes of base64 per escape sequence (the protocol's limit). */
export const KITTY_CHUNK = 4096

/**
 * A PNG as kitty graphics: transmitted and displayed at once (`a=T,f=100`), covering `columns` × `rows` cells,
 * the cursor left where it was (`C=1`), replies off (`q=2`), with image id `id` (to delete it later), in chunks of
 * KITTY_CHUNK base64 bytes.
 */
export function kittyImage(png: Uint8Array, box: {columns: number; rows: number}, id: number): string {
  const data = Buffer.from(png).toString('base64')
  const chunks: string[] = []
  for (let at = 0; at < data.length; at += KITTY_CHUNK) chunks.push(data.slice(at, at + KITTY_CHUNK))
  if (chunks.length === 0) chunks.push('')
  return chunks
    .map((chunk, i) => {
      const more = i < chunks.length - 1 ? 1 : 0
      const keys = i === 0 ? `a=T,f=100,i=${id},c=${box.columns},r=${box.rows},C=1,q=2,m=${more}` : `m=${more}`
      return `\x1b_G${keys};${chunk}\x1b\\`
    })
    .join('')
}

/** Deletes the kitty image `id` (all its placements, and its data: `d=I`). */
export function kittyDelete(id: number): string {
  return `\x1b_Ga=d,d=I,i=${id},q=2\x1b\\`
}

/** A PNG as an iTerm2 inline image covering `columns` × `rows` cells. */
export function iterm2Image(png: Uint8Array, box: {columns: number; rows: number}): string {
  const args = `inline=1;size=${png.length};width=${box.columns};height=${box.rows};preserveAspectRatio=0`
  return `\x1b]1337;File=${args}:${Buffer.from(png).toString('base64')}\x07`
}

/** RGB pixels, 3 bytes a pixel, row by row. */
export interface RgbImage {
  data: Uint8Array
  width: number
  height: number
}

/** The sixel palette level (0–5) nearest a channel value, on the 0, 51, …, 255 cube. */
function level6(value: number): number {
  return Math.round(value / 51)
}

/** The sixel palette: register i = 36·r + 6·g + b of the 6×6×6 cube, as `[r, g, b]` 0–255. */
export function sixelPalette(): [number, number, number][] {
  const out: [number, number, number][] = []
  for (let r = 0; r < 6; r++) for (let g = 0; g < 6; g++) for (let b = 0; b < 6; b++) out.push([r * 51, g * 51, b * 51])
  return out
}

/** The palette register a pixel is drawn with. */
export function sixelIndex(r: number, g: number, b: number): number {
  return 36 * level6(r) + 6 * level6(g) + level6(b)
}

/**
 * RGB pixels as sixel: the fixed 216-colour palette (only the registers used are defined), one band per six pixel
 * rows, runs of four or more of the same sixel written `!n`.
 */
export function sixelImage(image: RgbImage): string {
  const {data, width, height} = image
  const index = new Uint8Array(width * height)
  for (let p = 0; p < width * height; p++) index[p] = sixelIndex(data[p * 3], data[p * 3 + 1], data[p * 3 + 2])
  const used = [...new Set(index)].sort((a, b) => a - b)
  const palette = sixelPalette()
  const percent = (v: number) => Math.round((v * 100) / 255)
  let out = `\x1bPq"1;1;${width};${height}`
  for (const i of used) out += `#${i};2;${palette[i].map(percent).join(';')}`
  // One pass over each band's pixels: each colour's sixels across the band, then its runs.
  const bits = new Map<number, Uint8Array>()
  for (let top = 0; top < height; top += 6) {
    const rows = Math.min(6, height - top)
    for (const row of bits.values()) row.fill(0)
    const present = new Set<number>()
    for (let y = 0; y < rows; y++)
      for (let x = 0, p = (top + y) * width; x < width; x++, p++) {
        const colour = index[p]
        let row = bits.get(colour)
        if (!row) bits.set(colour, (row = new Uint8Array(width)))
        row[x] |= 1 << y
        present.add(colour)
      }
    const bandParts: string[] = []
    for (const colour of [...present].sort((a, b) => a - b))
      bandParts.push(`#${colour}${sixelRuns(bits.get(colour) ?? new Uint8Array(width))}`)
    out += bandParts.join('$') + '-'
  }
  return out + '\x1b\\'
}

/** One colour's sixels across a band, with runs compressed (`!n<char>` for four or more). */
function sixelRuns(bits: Uint8Array): string {
  let out = ''
  let x = 0
  while (x < bits.length) {
    let end = x + 1
    while (end < bits.length && bits[end] === bits[x]) end++
    const char = String.fromCharCode(63 + bits[x])
    const n = end - x
    out += n >= 4 ? `!${n}${char}` : char.repeat(n)
    x = end
  }
  return out
}

/** xterm's 256-colour cube levels (colours 16–231). */
const CUBE = [0, 95, 135, 175, 215, 255]

/** The xterm 256-colour index nearest an RGB colour (the 6×6×6 cube at 16–231 or the greys at 232–255). */
export function xterm256(r: number, g: number, b: number): number {
  const nearest = (v: number) => {
    let best = 0
    for (let i = 1; i < 6; i++) if (Math.abs(CUBE[i] - v) < Math.abs(CUBE[best] - v)) best = i
    return best
  }
  const [cr, cg, cb] = [nearest(r), nearest(g), nearest(b)]
  const cube = 16 + 36 * cr + 6 * cg + cb
  const cubeError = (CUBE[cr] - r) ** 2 + (CUBE[cg] - g) ** 2 + (CUBE[cb] - b) ** 2
  const grey = Math.max(0, Math.min(23, Math.round(((r + g + b) / 3 - 8) / 10)))
  const level = 8 + 10 * grey
  const greyError = (level - r) ** 2 + (level - g) ** 2 + (level - b) ** 2
  return greyError < cubeError ? 232 + grey : cube
}

/** The RGB colour of an xterm 256-colour index of 16–255. */
export function xterm256Rgb(index: number): [number, number, number] {
  if (index >= 232) {
    const v = 8 + 10 * (index - 232)
    return [v, v, v]
  }
  const i = index - 16
  return [CUBE[Math.floor(i / 36)], CUBE[Math.floor(i / 6) % 6], CUBE[i % 6]]
}

/**
 * RGB pixels of an even height as lines of ▀: each cell's foreground is the pixel above, its background the pixel
 * below; every line ends with SGR 0.
 */
export function halfBlockLines(image: RgbImage, colors: 'truecolor' | '256'): string[] {
  const {data, width, height} = image
  const pixel = (x: number, y: number) => {
    const p = (y * width + x) * 3
    return [data[p], data[p + 1], data[p + 2]] as const
  }
  const sgr = (ground: 38 | 48, [r, g, b]: readonly [number, number, number]) =>
    colors === 'truecolor' ? `${ground};2;${r};${g};${b}` : `${ground};5;${xterm256(r, g, b)}`
  const lines: string[] = []
  for (let y = 0; y + 1 < height; y += 2) {
    let line = ''
    for (let x = 0; x < width; x++) line += `\x1b[${sgr(38, pixel(x, y))};${sgr(48, pixel(x, y + 1))}m▀`
    lines.push(line + '\x1b[0m')
  }
  return lines
}

/** A sequence sent through tmux to the terminal outside it (tmux's `allow-passthrough`): every ESC doubled. */
export function tmuxPassthrough(sequence: string): string {
  return `\x1bPtmux;${sequence.replaceAll('\x1b', '\x1b\x1b')}\x1b\\`
}
