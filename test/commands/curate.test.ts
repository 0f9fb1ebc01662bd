/**
 * `lora curate` in-process on real photos (test/fixtures, and ../shared/data with itShared): near-duplicates made
 * here from a real photo (resized, re-encoded at low quality, cropped by a few percent, brightened) group with it,
 * an exact copy in another lossless format groups as exact, distinct photos do not group, and each finding rule
 * has a firing and a passing real image.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import onnxProto from 'onnx-proto'
import sharp from 'sharp'
import {parse, stringify} from 'yaml'
import {cleanupTemps, cloneDataset, FIXTURES, tempDir} from '../e2e/e2e-helpers.js'
import {itShared, runCli, SHARED_DATA} from '../helpers.js'
import {lora, loraJson, loraOk} from './command-helpers.js'
import {git} from '../git-helpers.js'
import {valueInfo, writeOnnxModel} from '../autotag/onnx-helpers.js'

interface Report {
  version: number
  analyzed: number
  cached: number
  groups: {
    kind: string
    keep: string
    images: {id: string; file: string; distance: number; width: number; height: number}[]
  }[]
  findings: {rule: string; id: string; score: number; threshold: number; message: string}[]
  skipped?: {id: string; reason: string}[]
  commit?: string
}

afterAll(cleanupTemps)

/** The ids of a dataset by the original's file name (state.json `source`). */
async function idsBySource(dir: string): Promise<Record<string, string>> {
  const state = JSON.parse(await fsp.readFile(join(dir, '.lora-tagger', 'state.json'), 'utf8')) as {
    images: {id: string; source: string}[]
  }
  return Object.fromEntries(state.images.map((i) => [i.source, i.id]))
}

/**
 * A dataset of real fixture photos and variants made from them:
 * - a-kite.jpg (the original), b-kite-small.png (resized to 60 %), c-kite-q15.jpg (JPEG quality 15, 95 %),
 *   d-kite-crop.jpg (2 % cropped from each side: pHash
 *   moves about 8 of 64 bits for that, 14 for 3 %), e-kite-bright.jpg (brightness × 1.15, 90 %);
 * - f-palette.png and g-palette.webp: one picture, PNG and lossless WebP (the same decoded pixels);
 * - distinct photos: h-autumn.jpg (enlarged to 2400 px wide: odd-size among the others), i-path.jpg, j-horse.png,
 *   k-page.png;
 * - l-light.jpg (the GIF fixture's first frame brightened until almost white) and m-strip.jpg (a strip 10 % high
 *   of the path photo).
 */
async function buildVariantsDataset(): Promise<{dir: string; id: Record<string, string>}> {
  const dir = join(await tempDir('lora-curate-'), 'imgs')
  await fsp.mkdir(dir, {recursive: true})
  const kite = join(FIXTURES, 'plasma-Kite-screenshot.jpg')
  const {width, height} = await sharp(kite).metadata()
  await fsp.copyFile(kite, join(dir, 'a-kite.jpg'))
  await sharp(kite)
    .resize(Math.round(width * 0.6))
    .png()
    .toFile(join(dir, 'b-kite-small.png'))
  await sharp(kite)
    .resize(Math.round(width * 0.95))
    .jpeg({quality: 15})
    .toFile(join(dir, 'c-kite-q15.jpg'))
  const dx = Math.round(width * 0.02)
  const dy = Math.round(height * 0.02)
  await sharp(kite)
    .extract({left: dx, top: dy, width: width - 2 * dx, height: height - 2 * dy})
    .toFile(join(dir, 'd-kite-crop.jpg'))
  await sharp(kite)
    .resize(Math.round(width * 0.9))
    .modulate({brightness: 1.15})
    .toFile(join(dir, 'e-kite-bright.jpg'))
  const palette = join(FIXTURES, 'skimage-palette_color.png')
  await sharp(palette).resize(64, 64, {kernel: 'nearest'}).png().toFile(join(dir, 'f-palette.png'))
  await sharp(join(dir, 'f-palette.png')).webp({lossless: true}).toFile(join(dir, 'g-palette.webp'))
  await sharp(join(FIXTURES, 'plasma-Autumn-screenshot.jpg')).resize(2400).toFile(join(dir, 'h-autumn.jpg'))
  await fsp.copyFile(join(FIXTURES, 'plasma-Path-screenshot.jpg'), join(dir, 'i-path.jpg'))
  await fsp.copyFile(join(FIXTURES, 'skimage-horse.png'), join(dir, 'j-horse.png'))
  await fsp.copyFile(join(FIXTURES, 'skimage-page.png'), join(dir, 'k-page.png'))
  const gif = join(FIXTURES, 'skimage-no_time_for_that_tiny.gif')
  await sharp(gif).resize(200).linear(0.05, 248).toFile(join(dir, 'l-light.jpg'))
  const path = join(FIXTURES, 'plasma-Path-screenshot.jpg')
  const p = await sharp(path).metadata()
  await sharp(path)
    .extract({left: 0, top: Math.round(p.height * 0.4), width: p.width, height: Math.round(p.height * 0.1)})
    .toFile(join(dir, 'm-strip.jpg'))
  await loraOk(['init', '.', '--git'], {cwd: dir})
  return {dir, id: await idsBySource(dir)}
}

