/**
 * store/image-files.ts `checkImageFiles`: an image whose modification time is not the recorded one is hashed, and,
 * when its bytes are as recorded, remembered with its `lstat` stamp (size, modification and change times, inode) in
 * `.lora-tagger/cache/image-stamps.json`, so that it is not hashed again while that stamp holds; a change of its bytes
 * moves the change time, so it is found however its modification time is set. On a real dataset made by `lora init
 * --link` (which records modification times) from the fixture photos; needs `npm run build`.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, removeTemp} from '../helpers.js'
import {openDataset} from '../../src/store/dataset.js'
import {checkImageFiles} from '../../src/store/image-files.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']
/** A whole second, set as every image's modification time: a clone or a copy does the same. */
const LATER = new Date('2027-01-01T00:00:00Z')

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/** A dataset by `lora init --link`, every image then given a modification time that is not the recorded one. */
async function touchedDataset(): Promise<{root: string; files: string[]; stamps: string}> {
  const tmp = await makeTemp('lora-stamps-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  await loraInOk(['init', '.', '--link'], {cwd: root})
  const files = (await fsp.readdir(join(root, 'output'))).filter((f) => !f.endsWith('.txt')).sort()
  for (const f of files) await fsp.utimes(join(root, 'output', f), LATER, LATER)
  return {root, files, stamps: join(root, '.lora-tagger', 'cache', 'image-stamps.json')}
}

const check = async (root: string) => {
  const dataset = await openDataset(root)
  return checkImageFiles(dataset, (await dataset.loadState()).images)
}
const readStamps = async (path: string) =>
  (JSON.parse(await fsp.readFile(path, 'utf8')) as {version: number; images: Record<string, string>}).images

/** Same size, other bytes, and the modification time set back: only the change time tells. */
async function rewriteKeepingTimes(path: string): Promise<void> {
  const size = (await fsp.stat(path)).size
  await fsp.writeFile(path, Buffer.alloc(size, 7))
  await fsp.utimes(path, LATER, LATER)
}

describe('checkImageFiles remembers images found as recorded', () => {
  it('hashes an image with a new modification time once, then takes it from image-stamps.json', async () => {
    const {root, files, stamps} = await touchedDataset()
    expect(fs.existsSync(stamps)).toBe(false)
    expect(await check(root)).toEqual([])
    const first = await readStamps(stamps)
    expect(Object.keys(first).sort()).toEqual(files)
    const st = await fsp.lstat(join(root, 'output', files[0]))
    expect(first[files[0]]).toMatch(
      new RegExp(`^[0-9a-f]{64} ${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}$`.replace(/\./gu, '\\.'), 'u'),
    )
    // Taken from the cache, nothing to learn: the file is not written again.
    const before = await fsp.stat(stamps)
    expect(await check(root)).toEqual([])
    const after = await fsp.stat(stamps)
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs])
  })

  it('a check of every image keeps the entries of those images only; a check of some keeps the others', async () => {
    const {root, files, stamps} = await touchedDataset()
    await check(root)
    const dataset = await openDataset(root)
    const images = (await dataset.loadState()).images
    const retouch = async () => {
      const later = new Date(LATER.getTime() + 1000)
      await fsp.utimes(join(root, 'output', files[0]), later, later)
    }
    await retouch()
    await checkImageFiles(dataset, images.slice(0, 1))
    expect(Object.keys(await readStamps(stamps)).sort()).toEqual(files)
    await fsp.utimes(join(root, 'output', files[0]), LATER, LATER)
    await checkImageFiles(dataset, images.slice(0, 2), {all: true})
    expect(Object.keys(await readStamps(stamps)).sort()).toEqual(files.slice(0, 2))
  })

  it('an entry whose stamp is the file’s is believed without reading the file (what makes it fast)', async () => {
    const {root, files, stamps} = await touchedDataset()
    await check(root)
    const path = join(root, 'output', files[0])
    const sha = (await readStamps(stamps))[files[0]].split(' ')[0]
    await rewriteKeepingTimes(path)
    // The entry made to match the rewritten file's stamp: read, its bytes would be found changed.
    const st = await fsp.lstat(path)
    const doc = {version: 1, images: {[files[0]]: `${sha} ${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`}}
    await fsp.writeFile(stamps, JSON.stringify(doc))
    expect(await check(root)).toEqual([])
  })

  it('bytes changed with the modification time set back are found: the change time moved (so did the stamp)', async () => {
    const {root, files} = await touchedDataset()
    await check(root)
    await rewriteKeepingTimes(join(root, 'output', files[1]))
    expect(await check(root)).toEqual([
      expect.objectContaining({file: files[1], kind: 'changed', reason: 'content changed'}),
    ])
  })

  it.each([
    ['another version', (d: {version: number}) => (d.version = 2)],
    ['a value that is not text', (d: {images: Record<string, unknown>}) => (d.images = {x: 1})],
  ])('a cache file of %s reads as empty: the images are hashed again and it is written anew', async (_, damage) => {
    const {root, files, stamps} = await touchedDataset()
    await check(root)
    const doc = JSON.parse(await fsp.readFile(stamps, 'utf8')) as {version: number; images: Record<string, unknown>}
    ;(damage as (d: typeof doc) => void)(doc)
    await fsp.writeFile(stamps, JSON.stringify(doc))
    expect(await check(root)).toEqual([])
    expect(Object.keys(await readStamps(stamps)).sort()).toEqual(files)
  })

  it('a cache file that is not JSON, or a symbolic link, is not trusted: the images are hashed', async () => {
    const {root, files, stamps} = await touchedDataset()
    await check(root)
    await rewriteKeepingTimes(join(root, 'output', files[2]))
    await fsp.writeFile(stamps, '{not json')
    expect((await check(root)).map((p) => p.file)).toEqual([files[2]])
    const elsewhere = join(root, '..', 'stamps.json')
    await fsp.writeFile(elsewhere, JSON.stringify({version: 1, images: {}}))
    await fsp.rm(stamps)
    await fsp.symlink(elsewhere, stamps)
    expect((await check(root)).map((p) => p.file)).toEqual([files[2]])
  })
})
