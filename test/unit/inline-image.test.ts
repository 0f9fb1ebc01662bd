/**
 * Images in the terminal (README "Images in the terminal"): the escape sequences of each protocol on a real photo
 * (core/inline-image.ts, pixels from adapters/preview-image.ts), read back independently here: kitty's and
 * iTerm2's PNG decoded by sharp and compared pixel for pixel, sixel decoded by a small decoder below, half blocks'
 * colours compared with sharp's resized pixels; the detection table, the terminal's answers, the box, the viewer
 * setting and the user config's `preview.rows`.
 */
import {promises as fsp} from 'node:fs'
import {join} from 'node:path'
import sharp from 'sharp'
import {
  DEFAULT_CELL,
  detectInline,
  fitPreview,
  halfBlockLines,
  hasDisplay,
  iterm2Image,
  KITTY_CHUNK,
  kittyDelete,
  kittyImage,
  parseQueryAnswer,
  parseViewerSetting,
  sixelImage,
  sixelIndex,
  sixelPalette,
  tmuxPassthrough,
  withoutAnswers,
  xterm256,
  xterm256Rgb,
} from '../../src/core/inline-image.js'
import {previewPixels} from '../../src/adapters/preview-image.js'
import {loadUserConfig} from '../../src/store/user-config.js'
import {ConfigError} from '../../src/errors.js'
import {FIXTURES, makeTemp, removeTemp} from '../helpers.js'

const PHOTO = join(FIXTURES, 'plasma-Kite-screenshot.jpg')
const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/** sharp's own pixels of the photo resized to `width` × `height`, upright, RGB. */
async function sharpPixels(path: string, width: number, height: number): Promise<Buffer> {
  return sharp(path).rotate().resize(width, height, {fit: 'fill'}).toColourspace('srgb').removeAlpha().raw().toBuffer()
}

describe('kitty graphics', () => {
  it('sends the PNG in 4096-byte base64 chunks, a=T,f=100 first, m=1 until the last, and it decodes to the resized photo', async () => {
    const box = {columns: 40, rows: 12}
    const pixels = await previewPixels(PHOTO, 'png', () => ({width: 400, height: 240}))
    if (!pixels) throw new Error('no pixels')
    const text = kittyImage(pixels.data, box, 4242)
    const chunks = [...text.matchAll(/\x1b_G([^;]*);([^\x1b]*)\x1b\\/gu)]
    expect(chunks.map((c) => c[0]).join('')).toBe(text)
    expect(chunks.length).toBe(Math.ceil(Buffer.from(pixels.data).toString('base64').length / KITTY_CHUNK))
    expect(chunks.length).toBeGreaterThan(1)
    expect(chunks[0][1]).toBe('a=T,f=100,i=4242,c=40,r=12,C=1,q=2,m=1')
    expect(chunks.slice(1, -1).every((c) => c[1] === 'm=1')).toBe(true)
    expect(chunks.at(-1)?.[1]).toBe('m=0')
    expect(chunks.every((c) => c[2].length <= KITTY_CHUNK)).toBe(true)
    expect(chunks.slice(0, -1).every((c) => c[2].length === KITTY_CHUNK)).toBe(true)
    const png = Buffer.from(chunks.map((c) => c[2]).join(''), 'base64')
    const decoded = await sharp(png).removeAlpha().raw().toBuffer({resolveWithObject: true})
    expect([decoded.info.width, decoded.info.height]).toEqual([400, 240])
    expect(decoded.data.equals(await sharpPixels(PHOTO, 400, 240))).toBe(true)
    expect(kittyDelete(4242)).toBe('\x1b_Ga=d,d=I,i=4242,q=2\x1b\\')
  })

  it('a PNG of one chunk or less is one sequence with m=0', () => {
    expect(kittyImage(Uint8Array.from([1, 2, 3]), {columns: 2, rows: 1}, 7)).toBe(
      '\x1b_Ga=T,f=100,i=7,c=2,r=1,C=1,q=2,m=0;AQID\x1b\\',
    )
  })
})