/** The variants dataset, built once for this file (13 sharp encodes and an `init --git`); tests get copies of it. */
let variants: {dir: string; id: Record<string, string>}
beforeAll(async () => {
  variants = await buildVariantsDataset()
})

/** A fresh copy of the variants dataset (its files, state and git history) for a test to read and write. */
async function variantsDataset(): Promise<{dir: string; id: Record<string, string>}> {
  return {dir: await cloneDataset(variants.dir), id: variants.id}
}

describe('lora curate', () => {
  it('groups the variants of one photo, the same picture in two lossless formats, and nothing else', async () => {
    const {dir, id} = await variantsDataset()
    expect((await loraJson<{curation: unknown}>(['status'], {cwd: dir})).curation).toBeNull()
    const r = await loraJson<Report>(['curate'], {cwd: dir})
    expect(r).toMatchObject({version: 2, analyzed: 13, cached: 0})
    // status shows the counts of the last analysis.
    const status = await loraJson<{
      curation: {analysed: number; groups: number; duplicates: number; findings: Record<string, number>}
    }>(['status'], {cwd: dir})
    const perRule: Record<string, number> = {}
    for (const f of r.findings) perRule[f.rule] = (perRule[f.rule] ?? 0) + 1
    expect(status.curation).toMatchObject({analysed: 13, groups: 2, duplicates: 5, findings: perRule})
    expect((await loraOk(['status'], {cwd: dir})).stdout).toMatch(/^Curation: 5 duplicates in 2 groups; /mu)
    expect(r.groups.map((g) => g.kind)).toEqual(['near', 'exact'])
    const [near, exact] = r.groups
    const kites = ['a-kite.jpg', 'b-kite-small.png', 'c-kite-q15.jpg', 'd-kite-crop.jpg', 'e-kite-bright.jpg']
    expect(near.images.map((i) => i.id).sort()).toEqual(kites.map((k) => id[k]).sort())
    // The keeper has the most pixels: the original (the others are smaller or cropped).
    expect(near.keep).toBe(id['a-kite.jpg'])
    expect(near.images[0]).toMatchObject({id: id['a-kite.jpg'], distance: 0, width: 400, height: 250})
    for (const member of near.images.slice(1)) expect(member.distance).toBeLessThanOrEqual(10)
    expect(exact).toMatchObject({kind: 'exact', keep: id['f-palette.png']})
    expect(exact.images.map((i) => [i.id, i.distance])).toEqual([
      [id['f-palette.png'], 0],
      [id['g-palette.webp'], 0],
    ])
    // The second run does no image work.
    const again = await loraJson<Report>(['curate'], {cwd: dir})
    expect(again).toMatchObject({analyzed: 0, cached: 13})
    expect(again.groups).toEqual(r.groups)
    // A tighter distance splits the near group; the exact group stays.
    const tight = await loraJson<Report>(['curate', '--threshold', '0'], {cwd: dir})
    expect(tight.groups.filter((g) => g.kind === 'exact')).toHaveLength(1)
    expect(tight.groups.some((g) => g.images.length === 5)).toBe(false)
  })

  it('finds each rule on a firing image and not on a passing one, with score and threshold', async () => {
    const {dir, id} = await variantsDataset()
    const r = await loraJson<Report>(['curate'], {cwd: dir})
    const rulesOf = (file: string) => r.findings.filter((f) => f.id === id[file]).map((f) => f.rule)
    expect(rulesOf('k-page.png')).toContain('grayscale')
    expect(rulesOf('h-autumn.jpg')).not.toContain('grayscale')
    expect(rulesOf('j-horse.png')).toContain('low-information')
    expect(rulesOf('h-autumn.jpg')).not.toContain('low-information')
    expect(rulesOf('l-light.jpg')).toContain('light')
    expect(rulesOf('i-path.jpg')).not.toContain('light')
    expect(rulesOf('m-strip.jpg')).toContain('odd-aspect-ratio')
    expect(rulesOf('i-path.jpg')).not.toContain('odd-aspect-ratio')
    // √(w·h) 1,897 is beyond Q3 + 3·IQR of these sizes (64 … 362).
    expect(rulesOf('h-autumn.jpg')).toContain('odd-size')
    expect(rulesOf('i-path.jpg')).not.toContain('odd-size')
    // validate.minSide is 512: the 250 px photos are low-resolution (not the 1,500 px one); with minSide 200 they are not.
    expect(rulesOf('i-path.jpg')).toContain('low-resolution')
    expect(rulesOf('h-autumn.jpg')).not.toContain('low-resolution')
    const light = r.findings.find((f) => f.id === id['l-light.jpg'] && f.rule === 'light')!
    expect(light.threshold).toBe(0.05)
    expect(light.score).toBeLessThan(0.05)
    expect(light.message).toBe(`light ${light.score} < 0.05`)
    const configPath = join(dir, '.lora-tagger', 'config.yaml')
    const config = parse(await fsp.readFile(configPath, 'utf8')) as {validate: {minSide: number}; curate?: object}
    config.validate.minSide = 200
    config.curate = {light: 0.001}
    await fsp.writeFile(configPath, stringify(config))
    const relaxed = await loraJson<Report>(['curate', '--rule', 'low-resolution,light'], {cwd: dir})
    expect(relaxed.findings.filter((f) => f.id === id['i-path.jpg'])).toEqual([])
    expect(relaxed.findings.every((f) => f.rule === 'low-resolution' || f.rule === 'light')).toBe(true)
    expect(relaxed.findings.some((f) => f.id === id['l-light.jpg'])).toBe(false)
    // The human report groups by kind and names the keeper.
    const human = await loraOk(['curate'], {cwd: dir})
    expect(human.stdout).toContain('Near-duplicates')
    expect(human.stdout).toContain(`${id['a-kite.jpg']} 400×250 keep`)
    expect(human.stdout).toMatch(/^grayscale \(\d+\)$/mu)
  })

  it('refuses an unknown rule and a distance outside 0–64 (exit 2)', async () => {
    const {dir} = await variantsDataset()
    const bad = await lora(['curate', '--rule', 'fuzzy'], {cwd: dir})
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('Unknown rule "fuzzy"')
    expect((await lora(['curate', '--threshold', '65'], {cwd: dir})).code).toBe(2)
  })

  itShared(
    'on shared photos: the known near-duplicate pairs and the stereo pair group; dark, blurry and gps fire',
    async () => {
      const dir = join(await tempDir('lora-curate-shared-'), 'imgs')
      await fsp.mkdir(dir, {recursive: true})
      const names = [
        'plasma-Kite-1280x1024.jpg',
        'plasma-Kite-screenshot.jpg',
        'plasma-Autumn-1280x1024.jpg',
        'plasma-Autumn-screenshot.jpg',
        'plasma-ColorfulCups-2560x1600.jpg',
        'plasma-OneStandsOut-1280x1024.jpg',
        'skimage-motorcycle_left.png',
        'skimage-motorcycle_right.png',
        'skimage-chessboard_GRAY_U16.tif',
        'gnome-symbolic-l.webp',
        'skimage-coffee.png',
        'skimage-astronaut.png',
      ]
      for (const name of names) await fsp.copyFile(join(SHARED_DATA, 'photos', name), join(dir, name))
      await loraOk(['init', '.'], {cwd: dir})
      const id = await idsBySource(dir)
      const r = await loraJson<Report>(['curate'], {cwd: dir})
      const groups = r.groups.map((g) => g.images.map((i) => i.id).sort())
      expect(groups).toEqual(
        [
          [id['plasma-Autumn-1280x1024.jpg'], id['plasma-Autumn-screenshot.jpg']],
          [id['plasma-Kite-1280x1024.jpg'], id['plasma-Kite-screenshot.jpg']],
          [id['skimage-motorcycle_left.png'], id['skimage-motorcycle_right.png']],
        ]
          .map((g) => g.sort())
          .sort((a, b) => a[0].localeCompare(b[0])),
      )
      expect(r.groups.find((g) => g.images.some((i) => i.id === id['plasma-Kite-screenshot.jpg']))!.keep).toBe(
        id['plasma-Kite-1280x1024.jpg'],
      )
      const rulesOf = (file: string) => r.findings.filter((f) => f.id === id[file]).map((f) => f.rule)
      // A 16-bit greyscale TIFF whose values are at most 255 of 65,535: black as displayed.
      expect(rulesOf('skimage-chessboard_GRAY_U16.tif')).toContain('dark')
      expect(rulesOf('skimage-coffee.png')).not.toContain('dark')
      expect(rulesOf('gnome-symbolic-l.webp')).toContain('blurry')
      expect(rulesOf('skimage-astronaut.png')).not.toContain('blurry')
      expect(rulesOf('plasma-ColorfulCups-2560x1600.jpg')).toContain('gps')
      expect(rulesOf('plasma-Kite-1280x1024.jpg')).not.toContain('gps')
    },
  )
})

