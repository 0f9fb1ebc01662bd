/**
 * The tag prompt's suggestions from lora autotag and from the dataset (issue 14), end to end: the built CLI in a
 * real pseudo-terminal (test/e2e/pty.ts). Predictions come from `lora autotag --mode suggest` with a tiny model
 * generated in the test (test/autotag/tiny-model.ts) over real fixture photos; co-occurrence from captions written
 * with `lora tag`.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {killRunning, PtySession} from './pty.js'
import {cleanEnv, copyFixtures, makeTemp, readState, removeTemp, runCli} from '../helpers.js'
import {writeTinyModel} from '../autotag/tiny-model.js'

const PTY_TEST_TIMEOUT = 30_000
const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'plasma-Path-screenshot.jpg']
const temps: string[] = []

afterEach(() => killRunning())
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function makeDataset(): Promise<{tmp: string; root: string}> {
  const tmp = await makeTemp('lora-pty-autotag-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  const init = await runCli(['init', '.', '--trigger', 'ohwx'], {cwd: root})
  expect(init.code).toBe(0)
  return {tmp, root}
}

function start(root: string, args: string[]): PtySession {
  const env: NodeJS.ProcessEnv = {...cleanEnv(), TERM: 'xterm-256color', LORA_VIEWER: 'none'}
  delete env.CI
  return new PtySession(args, root, env)
}

const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')

describe('lora next offers suggestions', () => {
  it(
    'offers the predictions of lora autotag --mode suggest with their confidence; ctrl-a accepts those above the threshold',
    async () => {
      const {tmp, root} = await makeDataset()
      const model = await writeTinyModel(join(tmp, 'model'), 32)
      const suggested = await runCli(['autotag', '--model', model, '--threshold', '0.5', '--json'], {cwd: root})
      expect(suggested.code).toBe(0)
      const report = JSON.parse(suggested.stdout) as {images: {id: string; tags: {tag: string; score: number}[]}[]}
      const chosen = report.images[0].tags
      expect(chosen.length).toBeGreaterThan(0)
      // Suggest mode wrote no caption.
      expect(await fsp.readFile(join(root, 'output', 'img_0001.txt'), 'utf8')).toBe('ohwx\n')

      const session = start(root, ['next'])
      await session.waitFor(/ctrl-a accept predicted[\s\S]*esc quit/u)
      // Each chosen tag is offered with its confidence, the best first (marked ⇥).
      const best = chosen[0]
      await session.waitFor(new RegExp(`⇥ ${escapeRe(best.tag)} ${Math.round(best.score * 100)}%`, 'u'))
      for (const t of chosen) expect(session.text).toContain(`${t.tag} ${Math.round(t.score * 100)}%`)
      const at = session.send('\x01')
      await session.waitFor(new RegExp(`added ${chosen.map((t) => escapeRe(t.tag)).join(', ')}`, 'u'), at)
      const saved = session.send('\r')
      await session.waitFor(/Saved img_0001: /u, saved)
      expect((await session.exit()).exitCode).toBe(0)
      const expected = ['ohwx', ...chosen.map((t) => t.tag)]
      expect(await fsp.readFile(join(root, 'output', 'img_0001.txt'), 'utf8')).toBe(expected.join(', ') + '\n')
      const image = (await readState(root)).images[0]
      expect(image).toMatchObject({status: 'tagged', tags: expected})
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'with an empty input, suggests the tags that often go with the image’s tags in this dataset',
    async () => {
      const {root} = await makeDataset()
      for (const id of ['img_0002', 'img_0003'])
        expect((await runCli(['tag', id, '--add', 'sky, cloud'], {cwd: root})).code).toBe(0)
      const session = start(root, ['next'])
      await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
      expect(session.text).not.toContain('often with')
      let at = session.send('sky')
      await session.waitFor(/› sky/u, at)
      at = session.send('\r')
      await session.waitFor(/⇥ cloud\s+often with 100%/u, at)
      at = session.send('\t')
      await session.waitFor(/added cloud/u, at)
      at = session.send('\r')
      await session.waitFor(/Saved img_0001: \+sky \+cloud/u, at)
      expect((await session.exit()).exitCode).toBe(0)
    },
    PTY_TEST_TIMEOUT,
  )
})
