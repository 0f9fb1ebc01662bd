/**
 * The tag prompt's layout as a user sees it (issue 13): `lora resume` in a real pseudo-terminal (node-pty) whose
 * output is fed to a terminal emulator (@xterm/headless, VS Code's), so the screen and the scrollback are read as
 * they would be shown. At 80×24, 60×15 and 40×12, and with resizes while the prompt is open: the prompt never
 * scrolls its own first line off the screen, no line is wider than the terminal (none is wrapped by it), and the
 * screen plus the scrollback hold exactly one copy of each image's lines (its details line and the line its prompt
 * collapsed to), whatever keys were pressed. Needs `npm run build`.
 */
import {join} from 'node:path'
import {killRunning, PtySession} from './pty.js'
import {cleanEnv, copyFixtures, makeTemp, readState, removeTemp, runCli} from '../helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'plasma-Path-screenshot.jpg']
const VOCABULARY = ['sky', 'cloud', 'clouds', 'long hair', 'short hair', 'hair ribbon', 'blue sky', 'smile']
const KEY = {enter: '\r', escape: '\x1b', tab: '\t', down: '\x1b[B', backspace: '\x7f'} as const
const TIMEOUT = 60_000

const temps: string[] = []
afterEach(() => killRunning())
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/** A dataset of three images with the trigger word `ohwx` and a small vocabulary to suggest from. */
async function dataset(): Promise<string> {
  const tmp = await makeTemp('lora-pty-layout-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  expect((await runCli(['init', '.', '--trigger', 'ohwx'], {cwd: root})).code).toBe(0)
  expect((await runCli(['tags', 'add', ...VOCABULARY], {cwd: root})).code).toBe(0)
  return root
}

function start(root: string, cols: number, rows: number): PtySession {
  const env: NodeJS.ProcessEnv = {...cleanEnv(), TERM: 'xterm-256color', LORA_VIEWER: 'none'}
  delete env.CI
  return new PtySession(['resume'], root, env, {cols, rows})
}

/**
 * Presses `keys` one at a time, each after the prompt has drawn itself again (its input line, the last thing it
 * draws, has come after the key), and checks after each that the prompt's first line is on the screen.
 */
async function press(session: PtySession, image: string, keys: string[]): Promise<void> {
  for (const key of keys) {
    const at = session.send(key)
    await session.waitFor(/›[^\n]*$/u, at)
    await expectPromptOnScreen(session, image)
  }
}

async function expectPromptOnScreen(session: PtySession, image: string): Promise<void> {
  const screen = await session.visible()
  expect(screen.filter((l) => l === `? Tags for ${image}`)).toHaveLength(1)
  expect(screen.at(-1) === '' || screen.some((l) => l.startsWith('›'))).toBe(true)
}

/** Screen and scrollback: one details line and one prompt line per image shown, and no row wrapped. */
async function expectOneCopyEach(session: PtySession, images: string[]): Promise<void> {
  const rows = await session.rows()
  const text = rows.map((r) => r.text)
  for (const image of images) {
    expect([image, text.filter((l) => new RegExp(`^${image}\\s`, 'u').test(l)).length]).toEqual([image, 1])
    expect([image, text.filter((l) => l.includes(`Tags for ${image}`)).length]).toEqual([image, 1])
  }
  expect(rows.filter((r) => r.wrapped).map((r) => r.text)).toEqual([])
  expect(text.filter((l) => l.includes('esc quit'))).toEqual([])
}

describe.each([
  [80, 24],
  [60, 15],
  [40, 12],
])('the tag prompt at %i×%i', (cols, rows) => {
  it(
    'fits the screen at every keystroke and leaves one line per image behind',
    async () => {
      const root = await dataset()
      const session = start(root, cols, rows)
      await session.waitFor(/Tags for img_0001[\s\S]*›[^\n]*$/u)
      await expectPromptOnScreen(session, 'img_0001')
      // Add "sky", try "SKY" (already there), take the first suggestion for "c", choose with ↓↓ and Tab, take one
      // back with Backspace, type and delete.
      await press(session, 'img_0001', ['s', 'k', 'y', KEY.enter, 'S', 'K', 'Y', KEY.enter, 'c', KEY.tab])
      await press(session, 'img_0001', ['h', 'a', KEY.down, KEY.down, KEY.tab, KEY.backspace, 'x', KEY.backspace])
      let at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0001: \+sky \+cloud/u, at)
      await session.waitFor(/Tags for img_0002[\s\S]*›[^\n]*$/u, at)
      await press(session, 'img_0002', ['t', KEY.backspace, 'b', 'l', KEY.tab])
      at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0002: \+blue sky/u, at)
      await session.waitFor(/Tags for img_0003[\s\S]*›[^\n]*$/u, at)
      await press(session, 'img_0003', ['n', 'o', 'p', 'e'])
      at = session.send(KEY.escape)
      await session.waitFor(/This run: 2 saved/u, at)
      expect((await session.exit()).exitCode).toBe(0)
      await expectOneCopyEach(session, ['img_0001', 'img_0002', 'img_0003'])
      const text = (await session.lines()).join('\n')
      expect(text).toContain('✔ Tags for img_0001: ohwx, sky, cloud')
      expect(text).toContain('✖ Tags for img_0003: not saved')
      expect((await readState(root)).images.map((i) => i.tags)).toEqual([
        ['ohwx', 'sky', 'cloud'],
        ['ohwx', 'blue sky'],
        ['ohwx'],
      ])
    },
    TIMEOUT,
  )
})

describe('a resize while the prompt is open', () => {
  it(
    'redraws the prompt at the new size and leaves no copy of any line (narrower, wider, smaller, larger)',
    async () => {
      const root = await dataset()
      const session = start(root, 80, 24)
      await session.waitFor(/Tags for img_0001[\s\S]*›[^\n]*$/u)
      await press(session, 'img_0001', ['s', 'k', 'y', KEY.enter, 'c', 'l'])
      for (const [cols, rows] of [
        [60, 15],
        [80, 24],
        [60, 24],
        [100, 30],
      ]) {
        const at = await session.resize(cols, rows)
        await session.waitFor(/›[^\n]*$/u, at)
        await expectPromptOnScreen(session, 'img_0001')
      }
      await press(session, 'img_0001', [KEY.tab])
      let at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0001: \+sky \+cloud/u, at)
      await session.waitFor(/Tags for img_0002[\s\S]*›[^\n]*$/u, at)
      // Typing has narrowed the suggestions: the prompt, re-wrapped at 40 columns, still fits 12 rows.
      await press(session, 'img_0002', ['b', 'l', 'u'])
      at = await session.resize(40, 12)
      await session.waitFor(/›[^\n]*$/u, at)
      await expectPromptOnScreen(session, 'img_0002')
      at = await session.resize(80, 24)
      await session.waitFor(/›[^\n]*$/u, at)
      await expectPromptOnScreen(session, 'img_0002')
      await press(session, 'img_0002', [KEY.tab])
      at = session.send(KEY.escape)
      await session.waitFor(/This run: 1 saved/u, at)
      expect((await session.exit()).exitCode).toBe(0)
      await expectOneCopyEach(session, ['img_0001', 'img_0002'])
      expect((await session.lines()).join('\n')).toContain('✖ Tags for img_0002: not saved')
    },
    TIMEOUT,
  )
})