describe('lora curate says its counts in words, singular for one', () => {
  /** A dataset (init without git) of the given files, made here from the fixtures: exact pairs in two lossless formats. */
  async function smallDataset(make: (dir: string) => Promise<void>): Promise<string> {
    const dir = join(await tempDir('lora-curate-words-'), 'imgs')
    await fsp.mkdir(dir, {recursive: true})
    await make(dir)
    await loraOk(['init', '.'], {cwd: dir})
    return dir
  }
  const palettePair = async (dir: string) => {
    await sharp(join(FIXTURES, 'skimage-palette_color.png'))
      .resize(64, 64, {kernel: 'nearest'})
      .png()
      .toFile(join(dir, 'a-palette.png'))
    await sharp(join(dir, 'a-palette.png')).webp({lossless: true}).toFile(join(dir, 'b-palette.webp'))
  }
  const summary = async (dir: string, args: string[] = []) =>
    (await loraOk(['curate', ...args], {cwd: dir})).stderr.split('\n').filter(Boolean)

  it('one image: "1 image analysed", "0 duplicate groups with 0 images", "1 finding"', async () => {
    const dir = await smallDataset((d) => fsp.copyFile(join(FIXTURES, 'plasma-Path-screenshot.jpg'), join(d, 'a.jpg')))
    expect((await loraOk(['ls', '--finding', 'grayscale'], {cwd: dir})).stderr).toBe(
      'warning: 1 image has not been analysed yet, so it is not listed; run `lora curate` first.\n',
    )
    expect((await summary(dir))[0]).toBe(
      '1 image analysed (1 measured, 0 from the cache): 0 duplicate groups with 0 images beside their keeper, 1 finding.',
    )
  })

  it('one exact pair: "1 duplicate group with 1 image beside their keeper", "2 findings"; would skip 1 image', async () => {
    const dir = await smallDataset(palettePair)
    expect((await summary(dir))[0]).toBe(
      '2 images analysed (2 measured, 0 from the cache): 1 duplicate group with 1 image beside their keeper, 2 findings.',
    )
    expect((await summary(dir, ['--apply', '--dry-run'])).at(-1)).toBe('Would skip 1 image; dry run, nothing written.')
  })

  it('two exact pairs: "2 duplicate groups with 2 images beside their keeper"; would skip 2 images', async () => {
    const dir = await smallDataset(async (d) => {
      await palettePair(d)
      await sharp(join(FIXTURES, 'skimage-horse.png')).png().toFile(join(d, 'c-horse.png'))
      await sharp(join(d, 'c-horse.png')).webp({lossless: true}).toFile(join(d, 'd-horse.webp'))
    })
    const lines = await summary(dir)
    expect(lines.find((l) => l.includes('analysed'))).toMatch(
      /^4 images analysed \(4 measured, 0 from the cache\): 2 duplicate groups with 2 images beside their keeper, \d+ findings\.$/u,
    )
    expect((await summary(dir, ['--apply', '--dry-run'])).at(-1)).toBe('Would skip 2 images; dry run, nothing written.')
  })
})

