/**
 * `lora next` and `lora resume` end to end: the built CLI (bin/run.js) in a real pseudo-terminal (node-pty), on a
 * real dataset made by `lora init` from the fixture images. Keys are sent only after the screen shows what they
 * act on, so the tests do not depend on timing. The viewer is a shell command that records the path it was given.
 */
import * as fsp from 'node:fs/promises'
import {join, relative} from 'node:path'
import {killRunning, PtySession, sleep, WAIT_TIMEOUT} from './pty.js'
import {cleanEnv, copyFixtures, makeTemp, readState, removeTemp, runCli, sha256} from '../helpers.js'
import {counted} from '../../src/core/plural.js'

const PTY_TEST_TIMEOUT = 20_000

const KEY = {
  enter: '\r',
  escape: '\x1b',
  ctrlC: '\x03',
  ctrlS: '\x13',
  tab: '\t',
  down: '\x1b[B',
  backspace: '\x7f',
} as const

/** Five fixture images; `lora init` names them img_0001.. in natural order of their names. */
const IMAGES = [
  'plasma-Autumn-screenshot.jpg',
  'plasma-Kite-screenshot.jpg',
  'plasma-Path-screenshot.jpg',
  'skimage-horse.png',
  'skimage-page.png',
]

interface Dataset {
  /** The temp folder (holds the dataset and viewed.txt). */
  tmp: string
  /** The dataset root (the images folder given to `lora init`). */
  root: string
  /** root/output */
  out: string
  /** Where the viewer command appends the paths it is given. */
  viewed: string
}

const temps: string[] = []

afterEach(() => {
  // A failed test may leave its CLI waiting for keys.
  killRunning()
})

afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/** A dataset made by `lora init` on `count` fixture images. */
async function makeDataset(count = 3, initFlags: string[] = []): Promise<Dataset> {
  const tmp = await makeTemp('lora-pty-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES.slice(0, count))
  const init = await runCli(['init', '.', ...initFlags], {cwd: root})
  expect(init.stderr).toContain(`${counted(count, 'image')} copied`)
  expect(init.code).toBe(0)
  return {tmp, root, out: join(root, 'output'), viewed: join(tmp, 'viewed.txt')}
}

/** The viewer: a shell command appending its argument (the image path) as one line to `file`. */
function viewerCommand(file: string): string {
  if (/['\\\n]/u.test(file)) throw new Error(`temp path not usable in the viewer command: ${file}`)
  // lora runs: sh -c '<viewer> "$@"' lora-viewer <path>, so the inner sh gets the path as $0.
  return `sh -c 'printf "%s\\n" "$0" >> ${file}'`
}

/** Starts `lora <args>` in a pseudo-terminal inside the dataset. */
function start(ds: Dataset, args: string[]): PtySession {
  const env: NodeJS.ProcessEnv = {...cleanEnv(), TERM: 'xterm-256color', LORA_VIEWER: viewerCommand(ds.viewed)}
  // lora never prompts when CI is set; the prompt is what is under test.
  delete env.CI
  return new PtySession(args, ds.root, env)
}

/** Types `text` and waits until the input line shows it. */
async function typeText(session: PtySession, text: string): Promise<void> {
  const at = session.send(text)
  // The input line is the prompt's last line: nothing but the cursor's moves follows it.
  await session.waitFor(new RegExp(`› ${escapeRe(text)}(?=\\s|$)`, 'u'), at)
}

/** Types a tag, presses Enter, and waits until the prompt shows it was added. */
async function addTag(session: PtySession, tag: string): Promise<void> {
  await typeText(session, tag)
  const at = session.send(KEY.enter)
  await session.waitFor(new RegExp(`added ${escapeRe(tag)}`, 'u'), at)
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')
}

/** The lines the viewer recorded, once there are `count` of them (the viewer runs detached). */
async function viewedPaths(ds: Dataset, count: number, timeout = WAIT_TIMEOUT): Promise<string[]> {
  const deadline = Date.now() + timeout
  for (;;) {
    const text = await fsp.readFile(ds.viewed, 'utf8').catch(() => '')
    const lines = text.split('\n').filter((l) => l !== '')
    if (lines.length >= count || Date.now() > deadline) return lines
    await sleep(20)
  }
}

/** sha256 of every file under `dir`, by relative path (derived caches left out). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const entry of await fsp.readdir(dir, {recursive: true, withFileTypes: true})) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    if (/(^|\/)\.lora-tagger\/cache\//u.test(relative(dir, path))) continue
    out[relative(dir, path)] = await sha256(path)
  }
  return out
}

const caption = (ds: Dataset, id: string) => fsp.readFile(join(ds.out, `${id}.txt`), 'utf8')
const vocabulary = (ds: Dataset) => fsp.readFile(join(ds.out, 'tags.txt'), 'utf8')
const statusOf = async (ds: Dataset, id: string) => (await readState(ds.root)).images.find((i) => i.id === id)?.status

describe('lora next in a terminal', () => {
  it(
    'shows the image, opens the viewer, and saves the typed tags on Enter/Enter',
    async () => {
      const ds = await makeDataset(3)
      const session = start(ds, ['next'])
      // The image line: id, original name, size, progress.
      await session.waitFor(/img_0001\s+plasma-Autumn-screenshot\.jpg\s+\d+×\d+\s+0\/3 tagged/u)
      const {width, height} = (await readState(ds.root)).images[0]
      expect(session.text).toContain(`img_0001  plasma-Autumn-screenshot.jpg  ${width}×${height}  0/3 tagged`)
      await session.waitFor(/\? Tags for img_0001[\s\S]*tags: \(no tags yet\)[\s\S]*esc quit/u)

      await addTag(session, 'red hair')
      await session.waitFor(/tags: red hair\r?\n/u)
      await addTag(session, 'smile')
      await session.waitFor(/tags: red hair, smile\r?\n/u)
      const at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0001: \+red hair \+smile — 2 pending/u, at)
      expect((await session.exit()).exitCode).toBe(0)

      expect(await caption(ds, 'img_0001')).toBe('red hair, smile\n')
      expect(await vocabulary(ds)).toBe('red hair\nsmile\n')
      const state = await readState(ds.root)
      expect(state.images[0]).toMatchObject({id: 'img_0001', status: 'tagged', tags: ['red hair', 'smile']})
      expect(state.images.slice(1).map((i) => i.status)).toEqual(['pending', 'pending'])
      expect(await caption(ds, 'img_0002')).toBe('')
      // The viewer was called once, with the image's absolute path.
      expect(await viewedPaths(ds, 1)).toEqual([join(ds.out, 'img_0001.jpg')])
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'saves "a, b" typed on one line as two tags',
    async () => {
      const ds = await makeDataset(2)
      const session = start(ds, ['next'])
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      await addTag(session, 'blue sky, cloud')
      const at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0001: \+blue sky \+cloud — 1 pending/u, at)
      expect((await session.exit()).exitCode).toBe(0)
      expect(await caption(ds, 'img_0001')).toBe('blue sky, cloud\n')
      expect(await vocabulary(ds)).toBe('blue sky\ncloud\n')
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'Escape is a normal quit: writes nothing, says the image was not saved, no error label, exit 0',
    async () => {
      const ds = await makeDataset(2)
      await runCli(['tag', '2', '--add', 'existing'], {cwd: ds.root})
      const before = await snapshot(ds.root)
      const session = start(ds, ['next'])
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      await addTag(session, 'never saved')
      session.send(KEY.escape)
      expect((await session.exit()).exitCode).toBe(0)
      const screen = (await session.lines()).join('\n')
      expect(screen).toContain(
        '✖ Tags for img_0001: not saved\nQuit: img_0001 was not saved. Now 1/2 tagged; 1 pending.',
      )
      expect(screen).not.toMatch(/error|esc quit|never saved/u)
      expect(await snapshot(ds.root)).toEqual(before)
      expect(await caption(ds, 'img_0001')).toBe('')
      expect(await vocabulary(ds)).toBe('existing\n')
      expect(await statusOf(ds, 'img_0001')).toBe('pending')
      expect(session.text).not.toMatch(/Saved img_0001/u)
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'Ctrl-C writes nothing and exits 130',
    async () => {
      const ds = await makeDataset(2)
      const before = await snapshot(ds.root)
      const session = start(ds, ['next'])
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      await addTag(session, 'never saved')
      await typeText(session, 'half typed')
      session.send(KEY.ctrlC)
      expect((await session.exit()).exitCode).toBe(130)
      // The prompt collapses to the same line as for Esc; the exit message says what was not saved.
      const screen = (await session.lines()).join('\n')
      expect(screen).toContain(
        '✖ Tags for img_0001: not saved\nCancelled: img_0001 was not saved. Now 0/2 tagged; 2 pending.',
      )
      expect(screen).not.toMatch(/error|esc quit|never saved|half typed|nothing was written/u)
      expect(await snapshot(ds.root)).toEqual(before)
      expect(await caption(ds, 'img_0001')).toBe('')
      expect(await vocabulary(ds)).toBe('')
      expect(session.text).not.toMatch(/Saved img_0001/u)
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'Ctrl-S marks the image skipped, leaving its caption as it was',
    async () => {
      const ds = await makeDataset(3)
      const session = start(ds, ['next'])
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      await addTag(session, 'not saved either')
      const at = session.send(KEY.ctrlS)
      await session.waitFor(/Skipped img_0001 — 2 pending/u, at)
      expect((await session.exit()).exitCode).toBe(0)
      expect(await statusOf(ds, 'img_0001')).toBe('skipped')
      expect(await caption(ds, 'img_0001')).toBe('')
      expect(await vocabulary(ds)).toBe('')

      // The next `lora next` moves on to the following image.
      const again = start(ds, ['next'])
      await again.waitFor(/img_0002\s+plasma-Kite-screenshot\.jpg\s+\d+×\d+\s+0\/3 tagged, 1 skipped/u)
      await again.waitFor(/Tags for img_0002[\s\S]*esc quit/u)
      again.send(KEY.escape)
      expect((await again.exit()).exitCode).toBe(0)
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'autocompletes from tags.txt: "long" Tab Enter saves "long hair"',
    async () => {
      const ds = await makeDataset(3)
      const tagged = await runCli(['tag', '1', '--add', 'long hair'], {cwd: ds.root})
      expect(tagged.code).toBe(0)
      expect(await vocabulary(ds)).toBe('long hair\n')

      const session = start(ds, ['next'])
      await session.waitFor(/img_0002\s+plasma-Kite-screenshot\.jpg\s+\d+×\d+\s+1\/3 tagged/u)
      await session.waitFor(/Tags for img_0002[\s\S]*esc quit/u)
      let at = session.send('long')
      await session.waitFor(/⇥ long hair \(1\)\r?\n› long$/u, at)
      at = session.send(KEY.tab)
      await session.waitFor(/tags: long hair\r?\n[\s\S]*›\s*$/u, at)
      at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0002: \+long hair — 1 pending/u, at)
      expect((await session.exit()).exitCode).toBe(0)
      expect(await caption(ds, 'img_0002')).toBe('long hair\n')
      expect(await vocabulary(ds)).toBe('long hair\n')
      expect(await viewedPaths(ds, 1)).toEqual([join(ds.out, 'img_0002.jpg')])
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'autocompletes with ↓ Enter as well',
    async () => {
      const ds = await makeDataset(3)
      expect((await runCli(['tag', '1', '--add', 'long hair, long sleeves, smile'], {cwd: ds.root})).code).toBe(0)
      const session = start(ds, ['next'])
      await session.waitFor(/Tags for img_0002[\s\S]*esc quit/u)
      let at = session.send('long')
      await session.waitFor(/⇥ long hair \(1\)\r?\n\s*long sleeves \(1\)\r?\n› long$/u, at)
      at = session.send(KEY.down)
      await session.waitFor(/❯ long hair \(1\)/u, at)
      at = session.send(KEY.down)
      await session.waitFor(/❯ long sleeves \(1\)/u, at)
      at = session.send(KEY.enter)
      await session.waitFor(/tags: long sleeves\r?\n/u, at)
      at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0002: \+long sleeves — 1 pending/u, at)
      expect((await session.exit()).exitCode).toBe(0)
      expect(await caption(ds, 'img_0002')).toBe('long sleeves\n')
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'Backspace on an empty line and "-tag" remove tags the image already had',
    async () => {
      const ds = await makeDataset(2)
      // A hand-edited caption of a pending image: the prompt starts from the caption file's tags.
      await fsp.writeFile(join(ds.out, 'img_0001.txt'), 'a, b, c, d\n')
      const session = start(ds, ['next'])
      await session.waitFor(/Tags for img_0001\r?\n\s*tags: a, b, c, d\r?\n/u)
      let at = session.send(KEY.backspace)
      await session.waitFor(/tags: a, b, c\r?\n/u, at)
      await typeText(session, '-b')
      at = session.send(KEY.enter)
      await session.waitFor(/tags: a, c\r?\n[\s\S]*removed b/u, at)
      at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0001: .*— 1 pending/u, at)
      expect((await session.exit()).exitCode).toBe(0)
      expect(await caption(ds, 'img_0001')).toBe('a, c\n')
      expect(await statusOf(ds, 'img_0001')).toBe('tagged')
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'keeps the trigger word: Backspace and "-trigger" do not remove it, and it stays first',
    async () => {
      const ds = await makeDataset(2, ['--trigger', 'ohwx'])
      expect(await caption(ds, 'img_0001')).toBe('ohwx\n')
      const session = start(ds, ['next'])
      await session.waitFor(/Tags for img_0001\r?\n\s*tags: ohwx\r?\n/u)
      await addTag(session, 'a')
      await session.waitFor(/tags: ohwx, a\r?\n/u)
      let at = session.send(KEY.backspace)
      await session.waitFor(/tags: ohwx\r?\n[\s\S]*removed a/u, at)
      await typeText(session, '-ohwx')
      at = session.send(KEY.enter)
      await session.waitFor(/tags: ohwx\r?\n[\s\S]*the trigger word ohwx stays/u, at)
      // Backspace on the empty line with only the trigger left: nothing is removed.
      at = session.send(KEY.backspace)
      await typeText(session, 'b')
      await session.waitFor(/tags: ohwx\r?\n[^›]*› b$/u, at)
      at = session.send(KEY.enter)
      await session.waitFor(/tags: ohwx, b\r?\n/u, at)
      at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0001: \+b — 1 pending/u, at)
      expect((await session.exit()).exitCode).toBe(0)
      expect(await caption(ds, 'img_0001')).toBe('ohwx, b\n')
      expect(await statusOf(ds, 'img_0001')).toBe('tagged')
      expect(await vocabulary(ds)).toBe('b\n')
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'merges a `lora tag` run made while the prompt is open',
    async () => {
      const ds = await makeDataset(3)
      const session = start(ds, ['next'])
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      await addTag(session, 'red hair')

      // Another terminal tags the same image while the prompt waits (no lock is held while typing).
      const other = await runCli(['tag', 'img_0001', '--add', 'from elsewhere'], {cwd: ds.root})
      expect(other.code).toBe(0)
      expect(await caption(ds, 'img_0001')).toBe('from elsewhere\n')

      await addTag(session, 'smile')
      const at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0001: \+red hair \+smile — 2 pending/u, at)
      expect((await session.exit()).exitCode).toBe(0)
      expect(await caption(ds, 'img_0001')).toBe('from elsewhere, red hair, smile\n')
      expect(await vocabulary(ds)).toBe('from elsewhere\nred hair\nsmile\n')
      expect((await readState(ds.root)).images[0]).toMatchObject({
        status: 'tagged',
        tags: ['from elsewhere', 'red hair', 'smile'],
      })
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'says so when nothing is left to tag',
    async () => {
      const ds = await makeDataset(1)
      expect((await runCli(['tag', '1', '--add', 'done'], {cwd: ds.root})).code).toBe(0)
      const session = start(ds, ['next'])
      await session.waitFor(/Nothing left to tag: 1 tagged, 0 skipped\./u)
      expect((await session.exit()).exitCode).toBe(0)
      expect(await viewedPaths(ds, 0, 0)).toEqual([])
    },
    PTY_TEST_TIMEOUT,
  )
})

describe('lora resume in a terminal', () => {
  it(
    'tags images in a loop, ends with a summary on Escape, and a second run continues where the first stopped',
    async () => {
      const ds = await makeDataset(5)
      expect((await runCli(['tag', '1', '--add', 'first'], {cwd: ds.root})).code).toBe(0)
      const captionBefore = await caption(ds, 'img_0004')

      const session = start(ds, ['resume'])
      await session.waitFor(/Resuming at img_0002 — 1\/5 tagged/u)
      await session.waitFor(/img_0002\s+plasma-Kite-screenshot\.jpg\s+\d+×\d+\s+1\/5 tagged/u)
      await session.waitFor(/Tags for img_0002[\s\S]*esc quit/u)
      await addTag(session, 'kite')
      let at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0002: \+kite — 3 pending/u, at)

      await session.waitFor(/img_0003\s+plasma-Path-screenshot\.jpg\s+\d+×\d+\s+2\/5 tagged/u, at)
      await session.waitFor(/Tags for img_0003[\s\S]*esc quit/u, at)
      await addTag(session, 'path, trees')
      at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0003: \+path \+trees — 2 pending/u, at)

      await session.waitFor(/Tags for img_0004[\s\S]*esc quit/u, at)
      await addTag(session, 'not saved')
      at = session.send(KEY.escape)
      await session.waitFor(/This run: 2 saved, 0 skipped; img_0004 was not saved\. Now 3\/5 tagged; 2 pending\./u, at)
      expect((await session.exit()).exitCode).toBe(0)

      expect(await caption(ds, 'img_0002')).toBe('kite\n')
      expect(await caption(ds, 'img_0003')).toBe('path, trees\n')
      expect(await caption(ds, 'img_0004')).toBe(captionBefore)
      expect(await statusOf(ds, 'img_0004')).toBe('pending')
      expect(await vocabulary(ds)).toBe('first\nkite\npath\ntrees\n')
      expect(await viewedPaths(ds, 3)).toEqual([
        join(ds.out, 'img_0002.jpg'),
        join(ds.out, 'img_0003.jpg'),
        join(ds.out, 'img_0004.png'),
      ])

      // The second run starts at the image after the last one handled.
      const second = start(ds, ['resume'])
      await second.waitFor(/Resuming at img_0004 — 3\/5 tagged/u)
      await second.waitFor(/Tags for img_0004[\s\S]*esc quit/u)
      at = second.send(KEY.ctrlS)
      await second.waitFor(/Skipped img_0004 — 1 pending/u, at)
      await second.waitFor(/Tags for img_0005[\s\S]*esc quit/u, at)
      await addTag(second, 'page')
      at = second.send(KEY.enter)
      await second.waitFor(/Saved img_0005: \+page — 0 pending/u, at)
      // No image is left: the loop ends by itself.
      await second.waitFor(/This run: 1 saved, 1 skipped\. Now 4\/5 tagged, 1 skipped; 0 pending\./u, at)
      expect((await second.exit()).exitCode).toBe(0)
      expect(await statusOf(ds, 'img_0004')).toBe('skipped')
      expect(await caption(ds, 'img_0005')).toBe('page\n')
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'Ctrl-C cancels the current image (exit 130) and prints the run: what was saved, and that this image was not',
    async () => {
      const ds = await makeDataset(3)
      const session = start(ds, ['resume'])
      await session.waitFor(/Resuming at img_0001 — 0\/3 tagged/u)
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      await addTag(session, 'kept')
      let at = session.send(KEY.enter)
      await session.waitFor(/Saved img_0001: \+kept — 2 pending/u, at)
      await session.waitFor(/Tags for img_0002[\s\S]*esc quit/u, at)
      const before = await snapshot(ds.root)
      await addTag(session, 'lost')
      at = session.send(KEY.ctrlC)
      expect((await session.exit()).exitCode).toBe(130)
      const screen = (await session.lines()).join('\n')
      expect(screen).toContain(
        '✖ Tags for img_0002: not saved\nCancelled. This run: 1 saved, 0 skipped; img_0002 was not saved. Now 1/3 tagged; 2 pending.',
      )
      expect(screen).not.toMatch(/error|nothing was written|esc quit/u)
      expect(await snapshot(ds.root)).toEqual(before)
      expect(await caption(ds, 'img_0001')).toBe('kept\n')
      expect(await caption(ds, 'img_0002')).toBe('')
    },
    PTY_TEST_TIMEOUT,
  )
})
