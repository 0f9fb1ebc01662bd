/**
 * Caption files are read up to 1 MiB (core/caption-encoding.ts CAPTION_MAX_BYTES; README "Safety model"): a larger
 * one, planted beside an original or in the output folder, is never read into memory. `lora init` lists its image
 * as not imported with the reason; the commands that read captions stop (exit 1, code `caption-too-large`) naming
 * the file, its size and the cap, and change nothing; `lora validate` reports it (rule `oversized-caption`). The
 * large files are sparse (truncate), so the test costs no disk. Run in-process on datasets made by `lora init` from
 * the fixture photos. Needs `npm run build`.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, readState, removeTemp, sparseFile as sparse} from '../helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']
const GIB3 = 3 * 2 ** 30

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function folder(): Promise<string> {
  const tmp = await makeTemp('lora-capsize-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  return root
}

describe('lora init and a caption file of more than 1 MiB beside an original', () => {
  it('does not import its image, saying why; the other images are imported', async () => {
    const root = await folder()
    await fsp.writeFile(join(root, 'plasma-Kite-screenshot.txt'), 'kite, sky\n')
    // One byte over the cap: read whole (1 MiB of NUL bytes), it would be refused for its encoding instead.
    await sparse(join(root, 'plasma-Autumn-screenshot.txt'), 2 ** 20 + 1)
    const result = await loraIn(['init', '.', '--json'], {cwd: root})
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout) as {
      added: {source: string; tags: string[]}[]
      problems: {source: string; reason: string}[]
    }
    expect(summary.problems).toEqual([
      {
        source: 'plasma-Autumn-screenshot.jpg',
        reason:
          "its caption plasma-Autumn-screenshot.txt is 1.0 MiB (1,048,577 bytes), more than the 1 MiB lora reads for a caption file; not imported: replace it with the image's tags or remove it, then run lora init again",
      },
    ])
    expect(summary.added.map((a) => a.source)).toEqual(['plasma-Kite-screenshot.jpg', 'skimage-horse.png'])
    expect(summary.added[0].tags).toEqual(['kite', 'sky'])
  })
})

describe('a caption file in the output folder grown past 1 MiB (3 GiB, sparse)', () => {
  let root: string
  let caption: string
  beforeAll(async () => {
    root = await folder()
    await loraInOk(['init', '.'], {cwd: root})
    await loraInOk(['tag', '1', '--add', 'sky'], {cwd: root})
    caption = join(root, 'output', 'img_0001.txt')
    await sparse(caption, GIB3)
  })

  it.each([
    [['tag', '1', '--add', 'tree']],
    [['tag', '--all', '--add', 'tree']],
    [['tags', 'rename', 'sky', 'blue sky']],
    [['status', '--rescan']],
    [['show', '1']],
    [['export', '../exp']],
  ])('lora %p stops, naming the file, its size and the cap, and changes nothing', async (args) => {
    const state = await readState(root)
    const result = await loraIn(args, {cwd: root})
    expect(result.stdout).toBe('')
    expect(result.stderr.split('\n').slice(0, 2)).toEqual([
      'error: output/img_0001.txt is 3.0 GiB (3,221,225,472 bytes), more than the 1 MiB lora reads for a caption file; nothing of it was read, and nothing was done.',
      "hint: A caption file holds one line of tags (a few KB). Look at what this one holds (`head -c 300 output/img_0001.txt`), then replace it with the image's tags or remove it, and run the command again.",
    ])
    expect(result.code).toBe(1)
    expect(await readState(root)).toEqual(state)
    expect((await fsp.stat(caption)).size).toBe(GIB3)
    await expect(fsp.stat(join(root, '..', 'exp'))).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('lora validate reports it (oversized-caption, exit 4) and checks the rest', async () => {
    const result = await loraIn(['validate', '--json'], {cwd: root})
    expect(result.code).toBe(4)
    const report = JSON.parse(result.stdout) as {findings: {rule: string; path: string; message: string}[]}
    expect(report.findings.filter((f) => f.rule === 'oversized-caption')).toEqual([
      expect.objectContaining({
        path: 'img_0001.txt',
        message:
          'img_0001.txt is 3.0 GiB (3,221,225,472 bytes), more than the 1 MiB lora reads for a caption file; not read.',
      }),
    ])
  })

  it('once the file is replaced, the commands work again', async () => {
    await fsp.writeFile(caption, 'sky, tree\n')
    await loraInOk(['status', '--rescan'], {cwd: root})
    expect((await readState(root)).images[0].tags).toEqual(['sky', 'tree'])
  })
})
