/**
 * Files lora reads whole are read up to the fs adapter's WHOLE_READ_MAX_BYTES (512 MiB, V8's longest string; README
 * "Safety model"): a larger one, put in a stranger's dataset, is refused by its size before any byte is read, never
 * read into memory. The dataset's own files (state.json, the journal, tags.txt) stop the command (exit 1) naming the
 * file, its size and the cap; a cache file that large is taken as missing and made again; an image that large is a
 * problem of that image alone. The large files are sparse (truncate), so the test costs no disk. In-process, on
 * datasets made by `lora init` from the fixture photos. Needs `npm run build`.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {sparseFile as sparse} from '../helpers.js'
import {cleanupTemps} from '../e2e/e2e-helpers.js'
import {initDataset} from './command-helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']
/** Past the cap, and under Node's own 2 GiB limit of a whole read: without the cap it would be read into memory. */
const SIZE = 600 * 2 ** 20

afterAll(cleanupTemps)

/** A dataset made by `lora init` from the fixture photos; returns its folder. */
const dataset = () => initDataset({names: IMAGES})

describe('a file of the dataset past 512 MiB (600 MiB, sparse) stops the command, naming it', () => {
  it.each([
    ['.lora-tagger/state.json', 'state file', ['status']],
    ['.lora-tagger/journal.json', 'journal file', ['status']],
    ['output/tags.txt', 'vocabulary file (tags.txt)', ['tags', '--json']],
  ])('%s, a %s (lora %j)', async (file, what, args) => {
    const root = await dataset()
    const path = join(root, file)
    await sparse(path, SIZE)
    const result = await loraIn(args, {cwd: root})
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr.split('\n')[0]).toBe(
      `error: ${file} is 600.0 MiB (629,145,600 bytes), more than the 512 MiB lora reads for a ${what}; nothing of it was read, and nothing was done.`,
    )
    expect(result.stderr).toContain(`git log -- ${file}`)
    // Left as it was: lora does not remove what it refused to read.
    expect((await fsp.stat(path)).size).toBe(SIZE)
  })
})

describe('a cache file past 512 MiB is taken as missing and made again', () => {
  it("status's summary cache (.lora-tagger/cache/summary.json)", async () => {
    const root = await dataset()
    const before = JSON.parse((await loraInOk(['status', '--json'], {cwd: root})).stdout) as unknown
    const cache = join(root, '.lora-tagger', 'cache', 'summary.json')
    expect((await fsp.stat(cache)).isFile()).toBe(true)
    await sparse(cache, SIZE)
    const after = await loraInOk(['status', '--json'], {cwd: root})
    expect(JSON.parse(after.stdout)).toEqual(before)
    expect((await fsp.stat(cache)).size).toBeLessThan(2 ** 20)
  })
})

describe('an image past 512 MiB is a problem of that image alone', () => {
  it('lora gallery makes the other thumbnails and names it', async () => {
    const root = await dataset()
    await sparse(join(root, 'output', 'img_0002.jpg'), SIZE)
    const result = await loraInOk(['gallery', '--json'], {cwd: root})
    const report = JSON.parse(result.stdout) as {images: number; problems: {id: string; reason: string}[]}
    expect(report.problems).toEqual([
      {
        id: 'img_0002',
        reason: 'its file is 600.0 MiB (629,145,600 bytes), more than the 512 MiB lora reads of an image',
      },
    ])
  })
})