describe('iTerm2 inline images', () => {
  it('is OSC 1337 File= with inline=1, the size in bytes and the cells, and carries the resized photo', async () => {
    const pixels = await previewPixels(PHOTO, 'png', () => ({width: 300, height: 180}))
    if (!pixels) throw new Error('no pixels')
    const text = iterm2Image(pixels.data, {columns: 30, rows: 9})
    const base64 = Buffer.from(pixels.data).toString('base64')
    expect(text).toBe(
      `\x1b]1337;File=inline=1;size=${pixels.data.length};width=30;height=9;preserveAspectRatio=0:${base64}\x07`,
    )
    const png = Buffer.from(/:([^\x07]*)\x07$/u.exec(text)?.[1] ?? '', 'base64')
    const decoded = await sharp(png).removeAlpha().raw().toBuffer({resolveWithObject: true})
    expect([decoded.info.width, decoded.info.height]).toEqual([300, 180])
    expect(decoded.data.equals(await sharpPixels(PHOTO, 300, 180))).toBe(true)
  })
})

/** A sixel decoder (DEC STD 070 as the encoder's doc cites): the colour register of every pixel. */
function decodeSixel(text: string): {width: number; height: number; registers: Map<number, number[]>; index: number[]} {
  const body = /^\x1bPq"1;1;(\d+);(\d+)(.*)\x1b\\$/su.exec(text)
  if (!body) throw new Error('not a sixel image')
  const width = Number(body[1])
  const height = Number(body[2])
  const index = new Array<number>(width * height).fill(-1)
  const registers = new Map<number, number[]>()
  let rest = body[3]
  let colour = 0
  let x = 0
  let top = 0
  while (rest.length > 0) {
    const define = /^#(\d+);2;(\d+);(\d+);(\d+)/u.exec(rest)
    const select = /^#(\d+)/u.exec(rest)
    const repeat = /^!(\d+)([?-~])/u.exec(rest)
    if (define) {
      registers.set(Number(define[1]), [Number(define[2]), Number(define[3]), Number(define[4])])
      rest = rest.slice(define[0].length)
    } else if (select) {
      colour = Number(select[1])
      rest = rest.slice(select[0].length)
    } else if (rest[0] === '$' || rest[0] === '-') {
      x = 0
      if (rest[0] === '-') top += 6
      rest = rest.slice(1)
    } else {
      const n = repeat ? Number(repeat[1]) : 1
      const char = repeat ? repeat[2] : rest[0]
      const bits = char.charCodeAt(0) - 63
      if (bits < 0 || bits > 63) throw new Error(`bad sixel character ${JSON.stringify(char)}`)
      for (let i = 0; i < n; i++, x++)
        for (let y = 0; y < 6; y++) if (bits & (1 << y) && top + y < height) index[(top + y) * width + x] = colour
      rest = rest.slice(repeat ? repeat[0].length : 1)
    }
  }
  return {width, height, registers, index}
}

describe('sixel', () => {
  it('draws every pixel of the resized photo in the register of its nearest palette colour', async () => {
    const pixels = await previewPixels(PHOTO, 'rgb', () => ({width: 97, height: 61}))
    if (!pixels) throw new Error('no pixels')
    const raw = await sharpPixels(PHOTO, 97, 61)
    expect(Buffer.from(pixels.data).equals(raw)).toBe(true)
    const decoded = decodeSixel(sixelImage(pixels))
    expect([decoded.width, decoded.height]).toEqual([97, 61])
    const palette = sixelPalette()
    for (let p = 0; p < 97 * 61; p++) {
      const expected = sixelIndex(raw[p * 3], raw[p * 3 + 1], raw[p * 3 + 2])
      if (decoded.index[p] !== expected) throw new Error(`pixel ${p}: register ${decoded.index[p]}, not ${expected}`)
      const far = palette[expected].some((v, c) => Math.abs(v - raw[p * 3 + c]) > 26)
      if (far) throw new Error(`pixel ${p}: palette colour ${palette[expected].join(',')} is not the nearest`)
    }
    for (const [i, rgb] of decoded.registers) expect(rgb).toEqual(palette[i].map((v) => Math.round((v * 100) / 255)))
  })

  it('is exactly this for a 5×7 image of two colours (a band of six rows, then one)', () => {
    const data = new Uint8Array(5 * 7 * 3)
    for (let p = 0; p < 35; p++) data.set(p % 5 === 0 ? [255, 0, 0] : [0, 0, 255], p * 3)
    // Red = register 180 (5,0,0), blue = 5 (0,0,5); column 0 red, columns 1-4 blue; six rows = ~, one row = @,
    // none = ?; four or more alike = !n.
    expect(sixelImage({data, width: 5, height: 7})).toBe(
      '\x1bPq"1;1;5;7#5;2;0;0;100#180;2;100;0;0#5?!4~$#180~!4?-#5?!4@$#180@!4?-\x1b\\',
    )
  })
})

