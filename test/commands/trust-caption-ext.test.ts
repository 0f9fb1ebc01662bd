/**
 * The caption extension (issue 12 rule 4; README "Safety model"): it can never be an image extension lora reads
 * (any case) or the extension of a file lora keeps for itself, must start with a dot and hold no path separator.
 * `init --caption-ext` refuses it as a usage error before anything is read or moved; a dataset config holding one
 * is refused when read, naming the key, by every command, so `lora tag` can never write text over an image.
 * In-process (test/in-process.ts) on real datasets; needs `npm run build`.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, removeTemp, sha256} from '../helpers.js'
import {snapshot} from '../e2e/e2e-helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']
const HINT = "hint: Use .txt (kohya_ss GUI, ai-toolkit, CivitAI) or .caption (sd-scripts' default).\n"

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function folder(): Promise<string> {
  const tmp = await makeTemp('lora-ext-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  return root
}

describe('init --caption-ext', () => {
  it("refuses image extensions, lora's own, and non-extensions: exit 2 before anything is read or moved", async () => {
    const root = await folder()
    const before = await snapshot(root)
    const cases: [string, string][] = [
      ['.jpg', '.jpg is an image extension: caption files would collide with the images'],
      ['.PNG', '.PNG is an image extension: caption files would collide with the images'],
      ['.Webp', '.Webp is an image extension: caption files would collide with the images'],
      ['.tiff', '.tiff is an image extension: caption files would collide with the images'],
      ['.json', '.json is the extension of files lora keeps for itself'],
      ['.yaml', '.yaml is the extension of files lora keeps for itself'],
      ['.idx', '.idx is the extension of files lora keeps for itself'],
      ['.tsv', '.tsv is the extension of files lora keeps for itself'],
      ['txt', '"txt" has no leading dot'],
      ['.a/b', '".a/b" holds a path separator'],
      ['.x.txt', '".x.txt" is not a plain extension (a dot, then 1 to 16 letters, digits, "_" or "-")'],
    ]
    for (const [ext, reason] of cases) {
      for (const mode of ['--copy', '--move']) {
        const result = await loraIn(['init', '.', mode, `--caption-ext=${ext}`], {cwd: root})
        expect(result.stderr).toBe(`error: --caption-ext ${ext}: ${reason}.\n${HINT}`)
        expect(result.code).toBe(2)
        expect(await snapshot(root)).toEqual(before)
      }
    }
  })

  it('accepts .caption (the positive control)', async () => {
    const root = await folder()
    await loraInOk(['init', '.', '--caption-ext', '.caption'], {cwd: root})
    expect((await fsp.readdir(join(root, 'output'))).filter((n) => n.endsWith('.caption'))).toEqual([
      'img_0001.caption',
      'img_0002.caption',
      'img_0003.caption',
    ])
  })
})

describe('a dataset config with such a captionExtension', () => {
  it('is refused when read, naming the key, by every command: nothing is written, no image is overwritten', async () => {
    const root = await folder()
    await loraInOk(['init', '.', '--move'], {cwd: root})
    await loraInOk(['tag', '1', '--add', 'autumn'], {cwd: root})
    const config = join(root, '.lora-tagger', 'config.yaml')
    await fsp.writeFile(
      config,
      (await fsp.readFile(config, 'utf8')).replace('captionExtension: .txt', 'captionExtension: .JPG'),
    )
    // A new original waiting to be imported: a refused init must not move it.
    await copyFixtures(root, ['skimage-page.png'])
    const images = await Promise.all(
      ['img_0001.jpg', 'img_0002.jpg', 'img_0003.png'].map((n) => sha256(join(root, 'output', n))),
    )
    const before = await snapshot(root)
    const error =
      'error: Bad value for "captionExtension" in .lora-tagger/config.yaml: .JPG is an image extension: caption files would collide with the images.\n'
    const hint = `hint: "captionExtension" must be a dot and up to 16 letters, digits, "_" or "-" (such as .txt or .caption), and not an image extension or one of lora's own files. Use .txt (kohya_ss GUI, ai-toolkit, CivitAI) or .caption (sd-scripts' default).\n`
    for (const args of [
      ['status'],
      ['tag', '1', '--add', 'x'],
      ['tag', '--all', '--clear'],
      ['tags', 'rename', 'autumn', 'fall'],
      ['next', '--print'],
      ['export', join(root, '..', 'train')],
      ['init', '.', '--move'],
      ['validate'],
    ]) {
      const result = await loraIn(args, {cwd: root})
      expect({args, stderr: result.stderr}).toEqual({args, stderr: error + hint})
      expect(result.code).toBe(1)
    }
    expect(await snapshot(root)).toEqual(before)
    expect(
      await Promise.all(['img_0001.jpg', 'img_0002.jpg', 'img_0003.png'].map((n) => sha256(join(root, 'output', n)))),
    ).toEqual(images)
    await expect(fsp.stat(join(root, '..', 'train'))).rejects.toMatchObject({code: 'ENOENT'})
  })
})

describe('validate --caption-ext', () => {
  it('refuses an image extension (exit 2)', async () => {
    const root = await folder()
    const result = await loraIn(['validate', root, '--caption-ext', '.PNG'], {cwd: root})
    expect(result.stderr).toBe(
      'error: --caption-ext .PNG: .PNG is an image extension.\nhint: For example --caption-ext .txt or --caption-ext .caption.\n',
    )
    expect(result.code).toBe(2)
  })
})
