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
import {execFileSync, spawn} from 'node:child_process'
import {once} from 'node:events'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {BIN, cleanEnv, copyFixtures, makeTemp, removeTemp} from '../helpers.js'
import {snapshot} from '../e2e/e2e-helpers.js'
import {cacheFolderIsReal, readCacheTextSync, writeCacheFile} from '../../src/store/dataset.js'
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

describe('caches are read only from real folders, and never from a FIFO', () => {
  it('a cache behind a link is not read: lora status takes the config from config.yaml, not a planted config.json', async () => {
    const {root, outside} = await setUp()
    const meta = join(root, '.lora-tagger')
    await loraInOk(['status'], {cwd: root}) // writes the config cache
    // A config cache that matches config.yaml's text but says another trigger word: read, it would be believed.
    const text = await fsp.readFile(join(meta, 'config.yaml'), 'utf8')
    const cached = JSON.parse(await fsp.readFile(join(meta, 'cache', 'config.json'), 'utf8')) as {doc: object}
    await fsp.writeFile(join(outside, 'config.json'), JSON.stringify({text, doc: {...cached.doc, trigger: 'outsider'}}))
    await fsp.rm(join(meta, 'cache'), {recursive: true, force: true})
    await fsp.symlink(outside, join(meta, 'cache'))
    const before = await everything(outside)
    const status = JSON.parse((await loraInOk(['status', '--json'], {cwd: root})).stdout) as {trigger: unknown}
    expect(status.trigger).toBeNull()
    expect(await everything(outside)).toEqual(before)
  })

  it('readCacheTextSync and cacheFolderIsReal: a link at any level below .lora-tagger is a cache miss', async () => {
    const {root, outside} = await setUp()
    const meta = join(root, '.lora-tagger')
    await fsp.mkdir(join(outside, 'v1'))
    await fsp.writeFile(join(outside, 'v1', 'x.json'), 'outside\n')
    await makeDirBelow(meta, join('cache', 'curate'))
    await fsp.symlink(outside, join(meta, 'cache', 'curate', 'link'))
    const throughLink = join(meta, 'cache', 'curate', 'link', 'v1', 'x.json')
    expect(fs.readFileSync(throughLink, 'utf8')).toBe('outside\n')
    expect(cacheFolderIsReal(meta, throughLink)).toBe(false)
    expect(readCacheTextSync(meta, throughLink)).toBeUndefined()
    await writeCacheFile(meta, join(meta, 'cache', 'curate', 'v1', 'x.json'), 'inside\n')
    expect(readCacheTextSync(meta, join(meta, 'cache', 'curate', 'v1', 'x.json'))).toBe('inside\n')
    expect(readCacheTextSync(meta, join(meta, 'cache', 'curate', 'v2', 'x.json'))).toBeUndefined()
    expect(() => cacheFolderIsReal(meta, join(root, 'elsewhere.json'))).toThrow(/not below/u)
  })

  it('lora curate with the cache folder a link stops at once, with no warning per image', async () => {
    const {root, outside} = await setUp()
    await fsp.rm(join(root, '.lora-tagger', 'cache'), {recursive: true, force: true})
    await fsp.symlink(outside, join(root, '.lora-tagger', 'cache'))
    const r = await loraIn(['curate'], {cwd: root})
    expect(r.code).toBe(1)
    expect(r.stderr).not.toMatch(/not analysed/u)
    expect(r.stderr.match(/^error: /gmu)).toHaveLength(1)
  })

  it('a FIFO where the config cache goes: lora status does not wait on it, and replaces it (a process)', async () => {
    const {root} = await setUp()
    const cache = join(root, '.lora-tagger', 'cache', 'config.json')
    await loraInOk(['status'], {cwd: root}) // writes the config cache
    await fsp.rm(cache)
    execFileSync('mkfifo', [cache])
    // Before: opened for reading, it blocked the process for good (a stop signal could not even be handled).
    const child = spawn(process.execPath, [BIN, 'status', '--json'], {cwd: root, env: cleanEnv(), stdio: 'pipe'})
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => (stdout += String(d)))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    const [code] = (await once(child, 'close')) as [number | null]
    clearTimeout(timer)
    expect(code).toBe(0)
    expect((JSON.parse(stdout) as {images: {total: number}}).images.total).toBe(3)
    expect((await fsp.lstat(cache)).isFile()).toBe(true)
  })
})