describe('lora curate --apply', () => {
  it('skips non-keepers and --rule findings with their reason (status, show, log), one commit; --unskip and undo bring them back', async () => {
    const {dir, id} = await variantsDataset()
    const state = async () =>
      (
        JSON.parse(await fsp.readFile(join(dir, '.lora-tagger', 'state.json'), 'utf8')) as {
          images: {id: string; status: string; skipReason?: string}[]
        }
      ).images
    const before = await fsp.readFile(join(dir, '.lora-tagger', 'state.json'), 'utf8')
    const dry = await loraJson<Report>(['curate', '--apply', '--rule', 'light', '--dry-run'], {cwd: dir})
    expect(dry.skipped).toHaveLength(6)
    expect(await fsp.readFile(join(dir, '.lora-tagger', 'state.json'), 'utf8')).toBe(before)

    const r = await loraJson<Report>(['curate', '--apply', '--rule', 'light'], {cwd: dir})
    const crop = r.groups[0].images.find((i) => i.id === id['d-kite-crop.jpg'])!
    expect(r.skipped).toContainEqual({
      id: id['d-kite-crop.jpg'],
      reason: `near-duplicate of ${id['a-kite.jpg']} (distance ${crop.distance})`,
    })
    expect(r.skipped).toContainEqual({id: id['g-palette.webp'], reason: `exact duplicate of ${id['f-palette.png']}`})
    expect(r.skipped).toContainEqual({id: id['l-light.jpg'], reason: expect.stringMatching(/^light 0\.0\d+ < 0\.05$/u)})
    expect(r.skipped!.map((s) => s.id).sort()).toEqual(
      ['b-kite-small.png', 'c-kite-q15.jpg', 'd-kite-crop.jpg', 'e-kite-bright.jpg', 'g-palette.webp', 'l-light.jpg']
        .map((f) => id[f])
        .sort(),
    )
    expect(r.commit).toMatch(/^[0-9a-f]{40}$/u)
    const subject = await git(dir, ['log', '-1', '--format=%s'])
    expect(subject.trim()).toBe('curate: skip 6 images (4 near-duplicates, 1 exact duplicate, 1 light)')
    // No file was deleted; the keeper is untouched.
    for (const s of r.skipped!)
      expect((await state()).find((i) => i.id === s.id)).toMatchObject({status: 'skipped', skipReason: s.reason})
    expect(
      (await fsp.readdir(join(dir, 'output'))).filter(
        (f) => !f.endsWith('.txt') && f !== '.gitignore' && f !== '.gitattributes',
      ),
    ).toHaveLength(13)

    const cropReason = `near-duplicate of ${id['a-kite.jpg']} (distance ${crop.distance})`
    const status = await loraJson<{skipReasons: {id: string; reason: string}[]}>(['status'], {cwd: dir})
    expect(status.skipReasons).toContainEqual({id: id['d-kite-crop.jpg'], reason: cropReason})
    expect((await loraOk(['status'], {cwd: dir})).stdout).toContain(`${id['d-kite-crop.jpg']}: ${cropReason}`)
    expect((await loraJson<{skipReason: string}>(['show', id['d-kite-crop.jpg']], {cwd: dir})).skipReason).toBe(
      cropReason,
    )
    expect((await loraOk(['show', id['d-kite-crop.jpg']], {cwd: dir})).stdout).toContain(`Skipped:  ${cropReason}`)
    const log = await loraJson<{events: {id: string; status: string | null; skipReason: string | null}[]}>(
      ['log', id['d-kite-crop.jpg']],
      {cwd: dir},
    )
    expect(log.events[0]).toMatchObject({status: 'skipped', skipReason: cropReason})
    expect((await loraOk(['log'], {cwd: dir})).stdout).toContain(`skipped (${cropReason})`)

    // A second analysis leaves skipped images out: nothing left to group.
    const again = await loraJson<Report>(['curate'], {cwd: dir})
    expect(again.groups).toEqual([])
    expect(again.cached).toBe(7)

    // --unskip brings one back, without its reason; undo of that commit puts the skip and its reason back.
    await loraOk(['tag', id['d-kite-crop.jpg'], '--unskip'], {cwd: dir})
    expect((await state()).find((i) => i.id === id['d-kite-crop.jpg'])).toEqual(
      expect.objectContaining({status: 'pending'}),
    )
    expect((await state()).find((i) => i.id === id['d-kite-crop.jpg'])!.skipReason).toBeUndefined()
    await loraOk(['undo'], {cwd: dir})
    expect((await state()).find((i) => i.id === id['d-kite-crop.jpg'])).toMatchObject({
      status: 'skipped',
      skipReason: cropReason,
    })
    // Undo of the curate commit: every image back as it was, no reason left.
    await loraOk(['undo'], {cwd: dir})
    for (const image of await state()) {
      expect(image.status).toBe('pending')
      expect(image.skipReason).toBeUndefined()
    }
  })
})