describe('half blocks', () => {
  it("gives each cell ▀ with the upper pixel as foreground and the lower as background, sharp's resized pixels", async () => {
    const pixels = await previewPixels(PHOTO, 'rgb', () => ({width: 32, height: 18}))
    if (!pixels) throw new Error('no pixels')
    const raw = await sharpPixels(PHOTO, 32, 18)
    const lines = halfBlockLines(pixels, 'truecolor')
    expect(lines).toHaveLength(9)
    for (const [row, line] of lines.entries()) {
      expect(line.endsWith('\x1b[0m')).toBe(true)
      const cells = [...line.matchAll(/\x1b\[38;2;(\d+);(\d+);(\d+);48;2;(\d+);(\d+);(\d+)m▀/gu)]
      expect(cells).toHaveLength(32)
      for (const [x, cell] of cells.entries()) {
        const top = (row * 2 * 32 + x) * 3
        const bottom = ((row * 2 + 1) * 32 + x) * 3
        expect(cell.slice(1).map(Number)).toEqual([...raw.subarray(top, top + 3), ...raw.subarray(bottom, bottom + 3)])
      }
    }
    const lines256 = halfBlockLines(pixels, '256')
    const first = [...lines256[0].matchAll(/\x1b\[38;5;(\d+);48;5;(\d+)m▀/gu)]
    expect(first).toHaveLength(32)
    for (const [x, cell] of first.entries()) {
      expect(Number(cell[1])).toBe(xterm256(raw[x * 3], raw[x * 3 + 1], raw[x * 3 + 2]))
      const below = (32 + x) * 3
      expect(Number(cell[2])).toBe(xterm256(raw[below], raw[below + 1], raw[below + 2]))
    }
  })

  it("maps to xterm's 256 colours: cube corners, greys, and nothing farther than the nearest", () => {
    expect(xterm256(0, 0, 0)).toBe(16)
    expect(xterm256(255, 255, 255)).toBe(231)
    expect(xterm256(255, 0, 0)).toBe(196)
    expect(xterm256(128, 128, 128)).toBe(244)
    expect(xterm256Rgb(244)).toEqual([128, 128, 128])
    expect(xterm256Rgb(196)).toEqual([255, 0, 0])
    // Exhaustive over a grid: the index chosen is the nearest of all 240 (16-255).
    const all = Array.from({length: 240}, (_, i) => xterm256Rgb(16 + i))
    for (let r = 0; r < 256; r += 17)
      for (let g = 0; g < 256; g += 17)
        for (let b = 0; b < 256; b += 17) {
          const d = ([x, y, z]: number[]) => (x - r) ** 2 + (y - g) ** 2 + (z - b) ** 2
          const best = Math.min(...all.map(d))
          expect(d(xterm256Rgb(xterm256(r, g, b)))).toBeLessThanOrEqual(best + 3 * 5 ** 2)
        }
  })
})

describe('EXIF orientation and the one resize', () => {
  it('draws a photo tagged "rotate 90°" upright: its displayed size decides the box', async () => {
    const tmp = await makeTemp('lora-inline-')
    temps.push(tmp)
    const rotated = join(tmp, 'rotated.jpg')
    await sharp(PHOTO).withMetadata({orientation: 6}).jpeg({quality: 95}).toFile(rotated)
    const stored = await sharp(rotated).metadata()
    let seen: {width: number; height: number} | undefined
    const pixels = await previewPixels(rotated, 'rgb', (displayed) => {
      seen = displayed
      return {width: 20, height: 30}
    })
    expect(seen).toEqual({width: stored.height, height: stored.width})
    expect(Buffer.from(pixels?.data ?? []).equals(await sharpPixels(rotated, 20, 30))).toBe(true)
    const upright = await sharp(PHOTO).rotate(90).resize(20, 30, {fit: 'fill'}).removeAlpha().raw().toBuffer()
    // JPEG re-encoding at quality 95: close, not equal.
    let diff = 0
    for (let i = 0; i < upright.length; i++) diff += Math.abs(upright[i] - (pixels?.data[i] ?? 0))
    expect(diff / upright.length).toBeLessThan(8)
    // A symbolic link is not followed.
    await fsp.symlink(PHOTO, join(tmp, 'link.jpg'))
    await expect(previewPixels(join(tmp, 'link.jpg'), 'rgb', () => ({width: 2, height: 2}))).rejects.toThrow()
  })
})

describe('the box', () => {
  it('keeps the aspect ratio in cells twice as tall as wide, within the rows and columns given', () => {
    // 16:9 in 20 rows: 20·2·16/9 = 71 columns.
    expect(fitPreview({width: 1600, height: 900}, {maxColumns: 200, maxRows: 20}, DEFAULT_CELL, 'kitty')).toEqual({
      columns: 71,
      rows: 20,
      width: 710,
      height: 400,
    })
    // Too wide for 40 columns: 40 columns, 40 / (2·16/9) = 11 rows.
    expect(fitPreview({width: 1600, height: 900}, {maxColumns: 40, maxRows: 20}, DEFAULT_CELL, 'halfblocks')).toEqual({
      columns: 40,
      rows: 11,
      width: 40,
      height: 22,
    })
    // At most 1200 pixels a side for kitty/iTerm2; sixel keeps the cells' pixels.
    const big = {width: 4000, height: 1000}
    expect(fitPreview(big, {maxColumns: 300, maxRows: 40}, DEFAULT_CELL, 'iterm2')).toEqual({
      columns: 300,
      rows: 38,
      width: 1200,
      height: 304,
    })
    expect(fitPreview(big, {maxColumns: 300, maxRows: 40}, DEFAULT_CELL, 'sixel')?.width).toBe(3000)
    expect(fitPreview({width: 0, height: 10}, {maxColumns: 10, maxRows: 10}, DEFAULT_CELL, 'kitty')).toBeUndefined()
  })
})

describe('which protocol', () => {
  const base = {TERM: 'xterm-256color'}
  it.each([
    [{TERM: 'xterm-kitty'}, 'kitty'],
    [{...base, KITTY_WINDOW_ID: '3'}, 'kitty'],
    [{TERM: 'xterm-ghostty'}, 'kitty'],
    [{...base, TERM_PROGRAM: 'ghostty'}, 'kitty'],
    [{...base, TERM_PROGRAM: 'iTerm.app'}, 'iterm2'],
    [{...base, LC_TERMINAL: 'iTerm2'}, 'iterm2'],
    [{...base, TERM_PROGRAM: 'WezTerm'}, 'iterm2'],
    [{...base, WEZTERM_PANE: '0'}, 'iterm2'],
    [{...base, TERM_PROGRAM: 'vscode'}, 'iterm2'],
    [{...base, TERM_PROGRAM: 'mintty'}, 'iterm2'],
    [{TERM: 'foot'}, 'sixel'],
    [{TERM: 'foot-extra'}, 'sixel'],
    [{TERM: 'mlterm'}, 'sixel'],
    [{...base, WT_SESSION: 'x'}, 'sixel'],
    [{TERM: 'linux'}, 'halfblocks'],
    [{TERM: 'dumb'}, 'halfblocks'],
    [{}, 'halfblocks'],
    [{TERM: 'screen', STY: '1.pts'}, 'halfblocks'],
    [base, 'query'],
    [{...base, VTE_VERSION: '7600'}, 'query'],
    [{...base, KONSOLE_VERSION: '230800'}, 'query'],
  ])('%j → %s', (env, protocol) => {
    expect(detectInline(env).protocol).toBe(protocol)
  })

  it('sees tmux and the colours', () => {
    expect(detectInline({TERM: 'tmux-256color', TMUX: '/tmp/tmux-1/default,1,0', KITTY_WINDOW_ID: '1'})).toMatchObject({
      protocol: 'kitty',
      tmux: true,
      colors: '256',
    })
    expect(detectInline({TERM: 'xterm', COLORTERM: 'truecolor'})).toMatchObject({tmux: false, colors: 'truecolor'})
    expect(detectInline({TERM: 'xterm', COLORTERM: '24bit'}).colors).toBe('truecolor')
  })

  it("reads the terminal's answers: kitty's OK, DA1's sixel bit, the cell size from 16t or 14t", () => {
    const cells = {columns: 100, rows: 40}
    expect(parseQueryAnswer('\x1b_Gi=31;OK\x1b\\\x1b[6;20;9t\x1b[4;800;900t\x1b[?62;22c', cells)).toEqual({
      kitty: true,
      sixel: false,
      cell: {width: 9, height: 20},
      complete: true,
    })
    expect(parseQueryAnswer('\x1b[4;800;1000t\x1b[?63;1;2;4;6;9;15;22c', cells)).toEqual({
      kitty: false,
      sixel: true,
      cell: {width: 10, height: 20},
      complete: true,
    })
    expect(parseQueryAnswer('\x1b[?1;2c', cells)).toEqual({kitty: false, sixel: false, complete: true})
    expect(parseQueryAnswer('\x1b_Gi=31;OK\x1b\\', cells).complete).toBe(false)
    // Keys typed while the terminal answered are kept, for the prompt.
    expect(withoutAnswers('sk\x1b_Gi=31;OK\x1b\\\x1b[6;20;9ty\x1b[4;800;900t\x1b[?62;4;22c\r')).toBe('sky\r')
  })

  it("wraps a sequence for tmux's passthrough with every ESC doubled", () => {
    expect(tmuxPassthrough('\x1b_Ga=T;AAAA\x1b\\')).toBe('\x1bPtmux;\x1b\x1b_Ga=T;AAAA\x1b\x1b\\\x1b\\')
  })
})

describe('the viewer setting', () => {
  it.each([
    ['auto', {auto: true, inline: false, system: false}],
    ['inline', {auto: false, inline: true, system: false}],
    ['inline,system', {auto: false, inline: true, system: true}],
    [' System , INLINE ', {auto: false, inline: true, system: true}],
    ['none', {auto: false, inline: false, system: false}],
    ['feh -F', {auto: false, inline: false, system: false, command: 'feh -F'}],
    ['inline,feh --geometry 800x600', {auto: false, inline: true, system: false, command: 'feh --geometry 800x600'}],
    ['sh -c "a,b"', {auto: false, inline: false, system: false, command: 'sh -c "a,b"'}],
  ])('%j', (text, parsed) => {
    expect(parseViewerSetting(text)).toEqual(parsed)
  })

  it('has a display with DISPLAY or WAYLAND_DISPLAY on Linux, always on macOS and Windows', () => {
    expect(hasDisplay({}, 'linux')).toBe(false)
    expect(hasDisplay({DISPLAY: ':0'}, 'linux')).toBe(true)
    expect(hasDisplay({WAYLAND_DISPLAY: 'wayland-0'}, 'freebsd')).toBe(true)
    expect(hasDisplay({WSL_DISTRO_NAME: 'Debian'}, 'linux')).toBe(true)
    expect(hasDisplay({}, 'darwin')).toBe(true)
    expect(hasDisplay({}, 'win32')).toBe(true)
  })

  it('reads preview.rows from the user config, and refuses what is not a whole number of rows', async () => {
    const tmp = await makeTemp('lora-inline-config-')
    temps.push(tmp)
    const file = join(tmp, 'config.yaml')
    await fsp.writeFile(file, 'viewer: inline\npreview:\n  rows: 14\n')
    expect(await loadUserConfig(file)).toEqual({viewer: 'inline', previewRows: 14})
    for (const bad of ['preview:\n  rows: 0\n', 'preview:\n  rows: 2.5\n', 'preview: 12\n', 'preview:\n  cols: 3\n']) {
      await fsp.writeFile(file, bad)
      await expect(loadUserConfig(file)).rejects.toThrow(ConfigError)
    }
  })
})
