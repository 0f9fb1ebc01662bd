/**
 * The image drawn in the terminal (README "Images in the terminal"), as a user sees it: `lora next`/`lora resume`
 * and `lora show --preview` in a real pseudo-terminal whose output a terminal emulator (@xterm/headless) shows and
 * answers (DA1). Half blocks are text the emulator draws, so the screen is read; kitty's sequences, which it does
 * not draw, are read from the output. The prompt stays whole on the screen under the image, keys typed before the
 * image is drawn are taken, the image comes after the prompt, and it is gone once the prompt ends. Needs
 * `npm run build`.
 */
import {promises as fsp} from 'node:fs'
import {join} from 'node:path'
import sharp from 'sharp'
import {killRunning, PtySession} from './pty.js'
import {cleanEnv, copyFixtures, FIXTURES, makeTemp, removeTemp, runCli} from '../helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg']
const TIMEOUT = 30_000
const KEY = {enter: '\r'} as const

const temps: string[] = []
afterEach(() => killRunning())
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function dataset(): Promise<string> {
  const tmp = await makeTemp('lora-inline-pty-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  expect((await runCli(['init', '.', '--trigger', 'ohwx'], {cwd: root})).code).toBe(0)
  expect((await runCli(['tags', 'add', 'sky', 'kite'], {cwd: root})).code).toBe(0)
  return root
}

/** The CLI in colour, in an xterm-like terminal with no display, the viewer setting and environment given. */
function start(root: string, args: string[], env: NodeJS.ProcessEnv, size = {cols: 80, rows: 30}): PtySession {
  const clean: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    TERM: 'xterm-256color',
    COLORTERM: 'truecolor',
    XDG_CONFIG_HOME: join(root, '..', 'xdg'),
    ...env,
  }
  for (const key of ['CI', 'NO_COLOR', 'DISPLAY', 'WAYLAND_DISPLAY', 'KITTY_WINDOW_ID', 'TERM_PROGRAM', 'TMUX'])
    if (!(key in env)) delete clean[key]
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete clean[key]
  return new PtySession(args, root, clean, size)
}

const HALF = '▀'

