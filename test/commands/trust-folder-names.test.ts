/**
 * Folders whose names hold a line break (or another line terminator: CR, U+2028) are walked like any other folder:
 * `lora validate` checks the files in them (a FIFO hidden there is reported, never opened) and `lora init -r`
 * imports the images in them, listing the ones it does not import with the reason; names print escaped. The listing
 * used to be fast-glob's, whose `**` (a regular expression built with `.`) matches no line break: it listed such a
 * folder but never entered it. Run in-process on real fixture photos. Needs `npm run build`.
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, readState, removeTemp} from '../helpers.js'

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

const LF = 'a\nb'
const NESTED = `${LF}/c\rd\u2028e`

/**
 * A folder holding a photo and its caption at the top, another in `a<LF>b/`, a third in `a<LF>b/c<CR>d<U+2028>e/`,
 * and a FIFO named like a caption and a link to /etc/passwd named like an image in `a<LF>b/`.
 */
async function folder(): Promise<string> {
  const root = await makeTemp('lora-names-')
  temps.push(root)
  await copyFixtures(root, ['plasma-Autumn-screenshot.jpg'])
  await copyFixtures(join(root, LF), ['plasma-Kite-screenshot.jpg'])
  await copyFixtures(join(root, NESTED), ['skimage-horse.png'])
  await fsp.writeFile(join(root, 'plasma-Autumn-screenshot.txt'), 'autumn\n')
  await fsp.writeFile(join(root, LF, 'plasma-Kite-screenshot.txt'), 'kite\n')
  await fsp.writeFile(join(root, NESTED, 'skimage-horse.txt'), 'horse\n')
  execFileSync('mkfifo', [join(root, LF, 'pipe.txt')])
  await fsp.symlink('/etc/passwd', join(root, LF, 'secret.png'))
  return root
}