describe('lora curate and files changed by hand', () => {
  it('a file changed before it is measured is neither measured nor cached; back as it was, it is measured as itself', async () => {
    const dir = join(await tempDir('lora-curate-changed-'), 'imgs')
    await fsp.mkdir(dir, {recursive: true})
    await fsp.copyFile(join(FIXTURES, 'plasma-Autumn-screenshot.jpg'), join(dir, 'a.jpg'))
    await fsp.copyFile(join(FIXTURES, 'plasma-Path-screenshot.jpg'), join(dir, 'b.jpg'))
    await loraOk(['init', '.'], {cwd: dir})
    const first = join(dir, 'output', 'img_0001.jpg')
    const original = await fsp.readFile(first)
    await fsp.copyFile(join(dir, 'output', 'img_0002.jpg'), first)
    const changed = await lora(['curate', '--json'], {cwd: dir})
    expect(changed.stderr).toContain('img_0001: not analysed: ')
    expect(changed.stderr).toContain('changed since lora recorded it')
    expect((JSON.parse(changed.stdout) as Report).groups).toEqual([])
    await fsp.writeFile(first, original)
    const back = await loraJson<Report>(['curate'], {cwd: dir})
    expect([back.analyzed, back.groups]).toEqual([1, []])
  })

  it('lora tag --skip again on an image lora curate skipped keeps its reason and changes nothing', async () => {
    const dir = join(await tempDir('lora-curate-reskip-'), 'imgs')
    await fsp.mkdir(dir, {recursive: true})
    const autumn = join(FIXTURES, 'plasma-Autumn-screenshot.jpg')
    await fsp.copyFile(autumn, join(dir, 'a.jpg'))
    await sharp(autumn).resize(240).jpeg({quality: 70}).toFile(join(dir, 'b-small.jpg'))
    await loraOk(['init', '.', '--git'], {cwd: dir})
    const applied = await loraJson<Report>(['curate', '--apply'], {cwd: dir})
    expect(applied.skipped).toEqual([{id: 'img_0002', reason: expect.stringMatching(/^near-duplicate of img_0001 /u)}])
    const reasons = async () =>
      (await loraJson<{skipReasons: {id: string; reason: string}[]}>(['status'], {cwd: dir})).skipReasons
    const before = await reasons()
    const head = (await git(dir, ['rev-parse', 'HEAD'])).trim()
    await loraOk(['tag', 'img_0002', '--skip'], {cwd: dir})
    expect(await reasons()).toEqual(before)
    expect((await git(dir, ['rev-parse', 'HEAD'])).trim()).toBe(head)
  })
})

