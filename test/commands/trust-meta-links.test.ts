/**
 * A dataset from a stranger may hold symbolic links where lora keeps its own files (README "Safety model": nothing
 * outside the dataset is ever touched):
 * - `.lora-tagger` itself a link: every command that opens the dataset refuses (exit 1), before reading or writing
 *   anything through it;
 * - `.lora-tagger/cache` (or a folder below it) a link: the commands work, their caches are simply not written
 *   (store/dataset.ts `writeCacheFile`, adapters/fs.ts `makeDirBelow`), and the temp-file sweep does not reach
 *   through it; the folder it points to stays byte for byte as it was, with no new entry.
 * In-process (test/in-process.ts) on datasets made by `lora init` from the fixture photos; needs `npm run build`.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, removeTemp} from '../helpers.js'
import {snapshot} from '../e2e/e2e-helpers.js'
import {writeCacheFile} from '../../src/store/dataset.js'
import {makeDirBelow} from '../../src/adapters/fs.js'
import {loadTagIndex} from '../../src/services/references.js'
import {openDataset} from '../../src/store/dataset.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']
const EXCERPT = join(import.meta.dirname, '..', 'fixtures', 'vocab', 'danbooru-excerpt.csv')

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/** A temp folder holding `imgs/` (a dataset made by `lora init`) and `outside/` (the user's files). */
async function setUp(): Promise<{root: string; outside: string}> {
  const tmp = await fsp.realpath(await makeTemp('lora-meta-links-'))
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  await loraInOk(['init', '.'], {cwd: root})
  const outside = join(tmp, 'outside')
  await fsp.mkdir(outside)
  // Files named as lora's caches are, and a temp file of a dead process as lora names its own.
  await fsp.writeFile(join(outside, 'config.json'), '{"the user": "config"}\n')
  await fsp.writeFile(join(outside, 'summary.json'), 'not lora\n')
  await fsp.writeFile(join(outside, '.lora-tmp-999999999-1-summary.json'), 'kept\n')
  return {root, outside}
}

/** Every entry of `dir` with its sha256, dot files included (e2e-helpers `snapshot`). */
const everything = (dir: string) => snapshot(dir)

describe('.lora-tagger is a symbolic link', () => {
  it.each([[['status']], [['status', '--json']], [['next', '--print']], [['tag', '1', '--add', 'x']], [['log']]])(
    'lora %j refuses before touching what it points to',
    async (args) => {
      const {root, outside} = await setUp()
      // The dataset's real folder moved outside, the link in its place: what a write through the link would change.
      await fsp.rename(join(root, '.lora-tagger'), join(outside, 'meta'))
      await fsp.symlink(join(outside, 'meta'), join(root, '.lora-tagger'))
      const before = await everything(outside)
      const r = await loraIn(args, {cwd: root})
      expect(r.code).toBe(1)
      expect(r.stdout).toBe('')
      expect(r.stderr.split('\n')[0]).toBe(
        `error: .lora-tagger in ${root} is a symbolic link (to ${join(outside, 'meta')}), not a folder of the dataset's own; nothing was done.`,
      )
      expect(r.stderr).toMatch(/\nhint: .*replace it with the folder it points to/u)
      expect(await everything(outside)).toEqual(before)
    },
  )

  it.each([
    ['an empty folder', true],
    ['nothing (a dangling link)', false],
  ])(
    'lora init of a folder of images whose .lora-tagger leads to %s refuses, writing nothing there',
    async (_, made) => {
      const tmp = await fsp.realpath(await makeTemp('lora-meta-links-'))
      temps.push(tmp)
      const root = join(tmp, 'imgs')
      await copyFixtures(root, IMAGES)
      const target = join(tmp, 'outside', 'meta')
      if (made) await fsp.mkdir(target, {recursive: true})
      await fsp.symlink(target, join(root, '.lora-tagger'))
      const r = await loraIn(['init', '.'], {cwd: root})
      expect(r.code).toBe(1)
      expect(r.stderr.split('\n')[0]).toBe(
        `error: .lora-tagger in ${root} is a symbolic link (to ${made ? target : 'a path that does not exist'}), not a folder of the dataset's own; nothing was done.`,
      )
      if (made) expect(await fsp.readdir(target)).toEqual([])
      else expect(fs.existsSync(join(tmp, 'outside'))).toBe(false)
      expect((await fsp.readdir(root)).sort()).toEqual([...IMAGES, '.lora-tagger'].sort())
    },
  )

  it('lora init on such a folder refuses the same way', async () => {
    const {root, outside} = await setUp()
    await fsp.rename(join(root, '.lora-tagger'), join(outside, 'meta'))
    await fsp.symlink(join(outside, 'meta'), join(root, '.lora-tagger'))
    const before = await everything(outside)
    const r = await loraIn(['init', '.'], {cwd: root})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: \.lora-tagger in .* is a symbolic link/u)
    expect(await everything(outside)).toEqual(before)
  })
})