describe('lora validate', () => {
  it('checks the files in folders named with line breaks, reporting a FIFO there (never opened)', async () => {
    const root = await folder()
    const result = await loraIn(['validate', root, '--json', '--min-side', '8'], {cwd: root})
    const report = JSON.parse(result.stdout) as {
      checked: {images: number; captions: number}
      findings: {rule: string; path: string}[]
    }
    expect(report.checked).toEqual({images: 3, captions: 3})
    expect(report.findings.map((f) => [f.rule, f.path])).toEqual([
      ['missing-caption', `${LF}/secret.png`],
      ['orphan-caption', `${LF}/pipe.txt`],
      ['not-regular-file', `${LF}/pipe.txt`],
      ['not-regular-file', `${LF}/secret.png`],
    ])
    expect(result.code).toBe(4)
  })

  it('prints such names escaped', async () => {
    const root = await folder()
    const result = await loraIn(['validate', root, '--min-side', '8'], {cwd: root})
    expect(result.stdout).toContain('a\\nb/pipe.txt')
    expect(result.stdout).toContain('a\\nb/secret.png')
    expect(result.stdout).not.toMatch(/a\nb\//u)
  })
})

describe('lora init --recursive', () => {
  it('imports the images in folders named with line breaks and lists the files it does not import', async () => {
    const root = await folder()
    const summary = JSON.parse((await loraInOk(['init', '.', '-r', '--json'], {cwd: root})).stdout) as {
      added: {source: string; tags: string[]}[]
      problems: {source: string; reason: string}[]
    }
    expect(summary.added.map((a) => [a.source, a.tags])).toEqual([
      ['plasma-Autumn-screenshot.jpg', ['autumn']],
      [`${LF}/plasma-Kite-screenshot.jpg`, ['kite']],
      [`${NESTED}/skimage-horse.png`, ['horse']],
    ])
    expect(summary.problems).toEqual([
      {
        source: `${LF}/secret.png`,
        reason: 'a symbolic link; lora imports only regular files (copy the image itself into the folder)',
      },
    ])
    expect((await readState(root)).images.map((i) => i.source)).toEqual(summary.added.map((a) => a.source))
    // The state holding such sources is read back by the next command, and the names print escaped.
    const shown = await loraInOk(['show', '2'], {cwd: root})
    expect(shown.stdout).toContain('Original: a\\nb/plasma-Kite-screenshot.jpg')
  })
})

describe('folders named with line breaks keep the listing rules', () => {
  /**
   * A folder holding a photo at the top and, in `a<LF>b/`: a photo, `__MACOSX/` and `_latent_cache/` (with a stray
   * caption each), a dot folder (a stray caption), another dataset `sub/` (a `.lora-tagger/` and a photo); another
   * dataset `e<LF>f/` at the top; and at the top and in `a<LF>b/` a link named `l<LF>k` to a folder outside holding a
   * photo, a stray caption and a FIFO.
   */
  async function guarded(): Promise<{root: string; outside: string}> {
    const root = await makeTemp('lora-names-rules-')
    const outside = await makeTemp('lora-names-outside-')
    temps.push(root, outside)
    await copyFixtures(root, ['plasma-Autumn-screenshot.jpg'])
    await fsp.writeFile(join(root, 'plasma-Autumn-screenshot.txt'), 'autumn\n')
    await copyFixtures(join(root, LF), ['plasma-Kite-screenshot.jpg'])
    await fsp.writeFile(join(root, LF, 'plasma-Kite-screenshot.txt'), 'kite\n')
    for (const skipped of ['__MACOSX', '_latent_cache', '.hidden', `c\nd/__MACOSX`]) {
      await fsp.mkdir(join(root, LF, skipped), {recursive: true})
      await fsp.writeFile(join(root, LF, skipped, 'stray.txt'), 'stray\n')
    }
    await copyFixtures(join(root, LF, 'sub'), ['skimage-horse.png'])
    await fsp.mkdir(join(root, LF, 'sub', '.lora-tagger'))
    await copyFixtures(join(root, 'e\nf'), ['skimage-horse.png'])
    await fsp.mkdir(join(root, 'e\nf', '.lora-tagger'))
    await copyFixtures(outside, ['skimage-horse.png'])
    await fsp.writeFile(join(outside, 'stray.txt'), 'stray\n')
    execFileSync('mkfifo', [join(outside, 'pipe.png')])
    await fsp.symlink(outside, join(root, 'l\nk'))
    await fsp.symlink(outside, join(root, LF, 'l\nk'))
    return {root, outside}
  }

  it('validate does not enter __MACOSX, _latent_cache, dot folders or links named with line breaks', async () => {
    const {root} = await guarded()
    const result = await loraIn(['validate', root, '--json', '--min-side', '8'], {cwd: root})
    const report = JSON.parse(result.stdout) as {
      checked: {images: number; captions: number}
      findings: {rule: string; path: string}[]
    }
    // The photo of a<LF>b/ is checked, and the other datasets' (validate checks every image file below).
    expect(report.checked).toEqual({images: 4, captions: 2})
    const paths = report.findings.map((f) => f.path)
    expect(paths).toContain(`${LF}/sub/skimage-horse.png`)
    expect(paths).toContain('l\nk')
    expect(paths).toContain(`${LF}/l\nk`)
    expect(paths.filter((p) => /stray|pipe/u.test(p))).toEqual([])
    expect(paths.filter((p) => p.startsWith('l\nk/') || p.startsWith(`${LF}/l\nk/`))).toEqual([])
  })

  it('init -r leaves another dataset below a line-break folder out, and follows no link', async () => {
    const {root} = await guarded()
    const summary = JSON.parse((await loraInOk(['init', '.', '-r', '--json'], {cwd: root})).stdout) as {
      added: {source: string}[]
      problems: {source: string; reason: string}[]
    }
    expect(summary.added.map((a) => a.source)).toEqual([
      'plasma-Autumn-screenshot.jpg',
      `${LF}/plasma-Kite-screenshot.jpg`,
    ])
    expect(summary.problems.map((p) => [p.source, p.reason.split(' (')[0]])).toEqual([
      ['e\nf/', 'another dataset'],
      [`${LF}/sub/`, 'another dataset'],
    ])
  })
})
