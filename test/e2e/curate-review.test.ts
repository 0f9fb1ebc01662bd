/**
 * `lora curate --review` in a pseudo-terminal: each group is drawn as a contact sheet (the viewer is a script that
 * records what it was handed), asked about with a checkbox (non-keepers checked), then each rule's findings; the
 * choices are skipped in one change. Without a terminal it refuses before measuring anything.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import sharp from 'sharp'
import {killRunning, PtySession} from './pty.js'
import {cleanEnv, FIXTURES, makeTemp, removeTemp, runCli} from '../helpers.js'

const PTY_TEST_TIMEOUT = 60_000
const KEY = {enter: '\r', space: ' ', down: '\x1b[B'} as const

let tmp: string
let dataset: string

beforeAll(async () => {
  tmp = await fsp.realpath(await makeTemp('lora-curate-review-'))
  dataset = join(tmp, 'imgs')
  await fsp.mkdir(dataset, {recursive: true})
  const kite = join(FIXTURES, 'plasma-Kite-screenshot.jpg')
  await fsp.copyFile(kite, join(dataset, 'a-kite.jpg'))
  await sharp(kite).resize(300).png().toFile(join(dataset, 'b-kite-small.png'))
  await sharp(kite).resize(280).jpeg({quality: 20}).toFile(join(dataset, 'c-kite-q20.jpg'))
  await fsp.copyFile(join(FIXTURES, 'skimage-page.png'), join(dataset, 'd-page.png'))
  await fsp.copyFile(join(FIXTURES, 'plasma-Path-screenshot.jpg'), join(dataset, 'e-path.jpg'))
  const r = await runCli(['init', '.'], {cwd: dataset})
  if (r.code !== 0) throw new Error(`lora init exited ${r.code}: ${r.stderr}`)
})
afterEach(() => killRunning())
afterAll(async () => removeTemp(tmp))

it(
  'shows each group as a sheet, asks, and skips what was chosen (one keeper unchecked, one duplicate kept)',
  async () => {
    // A viewer that records the path it is handed and stays open until lora closes it.
    const viewer = join(tmp, 'viewer.sh')
    const seen = join(tmp, 'seen.txt')
    await fsp.writeFile(viewer, `#!/bin/sh\necho "$1" >> '${seen}'\nexec sleep 30\n`, {mode: 0o755})
    const env: NodeJS.ProcessEnv = {...cleanEnv(), TERM: 'xterm-256color', LORA_VIEWER: viewer}
    delete env.CI
    const session = new PtySession(['curate', '--review', '--rule', 'grayscale'], dataset, env)
    await session.waitFor(/Group 1 of 1 \(near; keeper img_0001\): skip which images\?/u)
    // img_0002 and img_0003 are checked; uncheck img_0003 (the third line) and confirm.
    session.send(KEY.down)
    session.send(KEY.down)
    session.send(KEY.space)
    let at = session.send(KEY.enter)
    await session.waitFor(/grayscale: skip which images\?/u, at)
    at = session.send(KEY.enter)
    await session.waitFor(/Skipped 2 images/u, at)
    expect((await session.exit()).exitCode).toBe(0)
    const state = JSON.parse(await fsp.readFile(join(dataset, '.lora-tagger', 'state.json'), 'utf8')) as {
      images: {id: string; status: string; skipReason?: string}[]
    }
    expect(state.images.map((i) => [i.id, i.status])).toEqual([
      ['img_0001', 'pending'],
      ['img_0002', 'skipped'],
      ['img_0003', 'pending'],
      ['img_0004', 'skipped'],
      ['img_0005', 'pending'],
    ])
    expect(state.images[1].skipReason).toMatch(/^near-duplicate of img_0001 \(distance \d+\)$/u)
    expect(state.images[3].skipReason).toBe('grayscale (no coloured pixel)')
    // The viewer was handed the group's sheet: one PNG, the three pictures side by side.
    const sheet = (await fsp.readFile(seen, 'utf8')).trim()
    expect(sheet).toBe(join(dataset, '.lora-tagger', 'cache', 'curate', 'sheet.png'))
    const meta = await sharp(sheet).metadata()
    expect(meta.format).toBe('png')
    expect(meta.width).toBeGreaterThan(3 * 300)
  },
  PTY_TEST_TIMEOUT,
)

it('refuses without a terminal (exit 2) before measuring anything', async () => {
  const fresh = join(tmp, 'fresh')
  await fsp.mkdir(fresh)
  await fsp.copyFile(join(FIXTURES, 'plasma-Kite-screenshot.jpg'), join(fresh, 'a.jpg'))
  expect((await runCli(['init', '.'], {cwd: fresh})).code).toBe(0)
  const r = await runCli(['curate', '--review'], {cwd: fresh})
  expect(r.code).toBe(2)
  expect(r.stderr).toContain('lora curate --review needs a terminal')
  await expect(fsp.stat(join(fresh, '.lora-tagger', 'cache', 'curate'))).rejects.toThrow()
})