describe('lora ls', () => {
  it('lists id<TAB>path by status, tag, finding, and likeness (nearest first)', async () => {
    const {dir, id} = await variantsDataset()
    const path = (file: string) => join(dir, 'output', file)
    await loraOk(['tag', id['a-kite.jpg'], id['h-autumn.jpg'], '--add', 'sky'], {cwd: dir})
    await loraOk(['tag', id['h-autumn.jpg'], '--add', 'tree'], {cwd: dir})
    const tagged = await loraOk(['ls', '--status', 'tagged'], {cwd: dir})
    expect(tagged.stdout).toBe(
      `${id['a-kite.jpg']}\t${path('img_0001.jpg')}\n${id['h-autumn.jpg']}\t${path('img_0008.jpg')}\n`,
    )
    const sky = await loraJson<{images: {id: string}[]}>(['ls', '--tag', 'sky', '--without', 'tree'], {cwd: dir})
    expect(sky.images.map((i) => i.id)).toEqual([id['a-kite.jpg']])

    // Before any analysis, --finding lists nothing and says why.
    const early = await loraOk(['ls', '--finding', 'grayscale'], {cwd: dir})
    expect(early.stdout).toBe('')
    expect(early.stderr).toContain('13 images have not been analysed yet')
    await loraOk(['curate'], {cwd: dir})
    const grey = await loraOk(['ls', '--finding', 'grayscale'], {cwd: dir})
    expect(grey.stdout.split('\n')).toContain(`${id['k-page.png']}\t${path(`${id['k-page.png']}.png`)}`)
    expect(grey.stdout).not.toContain(id['h-autumn.jpg'])

    const like = await loraJson<{images: {id: string; distance: number}[]}>(['ls', '--like', 'a-kite.jpg'], {cwd: dir})
    expect(like.images.map((i) => i.id).sort()).toEqual(
      ['b-kite-small.png', 'c-kite-q15.jpg', 'd-kite-crop.jpg', 'e-kite-bright.jpg'].map((f) => id[f]).sort(),
    )
    const distances = like.images.map((i) => i.distance)
    expect(distances).toEqual([...distances].sort((a, b) => a - b))
    const none = await loraJson<{images: unknown[]}>(['ls', '--like', id['a-kite.jpg'], '--distance', '0'], {cwd: dir})
    expect(none.images.length).toBeLessThan(like.images.length)
    expect((await lora(['ls', '--finding', 'fuzzy'], {cwd: dir})).code).toBe(2)
    expect((await lora(['ls', '--finding', 'aesthetic'], {cwd: dir})).code).toBe(2)
  })
})

