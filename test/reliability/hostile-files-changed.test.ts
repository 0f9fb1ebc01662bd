/**
 * Issue 12 rules 9 and 10 with real processes (README "Safety model"): an output image turned into a FIFO or a
 * symbolic link to /dev/zero by hand never makes a command hang or abort (each finishes within a time limit, with
 * the documented exit code; the FIFO is never opened, nothing is exported), and `lora repair` killed before any of
 * its file mutations (LORA_FAILPOINT=N) ends, after a rerun, with the same state.json as an uninterrupted repair.
 * The commands facing a FIFO and the killed repairs are processes of the built CLI (`npm run build` first), so that
 * a hang is a process to kill, not the test's; setups and the follow-ups of a kill run in-process.
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {copyFixtures, makeTemp, removeTemp, runCli, sha256} from '../helpers.js'
import {loraIn} from '../in-process.js'
import {FULL} from './reliability-helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']
const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function dataset(): Promise<string> {
  const tmp = await makeTemp('lora-rel-changed-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  const init = await loraIn(['init', '.'], {cwd: root})
  expect(init.code).toBe(0)
  expect((await loraIn(['tag', '--all', '--add', 'sky'], {cwd: root})).code).toBe(0)
  return root
}

/** Runs the CLI, failing the test if it has not exited within `ms` (a hang on a FIFO). */
async function within(ms: number, args: string[], cwd: string) {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lora ${args.join(' ')} still running after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([runCli(args, {cwd}), limit])
  } finally {
    clearTimeout(timer)
  }
}

describe('a FIFO and a /dev/zero symlink in place of output images', () => {
  let root: string
  beforeAll(async () => {
    root = await dataset()
    await fsp.rm(join(root, 'output', 'img_0001.jpg'))
    execFileSync('mkfifo', [join(root, 'output', 'img_0001.jpg')])
    await fsp.rm(join(root, 'output', 'img_0002.jpg'))
    await fsp.symlink('/dev/zero', join(root, 'output', 'img_0002.jpg'))
  }, 30_000)

  it.each([
    [['status', '--json'], 0],
    [['status', '--check', '--json'], 0],
    [['status', '--rescan', '--json'], 0],
    [['next', '--print'], 0],
    [['init', '.', '--json'], 0],
    [['export', '../exp'], 1],
    [['export', '../exp.csv', '--format', 'csv'], 1],
    [['export', '-', '--format', 'jsonl', '--skip-missing'], 0],
  ])(
    'lora %p finishes with exit %p, and the FIFO is left as it was',
    async (args, code) => {
      const result = await within(15_000, args, root)
      expect(result.signal).toBeNull()
      expect(result.code).toBe(code)
      if (args[0] === 'status')
        expect((JSON.parse(result.stdout) as {missing: string[]}).missing).toEqual(['img_0001', 'img_0002'])
      if (args[0] === 'init')
        expect((JSON.parse(result.stdout) as {missing: string[]}).missing).toEqual(['img_0001', 'img_0002'])
      if (args[0] === 'next') expect(result.stdout).toBe('')
      if (code === 1)
        expect(result.stderr).toMatch(
          /^error: 2 images in output\/ are missing or changed since lora recorded them: img_0001 \(missing: a FIFO now, not the image\), img_0002 \(missing: a symbolic link now, not the image\)\. Nothing was exported\./u,
        )
      if (args.includes('--skip-missing'))
        expect(
          result.stdout
            .trim()
            .split('\n')
            .map((l) => (JSON.parse(l) as {file: string}).file),
        ).toEqual(['img_0003.png'])
      expect((await fsp.lstat(join(root, 'output', 'img_0001.jpg'))).isFIFO()).toBe(true)
      expect(await fsp.readlink(join(root, 'output', 'img_0002.jpg'))).toBe('/dev/zero')
      await expect(fsp.stat(join(root, '..', 'exp', 'img_0002.jpg'))).rejects.toThrow(/ENOENT/u)
    },
    30_000,
  )
})

describe('lora repair killed at every file mutation', () => {
  it('a rerun ends with the state an uninterrupted repair writes', async () => {
    const root = await dataset()
    const statePath = join(root, '.lora-tagger', 'state.json')
    await fsp.rm(statePath)
    const clean = join(root, '..', 'clean')
    await fsp.cp(root, clean, {recursive: true, preserveTimestamps: true})
    expect((await loraIn(['repair'], {cwd: clean})).code).toBe(0)
    const expected = await fsp.readFile(join(clean, '.lora-tagger', 'state.json'), 'utf8')
    const captions = await sha256(join(root, 'output', 'img_0001.txt'))
    let completed = false
    // Full mode kills at every N; the fast sample in npm test at N = 1, 2, 3, then every 4th until a run completes.
    for (let n = 1; n <= 40 && !completed; n += FULL || n < 3 ? 1 : 4) {
      const copy = join(root, '..', `fp-${n}`)
      await fsp.cp(root, copy, {recursive: true, preserveTimestamps: true})
      const killed = await runCli(['repair'], {cwd: copy, env: {LORA_FAILPOINT: String(n)}})
      completed = killed.code === 0
      if (!completed) {
        expect(killed.signal).toBe('SIGKILL')
        const rerun = await loraIn(['repair'], {cwd: copy})
        expect(rerun.code).toBe(0)
      }
      expect(await fsp.readFile(join(copy, '.lora-tagger', 'state.json'), 'utf8')).toBe(expected)
      expect(await sha256(join(copy, 'output', 'img_0001.txt'))).toBe(captions)
      await expect(fsp.stat(join(copy, '.lora-tagger', 'journal.json'))).rejects.toThrow(/ENOENT/u)
      const status = await loraIn(['status', '--json'], {cwd: copy})
      expect(status.code).toBe(0)
      await removeTemp(copy)
    }
    expect(completed).toBe(true)
  }, 300_000)
})