describe('.lora-tagger/cache is a symbolic link', () => {
  it('status, tag, next --print, tags import and status again work, and nothing is written through it', async () => {
    const {root, outside} = await setUp()
    await fsp.rm(join(root, '.lora-tagger', 'cache'), {recursive: true, force: true})
    await fsp.symlink(outside, join(root, '.lora-tagger', 'cache'))
    const before = await everything(outside)
    expect(Object.keys(before).sort()).toEqual(['.lora-tmp-999999999-1-summary.json', 'config.json', 'summary.json'])
    await loraInOk(['status'], {cwd: root})
    await loraInOk(['tag', '1', '--add', 'sky'], {cwd: root})
    expect(JSON.parse((await loraInOk(['next', '--print', '--json'], {cwd: root})).stdout)).toMatchObject({
      id: 'img_0002',
    })
    await loraInOk(['tags', 'import', EXCERPT], {cwd: root})
    const status = JSON.parse((await loraInOk(['status', '--json'], {cwd: root})).stdout) as {
      images: {tagged: number}
    }
    expect(status.images.tagged).toBe(1)
    expect(await everything(outside)).toEqual(before)
  })

  it('lora curate, whose measures are kept there, stops with an error naming the link (exit 1)', async () => {
    const {root, outside} = await setUp()
    await fsp.rm(join(root, '.lora-tagger', 'cache'), {recursive: true, force: true})
    await fsp.symlink(outside, join(root, '.lora-tagger', 'cache'))
    const before = await everything(outside)
    const r = await loraIn(['curate'], {cwd: root})
    expect(r.code).toBe(1)
    const cache = join(root, '.lora-tagger', 'cache')
    expect(r.stderr).toContain(
      `error: ${cache} is a symbolic link, where lora keeps a folder of its own; lora reads and writes nothing through it.`,
    )
    expect(r.stderr).toContain('hint: A dataset from elsewhere may hold one: replace it with a real folder')
    expect(await everything(outside)).toEqual(before)
  })
})

describe('.lora-tagger/reference is a symbolic link', () => {
  it('tags import and tags import --remove refuse naming it; nothing is written or deleted through it', async () => {
    const {root, outside} = await setUp()
    await fsp.writeFile(join(outside, 'victim.tsv'), "the user's\n")
    await fsp.symlink(outside, join(root, '.lora-tagger', 'reference'))
    const before = await everything(outside)
    const link = join(root, '.lora-tagger', 'reference')
    for (const args of [
      ['tags', 'import', EXCERPT],
      ['tags', 'import', '--remove', 'victim'],
      ['tags', 'import', '--list'],
    ]) {
      const r = await loraIn(args, {cwd: root})
      expect(r.code).toBe(1)
      expect(r.stderr.split('\n')[0]).toBe(
        `error: ${link} is a symbolic link, where lora keeps a folder of its own; lora reads and writes nothing through it.`,
      )
    }
    expect(await everything(outside)).toEqual(before)
  })

  it('with no reference and a linked cache folder, loading the index removes nothing through it', async () => {
    const {root, outside} = await setUp()
    await fsp.writeFile(join(outside, 'vocabulary.idx'), "the user's\n")
    await fsp.rm(join(root, '.lora-tagger', 'cache'), {recursive: true, force: true})
    await fsp.symlink(outside, join(root, '.lora-tagger', 'cache'))
    const before = await everything(outside)
    expect(await loadTagIndex(await openDataset(root))).toBeUndefined()
    expect(await everything(outside)).toEqual(before)
  })
})

describe('writeCacheFile', () => {
  it('makes the folders below .lora-tagger and writes the file', async () => {
    const {root} = await setUp()
    const meta = join(root, '.lora-tagger')
    await writeCacheFile(meta, join(meta, 'cache', 'curate', 'v9', 'x.json'), '{}\n')
    expect(await fsp.readFile(join(meta, 'cache', 'curate', 'v9', 'x.json'), 'utf8')).toBe('{}\n')
  })

  it('refuses a folder on the way that is a symbolic link (ENOTDIR), at any depth, writing nothing through it', async () => {
    const {root, outside} = await setUp()
    const meta = join(root, '.lora-tagger')
    await fsp.mkdir(join(meta, 'cache', 'autotag'), {recursive: true})
    await fsp.symlink(outside, join(meta, 'cache', 'autotag', 'model'))
    const before = await everything(outside)
    const error = await writeCacheFile(meta, join(meta, 'cache', 'autotag', 'model', 'sub', 'p.json'), '{}').catch(
      (e: unknown) => e,
    )
    expect(error).toMatchObject({code: 'ENOTDIR', path: join(meta, 'cache', 'autotag', 'model')})
    expect((error as Error).message).toContain('is a symbolic link; lora writes nothing through it')
    // A file where a folder should be is refused the same way.
    await fsp.writeFile(join(meta, 'cache', 'curate'), 'a file')
    await expect(writeCacheFile(meta, join(meta, 'cache', 'curate', 'x.json'), '{}')).rejects.toMatchObject({
      code: 'ENOTDIR',
    })
    expect(await everything(outside)).toEqual(before)
  })

  it('refuses a path that is not below the folder given', async () => {
    const {root} = await setUp()
    const meta = join(root, '.lora-tagger')
    await expect(writeCacheFile(meta, join(root, 'elsewhere.json'), '{}')).rejects.toThrow(/is not below/u)
    await expect(makeDirBelow(meta, '../x')).rejects.toThrow(/leaves/u)
  })
})