describe('lora init after lora curate', () => {
  it('reports new images that are near-duplicates of images already there', async () => {
    const dir = join(await tempDir('lora-curate-init-'), 'imgs')
    await fsp.mkdir(dir, {recursive: true})
    for (const name of ['plasma-Kite-screenshot.jpg', 'plasma-Autumn-screenshot.jpg'])
      await fsp.copyFile(join(FIXTURES, name), join(dir, name))
    await loraOk(['init', '.'], {cwd: dir})
    // Before any analysis: no image work, nothing reported.
    await sharp(join(FIXTURES, 'plasma-Path-screenshot.jpg')).toFile(join(dir, 'path.png'))
    expect((await loraJson<{nearDuplicates: unknown[]}>(['init', '.'], {cwd: dir})).nearDuplicates).toEqual([])
    await loraOk(['curate'], {cwd: dir})
    await sharp(join(FIXTURES, 'plasma-Kite-screenshot.jpg')).resize(300).png().toFile(join(dir, 'kite-again.png'))
    await fsp.copyFile(join(FIXTURES, 'skimage-horse.png'), join(dir, 'horse.png'))
    const r = await loraJson<{added: {id: string; source: string}[]; nearDuplicates: unknown[]}>(['init', '.'], {
      cwd: dir,
    })
    const again = r.added.find((a) => a.source === 'kite-again.png')!.id
    expect(r.nearDuplicates).toEqual([{id: again, of: 'img_0002', distance: expect.any(Number)}])
    // init cached the new images' measures: the next analysis does no image work.
    expect(await loraJson<Report>(['curate'], {cwd: dir})).toMatchObject({analyzed: 0, cached: 5})
  })
})

