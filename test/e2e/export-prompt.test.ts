/**
 * `lora export DEST` on a terminal when DEST is not empty and `--force` was not given: the built CLI in a real
 * pseudo-terminal (node-pty) asks "Replace files of the same name in DEST?" (default no) instead of refusing.
 * Keys are sent only after the question is on screen. Without a terminal it refuses as before
 * (test/commands/export-replace.test.ts, test/e2e/export.test.ts).
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {killRunning, PtySession} from './pty.js'
import {cleanEnv, copyFixtures, makeTemp, removeTemp, runCli} from '../helpers.js'

const PTY_TEST_TIMEOUT = 20_000
const KEY = {enter: '\r', ctrlC: '\x03'} as const

let tmp: string
let dataset: string

beforeAll(async () => {
  tmp = await fsp.realpath(await makeTemp('lora-export-prompt-'))
  dataset = join(tmp, 'imgs')
  await copyFixtures(dataset, ['plasma-Kite-screenshot.jpg', 'skimage-horse.png'])
  for (const args of [
    ['init', '.', '--trigger', 'ohwx'],
    ['tag', '--all', '--add', 'kite'],
  ]) {
    const r = await runCli(args, {cwd: dataset})
    if (r.code !== 0) throw new Error(`lora ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  }
})
afterEach(() => killRunning())
afterAll(async () => removeTemp(tmp))

/** Starts `lora <args>` in a pseudo-terminal in the dataset (CI unset: lora never asks when it is set). */
function start(args: string[], env: NodeJS.ProcessEnv = {}): PtySession {
  const full: NodeJS.ProcessEnv = {...cleanEnv(), TERM: 'xterm-256color', ...env}
  if (env.CI === undefined) delete full.CI
  return new PtySession(args, dataset, full)
}

/** A destination folder holding a stale caption of an exported image and a file of the user's. */
async function busyFolder(name: string): Promise<string> {
  const dest = join(tmp, name)
  await fsp.mkdir(dest)
  await fsp.writeFile(join(dest, 'img_0001.txt'), 'stale\n')
  await fsp.writeFile(join(dest, 'keep.txt'), 'mine\n')
  return dest
}

const read = (path: string) => fsp.readFile(path, 'utf8')

describe('lora export into a non-empty folder, on a terminal', () => {
  it(
    'asks; yes replaces the files of the same name and keeps the others',
    async () => {
      const dest = await busyFolder('yes')
      const session = start(['export', dest])
      await session.waitFor(new RegExp(`\\? Replace files of the same name in ${dest}\\? \\(y/N\\)`, 'u'))
      session.send('y')
      const at = session.send(KEY.enter)
      await session.waitFor(/Exported 2 images as folder/u, at)
      expect((await session.exit()).exitCode).toBe(0)
      expect(await read(join(dest, 'img_0001.txt'))).toBe('ohwx, kite\n')
      expect(await read(join(dest, 'img_0002.txt'))).toBe('ohwx, kite\n')
      expect(await read(join(dest, 'keep.txt'))).toBe('mine\n')
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'Enter takes the default, no: refused as without a terminal (exit 1), nothing written',
    async () => {
      const dest = await busyFolder('no')
      const session = start(['export', dest])
      await session.waitFor(/Replace files of the same name in .*\? \(y\/N\)/u)
      const at = session.send(KEY.enter)
      await session.waitFor(/error: .* is not empty; not writing into it\.[\s\S]*hint: .*--force/u, at)
      expect((await session.exit()).exitCode).toBe(1)
      expect((await fsp.readdir(dest)).sort()).toEqual(['img_0001.txt', 'keep.txt'])
      expect(await read(join(dest, 'img_0001.txt'))).toBe('stale\n')
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'Ctrl-C cancels (exit 130), nothing written',
    async () => {
      const dest = await busyFolder('cancel')
      const session = start(['export', dest])
      await session.waitFor(/Replace files of the same name in .*\? \(y\/N\)/u)
      const at = session.send(KEY.ctrlC)
      await session.waitFor(/Cancelled; nothing was written\./u, at)
      expect((await session.exit()).exitCode).toBe(130)
      expect((await fsp.readdir(dest)).sort()).toEqual(['img_0001.txt', 'keep.txt'])
    },
    PTY_TEST_TIMEOUT,
  )

  it(
    'a file destination: "Replace DEST?"; --force and an empty folder ask nothing; with CI set it refuses',
    async () => {
      const file = join(tmp, 'captions.csv')
      await fsp.writeFile(file, 'keep me\n')
      const asked = start(['export', file, '--format', 'csv'])
      await asked.waitFor(new RegExp(`\\? Replace ${file}\\? \\(y/N\\)`, 'u'))
      asked.send('y')
      asked.send(KEY.enter)
      expect((await asked.exit()).exitCode).toBe(0)
      expect(await read(file)).toMatch(/^file,caption,tags,width,height,sha256\r?\n/u)

      const forced = start(['export', await busyFolder('forced'), '--force'])
      expect((await forced.exit()).exitCode).toBe(0)
      const empty = join(tmp, 'empty')
      await fsp.mkdir(empty)
      const fresh = start(['export', empty])
      expect((await fresh.exit()).exitCode).toBe(0)
      expect(forced.text + fresh.text).not.toMatch(/Replace/u)

      const ci = start(['export', await busyFolder('ci')], {CI: '1'})
      expect((await ci.exit()).exitCode).toBe(1)
      expect(ci.text).not.toMatch(/Replace/u)
      expect(ci.text).toMatch(/is not empty; not writing into it/u)
    },
    PTY_TEST_TIMEOUT,
  )
})
