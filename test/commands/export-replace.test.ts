/**
 * `lora export` into a destination that is not empty, without a terminal (in-process, the Terminal not a TTY, as
 * in a script or CI): it refuses exactly as it always did — exit 1, the reason and the `--force` hint on stderr,
 * no question on stdout, nothing written. The question a terminal gets is tested through a pty
 * (test/e2e/export-prompt.test.ts).
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {copyFixtures, makeTemp, removeTemp} from '../helpers.js'
import {loraIn, loraInOk} from '../in-process.js'

let tmp: string
let dataset: string

beforeAll(async () => {
  tmp = await fsp.realpath(await makeTemp('lora-export-replace-'))
  dataset = join(tmp, 'imgs')
  await copyFixtures(dataset, ['plasma-Kite-screenshot.jpg', 'skimage-horse.png'])
  await loraInOk(['init', '.', '--trigger', 'ohwx'], {cwd: dataset})
  await loraInOk(['tag', '--all', '--add', 'kite'], {cwd: dataset})
})
afterAll(async () => removeTemp(tmp))

/** Every file under `dir` with its text. */
async function contents(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const name of (await fsp.readdir(dir, {recursive: true})).sort()) {
    const path = join(dir, name)
    if ((await fsp.stat(path)).isFile()) out[name] = await fsp.readFile(path, 'latin1')
  }
  return out
}

describe('lora export into a non-empty destination, no terminal', () => {
  it('a folder: refused (exit 1) with the --force hint; no question asked, nothing written', async () => {
    const dest = join(tmp, 'train')
    await fsp.mkdir(dest)
    await fsp.writeFile(join(dest, 'img_0001.txt'), 'stale\n')
    await fsp.writeFile(join(dest, 'keep.txt'), 'mine\n')
    const before = await contents(dest)
    const r = await loraIn(['export', dest], {cwd: dataset})
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      `error: ${dest} is not empty; not writing into it.\nhint: Choose an empty or new folder, or add --force to write into it (files of the same name are replaced).\n`,
    )
    expect(r.stderr).not.toMatch(/Replace/u)
    expect(await contents(dest)).toEqual(before)

    const forced = await loraIn(['export', dest, '--force'], {cwd: dataset})
    expect(forced.code).toBe(0)
    expect(await fsp.readFile(join(dest, 'img_0001.txt'), 'utf8')).toBe('ohwx, kite\n')
    expect(await fsp.readFile(join(dest, 'keep.txt'), 'utf8')).toBe('mine\n')
  })

  it('a file: refused (exit 1) with the --force hint; the file keeps its bytes', async () => {
    const dest = join(tmp, 'captions.csv')
    await fsp.writeFile(dest, 'keep me\n')
    const r = await loraIn(['export', dest, '--format', 'csv'], {cwd: dataset})
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      `error: ${dest} exists; not overwriting it.\nhint: Choose a new file name, or add --force to replace it.\n`,
    )
    expect(await fsp.readFile(dest, 'utf8')).toBe('keep me\n')
  })
})