/**
 * A tiny image-to-score model (onnx-proto): the mean of its NCHW input, 8×8 px. With preprocess.json range 1,
 * mean 0 and std 1, the score is the image's mean brightness 0–1.
 */
async function meanModel(dir: string): Promise<string> {
  const {onnx} = onnxProto
  const graph = onnx.GraphProto.create({
    name: 'mean',
    node: [
      onnx.NodeProto.create({
        opType: 'ReduceMean',
        input: ['pixels'],
        output: ['score'],
        attribute: [
          onnx.AttributeProto.create({name: 'axes', ints: [1, 2, 3], type: onnx.AttributeProto.AttributeType.INTS}),
          onnx.AttributeProto.create({name: 'keepdims', i: 0, type: onnx.AttributeProto.AttributeType.INT}),
        ],
      }),
    ],
    input: [valueInfo('pixels', ['batch', 3, 8, 8])],
    output: [valueInfo('score', ['batch'])],
  })
  await writeOnnxModel(dir, graph)
  await fsp.writeFile(
    join(dir, 'preprocess.json'),
    JSON.stringify({size: 8, resize: 'squash', channels: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], layout: 'NCHW'}),
  )
  return dir
}

describe('lora curate --aesthetic-model', () => {
  it('scores every image with the model (cached: a rerun does not load the runtime); --min-aesthetic makes a finding', async () => {
    const {dir, id} = await variantsDataset()
    const model = await meanModel(join(dir, '..', 'mean-model'))
    // Inference spawns the built CLI: onnxruntime's native binding refuses arrays of Jest's VM realm (as in
    // test/commands/autotag.test.ts); the cached rerun below runs in-process.
    const spawned = await runCli(['curate', '--aesthetic-model', model, '--min-aesthetic', '0.5', '--json'], {cwd: dir})
    expect(spawned.code).toBe(0)
    const r = JSON.parse(spawned.stdout) as Report & {aesthetic: {id: string; score: number}[]}
    expect(r.aesthetic).toHaveLength(13)
    const scoreOf = (file: string) => r.aesthetic.find((a) => a.id === id[file])!.score
    // The almost white image scores near 1; every score is the image's mean, 0–1.
    expect(scoreOf('l-light.jpg')).toBeGreaterThan(0.9)
    for (const a of r.aesthetic) expect(a.score).toBeGreaterThanOrEqual(0)
    const low = r.findings.filter((f) => f.rule === 'aesthetic')
    expect(low.map((f) => f.id).sort()).toEqual(
      r.aesthetic
        .filter((a) => a.score < 0.5)
        .map((a) => a.id)
        .sort(),
    )
    expect(low.length).toBeGreaterThan(0)
    expect(low[0]).toMatchObject({threshold: 0.5, message: expect.stringMatching(/^aesthetic 0\.\d+ < 0\.5$/u)})
    // Cached per model and image: without the runtime the rerun still scores.
    const again = await loraJson<Report & {aesthetic: unknown}>(['curate', '--aesthetic-model', model], {
      cwd: dir,
      env: {LORA_ONNXRUNTIME_MODULE: '/nonexistent/onnxruntime-node.js'},
    })
    expect(again.aesthetic).toEqual(r.aesthetic)
    // The cache is keyed by the preprocessing too: a changed preprocess.json scores again (here: no runtime, so it
    // fails instead of serving the old scores).
    const pre = join(model, 'preprocess.json')
    await fsp.writeFile(pre, JSON.stringify({...JSON.parse(await fsp.readFile(pre, 'utf8')), range: 255}))
    const changed = await lora(['curate', '--aesthetic-model', model, '--json'], {
      cwd: dir,
      env: {LORA_ONNXRUNTIME_MODULE: '/nonexistent/onnxruntime-node.js'},
    })
    expect(changed.code).not.toBe(0)
    // --min-aesthetic needs the model; a folder without the files is a usage error.
    expect((await lora(['curate', '--min-aesthetic', '3'], {cwd: dir})).code).toBe(2)
    expect((await lora(['curate', '--aesthetic-model', dir], {cwd: dir})).code).toBe(2)
  })
})