/** Waits until the whole half-block image has come: its last line's SGR 0, then the cursor restored (ESC 8). */
async function imageDrawn(session: PtySession): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!session.output.includes(`${HALF}\x1b[0m\x1b8`)) {
    if (Date.now() > deadline) throw new Error(`no whole image after 10 s; output so far:\n${session.text}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Rows of the screen with half blocks, by index, and the prompt's first row. */
function layout(screen: string[]): {image: number[]; prompt: number; input: number} {
  return {
    image: screen.flatMap((l, i) => (l.includes(HALF) ? [i] : [])),
    prompt: screen.findIndex((l) => l.startsWith('? Tags for')),
    input: screen.findIndex((l) => l.startsWith('›')),
  }
}

describe('lora next with the image drawn in the terminal', () => {
  it(
    'auto with no display draws half blocks above the prompt after it is shown; keys typed meanwhile are taken; the whole prompt stays visible; the image is gone when it ends',
    async () => {
      const root = await dataset()
      const session = start(root, ['next'], {LORA_VIEWER: undefined})
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit[\s\S]*›/u)
      // Typed at once: the image may not be drawn yet.
      session.send('sk')
      await imageDrawn(session)
      await session.waitFor(/› sk/u)
      const raw = session.output
      expect(raw.indexOf(HALF)).toBeGreaterThan(raw.indexOf('esc quit'))
      const screen = await session.visible()
      const {image, prompt, input} = layout(screen)
      expect(image.length).toBeGreaterThanOrEqual(3)
      // One block of rows, above the prompt, and the prompt whole below it: message, tags, keys, the input line.
      expect(image.at(-1)! - image[0]).toBe(image.length - 1)
      expect(image.at(-1)).toBeLessThan(prompt)
      expect(input).toBeGreaterThan(prompt)
      expect(screen[input]).toBe('› sk')
      expect(screen.slice(prompt, input).some((l) => l.includes('esc quit'))).toBe(true)
      expect(screen.some((l) => /^img_0001\s/u.test(l))).toBe(true)
      session.send('y' + KEY.enter)
      await session.waitFor(/added sky/u)
      session.send(KEY.enter)
      await session.waitFor(/Saved img_0001/u)
      expect((await session.exit()).exitCode).toBe(0)
      const all = await session.lines()
      expect(all.filter((l) => l.includes(HALF))).toEqual([])
      expect(all.filter((l) => /^img_0001\s/u.test(l))).toHaveLength(1)
      expect(all.filter((l) => l.includes('Tags for img_0001'))).toEqual(['✔ Tags for img_0001: ohwx, sky'])
      expect(await fsp.readFile(join(root, 'output', 'img_0001.txt'), 'utf8')).toBe('ohwx, sky\n')
    },
    TIMEOUT,
  )

  it(
    'in a small terminal the image shrinks and the whole prompt still fits under it, at its tallest (many tags, 7 suggestions); too small for an image: none',
    async () => {
      const root = await dataset()
      const many = Array.from({length: 24}, (_, i) => `tag number ${i + 1}`)
      // Written as a caption by hand: the image stays pending, with these tags in its prompt.
      await fsp.writeFile(join(root, 'output', 'img_0001.txt'), `ohwx, ${many.join(', ')}\n`)
      expect(
        (await runCli(['tags', 'add', ...Array.from({length: 9}, (_, i) => `sky ${i + 1}`)], {cwd: root})).code,
      ).toBe(0)
      const session = start(root, ['next'], {LORA_VIEWER: 'inline'}, {cols: 60, rows: 20})
      await session.waitFor(/Tags for img_0001[\s\S]*›/u)
      await imageDrawn(session)
      const at = session.send('sky')
      await session.waitFor(/⇥ sky[\s\S]*› sky/u, at)
      const screen = await session.visible()
      const {image, prompt, input} = layout(screen)
      // 20 rows: the details line, 7 rows of image, the prompt in the 12 left.
      expect(image).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => i + (screen.length - 20)))
      expect(prompt).toBeGreaterThan(image.at(-1)!)
      expect(screen[input]).toBe('› sky')
      // The prompt at its tallest: the tags take every row the image and the rest of the prompt leave.
      expect(screen.filter((l) => /^[⇥❯ ] sky/u.test(l)).length).toBeGreaterThanOrEqual(2)
      expect(screen.some((l) => l.startsWith('  tags: ohwx, …+'))).toBe(true)
      expect(input).toBe(screen.length - 1)
      expect((await session.rows()).filter((r) => r.wrapped)).toEqual([])
      session.send('\x1b')
      expect((await session.exit()).exitCode).toBe(0)

      const tiny = start(root, ['next'], {LORA_VIEWER: 'inline'}, {cols: 60, rows: 14})
      await tiny.waitFor(/Tags for img_0001[\s\S]*›/u)
      tiny.send('\x1b')
      expect((await tiny.exit()).exitCode).toBe(0)
      expect(tiny.text).not.toContain(HALF)
      expect(tiny.text.replace(/\s+/gu, ' ')).toContain(
        'note: the image is not drawn in the terminal: it has fewer than 16 rows, too few for an image above the whole prompt; make it taller.',
      )
      expect((await tiny.rows()).filter((r) => r.wrapped)).toEqual([])
    },
    TIMEOUT,
  )

  it(
    'preview.rows sets the height; narrowed while shown, the re-wrapped image is still all erased when the prompt ends',
    async () => {
      const root = await dataset()
      const xdg = join(root, '..', 'xdg')
      await fsp.mkdir(join(xdg, 'lora'), {recursive: true})
      await fsp.writeFile(join(xdg, 'lora', 'config.yaml'), 'viewer: inline\npreview:\n  rows: 8\n')
      const session = start(root, ['next'], {LORA_VIEWER: undefined}, {cols: 80, rows: 40})
      await session.waitFor(/Tags for img_0001[\s\S]*›/u)
      await imageDrawn(session)
      const {image} = layout(await session.visible())
      expect(image).toHaveLength(8)
      // 400×250 in 8 rows of cells twice as tall as wide: 26 columns, each line re-wrapped onto 2 rows at 20.
      const before = await session.visible()
      expect(before[image[0]].trim()).toHaveLength(26)
      const at = await session.resize(20, 40)
      await session.waitFor(/›/u, at)
      expect(layout(await session.visible()).image.length).toBeGreaterThanOrEqual(16)
      session.send('\x1b')
      expect((await session.exit()).exitCode).toBe(0)
      const all = await session.lines()
      expect(all.filter((l) => l.includes(HALF))).toEqual([])
      expect(all.filter((l) => l.includes('Tags for img_0001'))).toHaveLength(1)
    },
    TIMEOUT,
  )

  it(
    'a wide image takes only the rows of its box: no blank rows between it and the prompt',
    async () => {
      const tmp = await makeTemp('lora-inline-pty-')
      temps.push(tmp)
      const root = join(tmp, 'imgs')
      await fsp.mkdir(root)
      // A 4:1 strip of a real photo.
      await sharp(join(FIXTURES, 'plasma-Kite-screenshot.jpg'))
        .resize(400, 100, {fit: 'cover'})
        .jpeg()
        .toFile(join(root, 'strip.jpg'))
      expect((await runCli(['init', '.'], {cwd: root})).code).toBe(0)
      const session = start(root, ['next'], {LORA_VIEWER: 'inline'})
      await session.waitFor(/Tags for img_0001[\s\S]*›/u)
      await imageDrawn(session)
      const screen = await session.visible()
      const {image, prompt} = layout(screen)
      // 79 columns at 4:1 in cells twice as tall as wide: 10 rows, the details line right above them.
      expect(image).toHaveLength(10)
      expect(prompt).toBe(image.at(-1)! + 1)
      expect(screen[image[0] - 1]).toMatch(/^img_0001\s/u)
      session.send('\x1b')
      expect((await session.exit()).exitCode).toBe(0)
    },
    TIMEOUT,
  )

  it(
    'kitty: the PNG goes in a=T,f=100 chunks once the prompt is shown, and is deleted (a=d,d=I) before the next image',
    async () => {
      const root = await dataset()
      const session = start(root, ['resume'], {LORA_VIEWER: 'inline', KITTY_WINDOW_ID: '1'})
      await session.waitFor(/Tags for img_0001[\s\S]*›/u)
      const raw = () => session.output
      const deadline = Date.now() + 10_000
      while (!/\x1b_G[^;]*m=0;[^\x1b]*\x1b\\/u.test(raw()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20))
      const first = /\x1b_Ga=T,f=100,i=(\d+),c=(\d+),r=(\d+),C=1,q=2,m=1;/u.exec(raw())
      expect(first).not.toBeNull()
      const [, id, columns, rows] = first!.map(Number)
      expect(raw().indexOf('\x1b_Ga=T')).toBeGreaterThan(raw().indexOf('esc quit'))
      // The image's chunks: from a=T to the first m=0 (the query and deletions are APC sequences too).
      const from = raw().slice(first!.index)
      const sequences = [...from.matchAll(/\x1b_G([^;]*);([^\x1b]*)\x1b\\/gu)]
      const last = sequences.findIndex((m) => m[1].endsWith('m=0'))
      const chunks = sequences.slice(0, last + 1).map((m) => m[2])
      expect(chunks.slice(0, -1).every((c) => c.length === 4096)).toBe(true)
      const png = await sharp(Buffer.from(chunks.join(''), 'base64')).metadata()
      // xterm.js does not say its cell size: 10×20 pixels are assumed.
      expect([png.width, png.height]).toEqual([columns * 10, rows * 20])
      expect(rows).toBeLessThanOrEqual(30 - 12 - 1)
      const screen = await session.visible()
      expect(layout(screen).prompt).toBeGreaterThanOrEqual(rows)
      session.send(KEY.enter)
      await session.waitFor(/Tags for img_0002[\s\S]*›/u)
      const deleted = raw().indexOf(`\x1b_Ga=d,d=I,i=${id},q=2\x1b\\`)
      expect(deleted).toBeGreaterThan(0)
      expect(deleted).toBeLessThan(raw().indexOf('Tags for img_0002'))
      // The second image is drawn after its prompt: Esc only once it is there.
      const second = `\x1b_Ga=T,f=100,i=${id + 1},`
      const drawn = Date.now() + 10_000
      while (!raw().includes(second) && Date.now() < drawn) await new Promise((r) => setTimeout(r, 20))
      session.send('\x1b')
      expect((await session.exit()).exitCode).toBe(0)
      expect(raw()).toContain(`\x1b_Ga=T,f=100,i=${id + 1},`)
      expect(raw()).toContain(`\x1b_Ga=d,d=I,i=${id + 1},q=2\x1b\\`)
    },
    TIMEOUT,
  )

  it(
    'sixel (WT_SESSION: Windows Terminal): one DCS image of the reserved rows at the guessed 6×12 cells, drawn after the prompt, erased with it',
    async () => {
      const root = await dataset()
      // node-pty sets TERM itself (xterm-256color): Windows Terminal's variable names sixel here.
      const session = start(root, ['next'], {LORA_VIEWER: 'inline', WT_SESSION: 'test'})
      await session.waitFor(/Tags for img_0001[\s\S]*›/u)
      const deadline = Date.now() + 10_000
      while (!/\x1bPq[^\x1b]*\x1b\\/u.test(session.output) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20))
      const sixel = /\x1bPq"1;1;(\d+);(\d+)#/u.exec(session.output)
      expect(sixel).not.toBeNull()
      const [width, height] = [Number(sixel![1]), Number(sixel![2])]
      // 400×250 in at most 17 rows (30 less 13) of 6×12-pixel cells: 17 rows × 54 columns.
      expect([width, height]).toEqual([54 * 6, 17 * 12])
      expect(session.output.indexOf('\x1bPq')).toBeGreaterThan(session.output.indexOf('esc quit'))
      const screen = await session.visible()
      expect(layout(screen).prompt).toBe(18)
      session.send('\x1b')
      expect((await session.exit()).exitCode).toBe(0)
      // After the image: up the 17 rows kept, erase to the end of the screen.
      expect(session.output.slice(session.output.indexOf('\x1bPq'))).toContain('\x1b[17A\r\x1b[J')
    },
    TIMEOUT,
  )

  it(
    'kitty: a SIGTERM while the image shows deletes it on the way out',
    async () => {
      const root = await dataset()
      const session = start(root, ['next'], {LORA_VIEWER: 'inline', KITTY_WINDOW_ID: '1'})
      await session.waitFor(/Tags for img_0001[\s\S]*›/u)
      const deadline = Date.now() + 10_000
      while (!/\x1b_G[^;]*m=0;[^\x1b]*\x1b\\/u.test(session.output) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20))
      const id = /\x1b_Ga=T,f=100,i=(\d+),/u.exec(session.output)?.[1]
      expect(id).toBeDefined()
      expect(session.output).not.toContain(`\x1b_Ga=d,d=I,i=${id},`)
      process.kill(session.pid, 'SIGTERM')
      await session.exit()
      expect(session.output).toContain(`\x1b_Ga=d,d=I,i=${id},q=2\x1b\\`)
    },
    TIMEOUT,
  )

  it(
    'NO_COLOR: no half-block image, a note saying why, and the prompt works',
    async () => {
      const root = await dataset()
      const plain = start(root, ['next'], {LORA_VIEWER: undefined, NO_COLOR: '1'})
      await plain.waitFor(/Tags for img_0001[\s\S]*›/u)
      plain.send('\x1b')
      expect((await plain.exit()).exitCode).toBe(0)
      expect(plain.text).not.toContain(HALF)
      // Said once, before the prompt.
      const note = plain.text.replace(/\s+/gu, ' ')
      expect(note.split('note: the image is not drawn').length - 1).toBe(1)
      expect(note).toContain(
        'note: the image is not drawn in the terminal: this terminal shows images only as coloured half blocks, and colour is off (NO_COLOR or --no-color); set LORA_VIEWER to an image viewer command, or turn colour on.',
      )
      expect(note.indexOf('note: the image')).toBeLessThan(note.indexOf('Tags for img_0001'))
    },
    TIMEOUT,
  )
})

describe('lora show --preview', () => {
  it(
    'draws the image below the report, and nothing when stdout is not a terminal',
    async () => {
      const root = await dataset()
      const session = start(root, ['show', '1', '--preview'], {LORA_VIEWER: 'none'})
      expect((await session.exit()).exitCode).toBe(0)
      const all = (await session.lines()).filter((l) => l !== '')
      const first = all.findIndex((l) => l.includes(HALF))
      expect(first).toBeGreaterThan(0)
      expect(all.slice(0, first).join('\n')).toContain('img_0001')
      expect(all.slice(first).every((l) => l.includes(HALF))).toBe(true)
      expect(all.length - first).toBeLessThanOrEqual(20)
      const piped = await runCli(['show', '1', '--preview'], {cwd: root})
      expect(piped.code).toBe(0)
      expect(piped.stdout).not.toContain(HALF)
      expect(piped.stdout).not.toContain('\x1b')
    },
    TIMEOUT,
  )
})
