/**
 * `lora export DEST --target T`, in-process: each trainer's export read back with real parsers (smol-toml, yaml,
 * JSON, yauzl) and checked against the trainer's loading rules (../shared/FORMATS.md): every image has its caption
 * where the trainer looks for it, config paths resolve, extensions are ones the trainer reads, repeats and trigger
 * where it reads them. Then the image rules: EXIF orientation applied and metadata stripped (the 18 orientation
 * images of ../shared/data, and a photo given GPS tags by exiftool here), byte-identical copies of images that
 * need no change, --max-side/--convert, usage errors before anything is written, validation errors (exit 4).
 */
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, dirname, isAbsolute, join} from 'node:path'
import sharp from 'sharp'
import {parse as parseToml} from 'smol-toml'
import {parse as parseYaml} from 'yaml'
import {readZip} from '../zip-helpers.js'
import {cleanupTemps, listFiles, readText, sha256, tempDir} from '../e2e/e2e-helpers.js'
import {copyFixtures, itIf, itShared, SHARED_DATA} from '../helpers.js'
import {pngWithText} from '../genmeta-helpers.js'
import {GIT_ENV} from '../git-helpers.js'
import {initDataset, lora, loraJson, loraOk} from './command-helpers.js'

let dir: string
let out: string

/** Images the dataset holds after the setup: 1-5 tagged, trigger ohwx. */
const CAPTIONS: Record<string, string> = {
  img_0001: 'ohwx, cat, sitting',
  img_0002: 'ohwx, dog',
  img_0003: 'ohwx, sky',
  img_0004: 'ohwx, horse',
  img_0005: 'ohwx, animated',
}

beforeAll(async () => {
  dir = await initDataset({
    names: [
      'plasma-Autumn-screenshot.jpg',
      'plasma-Kite-screenshot.jpg',
      'plasma-Path-screenshot.jpg',
      'skimage-horse.png',
      'skimage-no_time_for_that_tiny.gif',
    ],
    initArgs: ['--trigger', 'ohwx'],
  })
  out = await tempDir('lora-export-target-')
  await loraOk(['tag', '--stdin'], {cwd: dir, input: '1\tcat, sitting\n2\tdog\n3\tsky\n4\thorse\n5\tanimated\n'})
}, 60_000)

afterAll(cleanupTemps)

const stem = (name: string) => name.replace(/\.[^.]+$/u, '')

/** Every image in `folder` has `<stem>.txt` with its dataset caption; returns the image names. */
async function expectCaptioned(folder: string, extensions: readonly string[]): Promise<string[]> {
  const names = await fsp.readdir(folder)
  const images = names.filter((n) => /\.(png|jpe?g|webp|gif|bmp|tiff?)$/iu.test(n))
  expect(images.length).toBe(5)
  for (const image of images) {
    expect(extensions).toContain(image.split('.').pop())
    expect(await readText(join(folder, `${stem(image)}.txt`))).toBe(CAPTIONS[stem(image)] + '\n')
  }
  return images
}

/** lora-export.json: one entry per image, whose file exists under DEST with that sha256 and size. */
async function expectManifest(dest: string, target: string): Promise<void> {
  const manifest = JSON.parse(await readText(join(dest, 'lora-export.json')))
  expect(manifest).toMatchObject({version: 1, target, dataset: dir, commit: null})
  expect(manifest.images).toHaveLength(5)
  for (const image of manifest.images) {
    expect(image.id).toMatch(/^img_000[1-5]$/u)
    const file = join(dest, image.file)
    expect(await sha256(file)).toBe(image.sha256)
    const meta = await sharp(file).metadata()
    expect([meta.width, meta.height]).toEqual([image.width, image.height])
  }
}

describe('lora export --target', () => {
  it('kohya: img/<repeats>_<trigger> <class>/ with .txt captions; dataset.toml says .txt, repeats and class tokens', async () => {
    const dest = join(out, 'kohya')
    const r = await loraJson(['export', dest, '--target', 'kohya', '--repeats', '10', '--class', 'woman'], {cwd: dir})
    expect(r).toMatchObject({target: 'kohya', imageDir: 'img/10_ohwx woman', count: 5, validation: {errors: 0}})
    const toml = parseToml(await readText(join(dest, 'dataset.toml'))) as any
    // sd-scripts' default caption extension is .caption: it must be written explicitly.
    expect(toml.general).toEqual({caption_extension: '.txt', shuffle_caption: true, keep_tokens: 1})
    expect(toml.datasets).toHaveLength(1)
    expect(toml.datasets[0]).toMatchObject({resolution: 1024, enable_bucket: true, batch_size: 1})
    const [subset] = toml.datasets[0].subsets
    // TOML mode does not parse the folder name: repeats and class tokens are in the subset.
    expect(subset).toEqual({image_dir: join(dest, 'img', '10_ohwx woman'), num_repeats: 10, class_tokens: 'ohwx woman'})
    expect(isAbsolute(subset.image_dir)).toBe(true)
    await expectCaptioned(subset.image_dir, ['png', 'jpg', 'jpeg', 'webp', 'bmp'])
    // The folder name sd-scripts would parse agrees: integer before the first `_`.
    expect(Number(basename(subset.image_dir).split('_')[0])).toBe(10)
    await expectManifest(dest, 'kohya')
  })

  it('kohya-finetune: metadata.json keyed by stem (or full path) and a dataset.toml naming it', async () => {
    const dest = join(out, 'finetune')
    await loraOk(['export', dest, '--target', 'kohya-finetune', '--resolution', '768'], {cwd: dir})
    const toml = parseToml(await readText(join(dest, 'dataset.toml'))) as any
    const [subset] = toml.datasets[0].subsets
    expect(toml.datasets[0].resolution).toBe(768)
    expect(subset.metadata_file).toBe(join(dest, 'metadata.json'))
    const metadata = JSON.parse(await readText(subset.metadata_file))
    const images = await fsp.readdir(subset.image_dir)
    expect(Object.keys(metadata).sort()).toEqual(images.map(stem).sort())
    for (const [key, value] of Object.entries(metadata)) {
      // No `tags`: sd-scripts appends it to `caption` (FineTuningDataset), which would train every tag twice.
      expect(value).toEqual({caption: CAPTIONS[key]})
    }
    const full = join(out, 'finetune-full')
    await loraOk(['export', full, '--target', 'kohya-finetune', '--full-path'], {cwd: dir})
    const keys = Object.keys(JSON.parse(await readText(join(full, 'metadata.json'))))
    for (const key of keys) expect(fs.existsSync(key) && dirname(key) === join(full, 'images')).toBe(true)
  })

  it('ai-toolkit: images/ and a job whose datasets entry points at it, caption_ext txt, trigger_word', async () => {
    const dest = join(out, 'aitk')
    await loraOk(['export', dest, '--target', 'ai-toolkit', '--repeats', '3'], {cwd: dir})
    const job = parseYaml(await readText(join(dest, 'ai-toolkit.yaml')))
    const [process] = job.config.process
    expect(process.trigger_word).toBe('ohwx')
    const [dataset] = process.datasets
    expect(dataset).toMatchObject({
      folder_path: join(dest, 'images'),
      caption_ext: 'txt',
      shuffle_tokens: false,
      cache_latents_to_disk: true,
      resolution: [512, 768, 1024],
      num_repeats: 3,
    })
    expect(typeof dataset.caption_dropout_rate).toBe('number')
    await expectCaptioned(dataset.folder_path, ['jpg', 'jpeg', 'png', 'webp'])
  })

  it('onetrainer: concepts.json, one concept reading <stem>.txt (prompt_source sample) with REPEATS balancing', async () => {
    const dest = join(out, 'onetrainer')
    await loraOk(['export', dest, '--target', 'onetrainer', '--repeats', '4'], {cwd: dir})
    const concepts = JSON.parse(await readText(join(dest, 'concepts.json')))
    expect(concepts).toHaveLength(1)
    expect(concepts[0]).toMatchObject({
      path: join(dest, 'images'),
      enabled: true,
      balancing: 4,
      balancing_strategy: 'REPEATS',
      text: {prompt_source: 'sample', tag_delimiter: ',', keep_tags_count: 1},
    })
    await expectCaptioned(concepts[0].path, ['jpg', 'jpeg', 'png', 'webp'])
  })

  it('diffusion-pipe: dataset.toml with resolutions, enable_ar_bucket and a [[directory]] with num_repeats', async () => {
    const dest = join(out, 'dpipe')
    await loraOk(['export', dest, '--target', 'diffusion-pipe', '--repeats', '2', '--resolution', '512'], {cwd: dir})
    const toml = parseToml(await readText(join(dest, 'dataset.toml'))) as any
    expect(toml.resolutions).toEqual([512])
    expect(toml.enable_ar_bucket).toBe(true)
    expect(toml.directory).toEqual([{path: join(dest, 'images'), num_repeats: 2}])
    await expectCaptioned(toml.directory[0].path, ['jpg', 'jpeg', 'png', 'webp'])
  })

  it('hf: train/ with metadata.jsonl (file_name, text, tags) beside the images, and a dataset card', async () => {
    const dest = join(out, 'hf')
    await loraOk(['export', dest, '--target', 'hf'], {cwd: dir})
    const rows = (await readText(join(dest, 'train', 'metadata.jsonl')))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    const images = (await fsp.readdir(join(dest, 'train'))).filter((n) => n !== 'metadata.jsonl')
    expect(rows.map((r) => r.file_name).sort()).toEqual(images.sort())
    for (const row of rows) {
      expect(row.text).toBe(CAPTIONS[stem(row.file_name)])
      expect(row.tags).toEqual(CAPTIONS[stem(row.file_name)].split(', '))
    }
    const card = await readText(join(dest, 'README.md'))
    const front = parseYaml(card.split('---\n')[1])
    expect(front).toMatchObject({
      configs: [{config_name: 'default', data_files: [{split: 'train', path: 'train/**'}]}],
      task_categories: ['text-to-image'],
      size_categories: ['n<1K'],
    })
  })

  it('civitai: one zip, image + .txt pairs at its root, png/jpg/jpeg only (a GIF converted)', async () => {
    const zip = join(out, 'civitai.zip')
    const r = await loraJson(['export', zip, '--target', 'civitai'], {cwd: dir})
    expect(r).toMatchObject({zip: true, count: 5, validation: {target: 'civitai', errors: 0}})
    const entries = await readZip(zip)
    const names = Object.keys(entries)
    expect(names.every((n) => !n.includes('/'))).toBe(true)
    const images = names.filter((n) => /\.(png|jpe?g|webp|gif)$/u.test(n))
    expect(images.length).toBe(5)
    for (const image of images) {
      expect(['png', 'jpg', 'jpeg']).toContain(image.split('.').pop())
      expect(entries[`${stem(image)}.txt`].toString('utf8')).toBe(CAPTIONS[stem(image)] + '\n')
      await sharp(entries[image]).metadata() // decodable
    }
    // No staging folder is left beside the zip.
    expect((await fsp.readdir(out)).filter((n) => n.startsWith('.lora-'))).toEqual([])
  })

  it('--zip: any target into one zip, with relative paths in its config', async () => {
    const zip = join(out, 'kohya.zip')
    await loraOk(['export', zip, '--target', 'kohya', '--zip'], {cwd: dir})
    const entries = await readZip(zip)
    const toml = parseToml(entries['dataset.toml'].toString('utf8')) as any
    const imageDir = toml.datasets[0].subsets[0].image_dir
    expect(imageDir).toBe('img/1_ohwx')
    const inDir = Object.keys(entries).filter((n) => n.startsWith(`${imageDir}/`) && !n.endsWith('.txt'))
    expect(inDir).toHaveLength(5)
    for (const image of inDir) expect(entries[`${stem(image)}.txt`]).toBeDefined()
  })

  it('images that need no change are copied byte-identically; --max-side --convert jpg re-encodes within bounds', async () => {
    const dest = join(out, 'plain')
    const plain = await loraJson(['export', dest, '--target', 'ai-toolkit'], {cwd: dir})
    const manifest = JSON.parse(await readText(join(dest, 'lora-export.json')))
    const copied = manifest.images.filter((i: {how: string}) => i.how === 'copied')
    expect(copied.length).toBe(plain.copied)
    expect(copied.length).toBeGreaterThan(0)
    for (const image of copied)
      expect(await sha256(join(dest, image.file))).toBe(await sha256(join(dir, 'output', basename(image.file))))

    const small = join(out, 'small')
    const r = await loraJson(
      ['export', small, '--target', 'ai-toolkit', '--max-side', '200', '--convert', 'jpg', '--quality', '80'],
      {cwd: dir},
    )
    expect(r.converted).toBe(5)
    for (const name of (await listFiles(join(small, 'images'))).filter((n) => !n.endsWith('.txt'))) {
      expect(name).toMatch(/\.jpg$/u)
      const meta = await sharp(join(small, 'images', name)).metadata()
      expect(meta.format).toBe('jpeg')
      expect(Math.max(meta.width, meta.height)).toBeLessThanOrEqual(200)
    }
    // Never upscaled: the 14×25 GIF stays 14×25.
    const gif = await sharp(join(small, 'images', 'img_0005.jpg')).metadata()
    expect([gif.width, gif.height]).toEqual([14, 25])
  })

  it('--link: images that need no change are hard links to the dataset files (same inode, 2 links); others converted', async () => {
    const dest = join(out, 'linked')
    const r = await loraJson(['export', dest, '--target', 'ai-toolkit', '--link'], {cwd: dir})
    const manifest = JSON.parse(await readText(join(dest, 'lora-export.json')))
    expect(manifest.options.link).toBe(true)
    const linked = manifest.images.filter((i: {how: string}) => i.how === 'linked')
    expect(linked.length).toBeGreaterThan(0)
    expect([r.linked, r.copied, r.converted]).toEqual([linked.length, 0, 5 - linked.length])
    for (const image of manifest.images) {
      const exported = fs.statSync(join(dest, image.file))
      if (image.how === 'linked') {
        const source = fs.statSync(join(dir, 'output', basename(image.file)))
        expect([image.file, exported.ino, exported.nlink]).toEqual([image.file, source.ino, 2])
      } else expect([image.file, exported.nlink]).toEqual([image.file, 1])
    }
    expect(await readText(join(dest, 'images', 'img_0001.txt'))).toBe(CAPTIONS.img_0001 + '\n')
    // Into the existing folder (--force): each old file removed, then linked again.
    const again = await loraJson(['export', dest, '--target', 'ai-toolkit', '--link', '--force'], {cwd: dir})
    expect(again.linked).toBe(linked.length)
    expect(fs.statSync(join(dest, linked[0].file)).nlink).toBe(2)
    // The default stays a copy: a new inode.
    const copied = join(out, 'not-linked')
    await loraOk(['export', copied, '--target', 'ai-toolkit'], {cwd: dir})
    expect(fs.statSync(join(copied, linked[0].file)).nlink).toBe(1)
    const dry = await loraJson(['export', join(out, 'dry-link'), '--target', 'ai-toolkit', '--link', '--dry-run'], {
      cwd: dir,
    })
    expect([dry.linked, dry.copied]).toEqual([linked.length, 0])
  })

  it('--link: an in-place edit of an exported image changes the dataset image, which lora then reports as changed', async () => {
    // A plain JPEG (no metadata): it needs no change, so it is linked.
    const src = await tempDir('lora-link-edit-')
    await sharp({create: {width: 64, height: 48, channels: 3, background: {r: 20, g: 100, b: 50}}})
      .jpeg()
      .toFile(join(src, 'plain.jpg'))
    await loraOk(['init', '.', '--trigger', 'ohwx'], {cwd: src})
    await loraOk(['tag', '1', '--set', 'plain'], {cwd: src})
    const dest = join(out, 'linked-edit')
    expect((await loraJson(['export', dest, '--target', 'kohya', '--link'], {cwd: src})).linked).toBe(1)
    await fsp.appendFile(join(dest, 'img', '1_ohwx', 'img_0001.jpg'), 'edited in place')
    expect((await fsp.readFile(join(src, 'output', 'img_0001.jpg'))).toString('latin1')).toMatch(/edited in place$/u)
    const r = await lora(['export', join(out, 'after-edit'), '--target', 'kohya'], {cwd: src})
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(/missing or changed since lora recorded them/u)])
  })

  it('--link never links a file with another name: the originals of an `init --link` dataset, a file already linked into an export', async () => {
    const src = await tempDir('lora-link-orig-')
    await sharp({create: {width: 64, height: 48, channels: 3, background: {r: 90, g: 10, b: 50}}})
      .jpeg()
      .toFile(join(src, 'original.jpg'))
    await loraOk(['init', '.', '--link', '--trigger', 'ohwx'], {cwd: src})
    expect(fs.statSync(join(src, 'original.jpg')).nlink).toBe(2)
    await loraOk(['tag', '1', '--set', 'plain'], {cwd: src})
    const r = await loraJson(['export', join(out, 'from-linked-init'), '--target', 'kohya', '--link'], {cwd: src})
    expect([r.linked, r.copied]).toEqual([0, 1])
    // The user's original keeps its two names (itself and the dataset's image); the export is a file of its own.
    expect(fs.statSync(join(src, 'original.jpg')).nlink).toBe(2)
    // A copied dataset: the first --link export links; a second one, to another folder, copies.
    const copyData = await tempDir('lora-link-twice-')
    await fsp.copyFile(join(src, 'original.jpg'), join(copyData, 'photo.jpg'))
    await loraOk(['init', '.', '--trigger', 'ohwx'], {cwd: copyData})
    await loraOk(['tag', '1', '--set', 'plain'], {cwd: copyData})
    const first = await loraJson(['export', join(out, 'link-once'), '--target', 'kohya', '--link'], {cwd: copyData})
    const second = await loraJson(['export', join(out, 'link-twice'), '--target', 'kohya', '--link'], {cwd: copyData})
    expect([first.linked, second.linked, second.copied]).toEqual([1, 0, 1])
    expect(fs.statSync(join(copyData, 'output', 'img_0001.jpg')).nlink).toBe(2)
  })

  itIf(
    crossDeviceMissing(),
    '--link to another file system (/dev/shm) falls back to copies, reported as copied',
    async () => {
      const dest = await fsp.mkdtemp('/dev/shm/lora-link-')
      try {
        const r = await loraJson(['export', join(dest, 'out'), '--target', 'onetrainer', '--link'], {cwd: dir})
        expect(r.linked).toBe(0)
        expect(r.copied).toBeGreaterThan(0)
        const manifest = JSON.parse(await readText(join(dest, 'out', 'lora-export.json')))
        expect(manifest.images.filter((i: {how: string}) => i.how === 'copied')).toHaveLength(r.copied)
        for (const image of manifest.images.filter((i: {how: string}) => i.how === 'copied')) {
          expect(fs.statSync(join(dest, 'out', image.file)).nlink).toBe(1)
          expect(await sha256(join(dest, 'out', image.file))).toBe(image.sha256)
        }
      } finally {
        await fsp.rm(dest, {recursive: true, force: true})
      }
    },
  )

  it('--dry-run says what would be written and writes nothing', async () => {
    const dest = join(out, 'dry')
    const r = await loraJson(['export', dest, '--target', 'kohya', '--dry-run'], {cwd: dir})
    expect(r).toMatchObject({dryRun: true, count: 5, validation: null, configs: ['dataset.toml']})
    expect(fs.existsSync(dest)).toBe(false)
  })

  it.each([
    [['--target', 'ai-toolkit', '--class', 'woman'], /--class does not apply to --target ai-toolkit/u],
    [['--target', 'hf', '--repeats', '3'], /--repeats does not apply to --target hf/u],
    [['--target', 'onetrainer', '--resolution', '768'], /--resolution does not apply/u],
    [['--target', 'kohya', '--full-path'], /--full-path does not apply/u],
    [['--target', 'kohya', '--format', 'folder'], /--format and --target/u],
    [['--target', 'kohya', '--quality', '80'], /--quality applies only/u],
    [['--target', 'kohya', '--convert', 'png', '--quality', '80'], /lossless/u],
    [['--target', 'civitai', '--convert', 'webp'], /PNG and JPEG/u],
    [['--target', 'kohya', '--max-side', '0'], /--max-side must be/u],
    [['--max-side', '512'], /--max-side needs --target/u],
    [['--zip'], /--zip needs --target/u],
    [['--link'], /--link needs --target/u],
    [['--target', 'kohya', '--link', '--zip'], /--link does not go with --zip/u],
    [['--target', 'civitai', '--link'], /--link does not go with --zip/u],
    [['--target', 'kohya', '--link', '--max-side', '512'], /--link does not go with --max-side/u],
    [['--target', 'hf', '--link', '--convert', 'png'], /--link does not go with --convert/u],
  ])('usage error before anything is written: %j', async (args, message) => {
    const dest = join(out, 'refused')
    const r = await lora(['export', dest, ...args], {cwd: dir})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(fs.existsSync(dest)).toBe(false)
  })

  it('a destination inside the dataset is refused (exit 2), folder or zip, nothing written', async () => {
    for (const [dest, extra] of [
      [join(dir, 'output', 'train'), []],
      [join(dir, 'train.zip'), ['--zip']],
      [join(dir, '.lora-tagger', 'up.zip'), []],
    ] as const) {
      const r = await lora(['export', dest, '--target', dest.endsWith('up.zip') ? 'civitai' : 'kohya', ...extra], {
        cwd: dir,
      })
      expect([dest, r.code, fs.existsSync(dest)]).toEqual([dest, 2, false])
    }
  })

  it('an existing empty file as the zip is replaced; the staging folder is gone', async () => {
    const zipped = join(out, 'empty.zip')
    await fsp.writeFile(zipped, '')
    await loraOk(['export', zipped, '--target', 'civitai'], {cwd: dir})
    expect((await fsp.stat(zipped)).size).toBeGreaterThan(0)
    expect((await fsp.readdir(out)).filter((n) => n.startsWith('.lora-export-'))).toEqual([])
  })

  it('civitai refuses more than 1,000 files (500 images + captions + lora-export.json), nothing written; 499 pass', async () => {
    // 500 distinct 2×2 PNGs (distinct bytes: init imports exact duplicates once), pending: --include-pending.
    const src = await tempDir('lora-civitai-many-')
    await Promise.all(
      Array.from({length: 500}, (_, i) =>
        sharp(Buffer.from([i & 0xff, i >> 8, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9]), {raw: {width: 2, height: 2, channels: 3}})
          .png()
          .toFile(join(src, `p${String(i).padStart(3, '0')}.png`)),
      ),
    )
    await loraOk(['init', '.', '--trigger', 'ohwx'], {cwd: src})
    const zip = join(out, 'many.zip')
    const r = await lora(['export', zip, '--target', 'civitai', '--include-pending'], {cwd: src})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: A CivitAI zip holds at most 1000 files; this export would have 1001 /u)
    expect(r.stderr).toContain('Nothing was written.')
    expect(fs.existsSync(zip)).toBe(false)
    expect((await fsp.readdir(out)).filter((n) => n.startsWith('.lora-export-many'))).toEqual([])
    // One image fewer (skipped): 999 files, accepted.
    await loraOk(['tag', '500', '--skip'], {cwd: src})
    const dry = await loraJson(['export', zip, '--target', 'civitai', '--include-pending', '--dry-run'], {cwd: src})
    expect(dry).toMatchObject({count: 499, dryRun: true})
  }, 60_000)

  it('a caption holding a control, bidi or C1 character is refused (caption-control, exit 1) before anything is written', async () => {
    const hostile = await initDataset({names: ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg']})
    await loraOk(['tag', '--all', '--set', 'red, blue sky'], {cwd: hostile})
    await fsp.writeFile(join(hostile, 'output', 'img_0001.txt'), 'red\u001b]0;TITLE\u0007, bl\u202eue, \u009b31m\n')
    for (const target of ['hf', 'ai-toolkit', 'kohya-finetune', 'civitai']) {
      const dest = join(out, target === 'civitai' ? 'hostile.zip' : `hostile-${target}`)
      const r = await lora(['export', dest, '--target', target, '--json'], {cwd: hostile})
      expect([target, r.code, r.stdout, fs.existsSync(dest)]).toEqual([target, 1, '', false])
      expect(r.stderr).toMatch(
        /^error: A caption to export holds a tag lora does not take in: img_0001 \(output\/img_0001\.txt: tag "red\\x1b\]0;TITLE\\x07" holds a control character \(U\+001B\)\)\. Nothing was written\.\n/u,
      )
    }
    expect((await fsp.readdir(out)).filter((n) => n.startsWith('.lora-export-'))).toEqual([])
  })

  // state.json names every image file `<id>.<image extension>` with ids of their own (core/containment.ts), so two
  // planned names can clash only by case (on a file system that tells case apart).
  it.each([
    [
      'two captions (IMG_0001.png, img_0001.jpg → img_0001.txt, case ignored)',
      ['IMG_0001.png', 'img_0001.jpg'],
      'ai-toolkit',
      'images/img_0001.txt',
    ],
    [
      'two images, case ignored (IMG_0001.JPG, img_0001.jpg)',
      ['IMG_0001.JPG', 'img_0001.jpg'],
      'kohya-finetune',
      'images/img_0001.jpg',
    ],
    [
      'a converted image (IMG_0001.gif → .png, img_0001.png)',
      ['img_0001.png', 'IMG_0001.gif'],
      'civitai',
      'IMG_0001.png',
    ],
    ['hf, whose captions are in metadata.jsonl', ['IMG_0001.jpg', 'img_0001.png'], 'hf', 'train/img_0001.txt'],
  ])('two planned files of one name are refused before anything is written: %s', async (_, names, target, shared) => {
    const odd = await datasetNamed(names)
    const dest = join(out, target === 'civitai' ? 'clash.zip' : `clash-${target}`)
    const r = await lora(['export', dest, '--target', target], {cwd: odd})
    expect([r.code, r.stdout, fs.existsSync(dest)]).toEqual([1, '', false])
    const [first, second] = names.map((n) => n.replace(/\.\w+$/u, ''))
    expect(r.stderr).toBe(
      `error: ${first} (output/${names[0]}) and ${second} (output/${names[1]}) would both be exported as ${shared} (names are compared case ignored); nothing was written.\n` +
        `hint: Each exported file needs a name of its own: leave one of them out (\`lora tag ${second} --skip\`) and export again.\n`,
    )
    expect((await fsp.readdir(out)).filter((n) => n.startsWith('.lora-export-'))).toEqual([])
    // --force into an earlier export overwrites nothing; --dry-run is refused too.
    if (target === 'civitai') return
    await fsp.mkdir(dest)
    await fsp.writeFile(join(dest, 'keep.txt'), 'mine\n')
    expect((await lora(['export', dest, '--target', target, '--force'], {cwd: odd})).code).toBe(1)
    expect((await lora(['export', dest, '--target', target, '--dry-run'], {cwd: odd})).code).toBe(1)
    expect(await listFiles(dest)).toEqual(['keep.txt'])
    expect((await fsp.readdir(dest)).filter((n) => n.startsWith('.lora-export-'))).toEqual([])
  })

  it('a civitai zip refuses an image whose name reads as a Windows drive path (C:x.png) before anything is written', async () => {
    const odd = await datasetNamed(['C:x.png'])
    const zip = join(out, 'drive.zip')
    const r = await lora(['export', zip, '--target', 'civitai'], {cwd: odd})
    expect([r.code, r.stdout, fs.existsSync(zip)]).toEqual([1, '', false])
    expect(r.stderr).toBe(
      'error: C:x (output/C:x.png) would be the zip member C:x.png, which looks like a Windows drive path; a zip cannot hold it, so nothing was written.\n' +
        'hint: Leave that image out (`lora tag C:x --skip`) and export again; or, for a target other than civitai (always a zip), export a folder (without --zip).\n',
    )
    expect((await fsp.readdir(out)).filter((n) => n.startsWith('.lora-export-'))).toEqual([])
    // In a folder of the zip (--zip with another target) the name is a plain member name.
    const inFolder = join(out, 'drive-aitk.zip')
    await loraOk(['export', inFolder, '--target', 'ai-toolkit', '--zip'], {cwd: odd})
    expect(Object.keys(await readZip(inFolder))).toEqual(
      expect.arrayContaining(['images/C:x.png', 'images/C:x.txt', 'ai-toolkit.yaml']),
    )
  })

  it.each([
    ['a no-break space', 'ohwx\u00a0man'],
    ['U+2028', 'ohwx\u2028man'],
    ['runs of spaces and U+2029', ' ohwx  \u2029 man '],
  ])(
    'a trigger word with %s is written as the captions have it, "ohwx man": kohya folder and class_tokens, ai-toolkit trigger_word',
    async (_, trigger) => {
      const src = await initDataset({names: ['plasma-Autumn-screenshot.jpg']})
      await setTrigger(src, trigger)
      await loraOk(['tag', '--all', '--set', 'red, blue sky'], {cwd: src})
      const kohya = join(out, `trigger-kohya-${trigger.codePointAt(4)}`)
      await loraOk(['export', kohya, '--target', 'kohya', '--class', 'woman'], {cwd: src})
      const subset = (parseToml(await readText(join(kohya, 'dataset.toml'))) as any).datasets[0].subsets[0]
      expect([subset.class_tokens, subset.image_dir]).toEqual([
        'ohwx man woman',
        join(kohya, 'img', '1_ohwx man woman'),
      ])
      expect(await readText(join(subset.image_dir, 'img_0001.txt'))).toBe('ohwx man, red, blue sky\n')
      const aitk = join(out, `trigger-aitk-${trigger.codePointAt(4)}`)
      await loraOk(['export', aitk, '--target', 'ai-toolkit'], {cwd: src})
      expect(parseYaml(await readText(join(aitk, 'ai-toolkit.yaml'))).config.process[0].trigger_word).toBe('ohwx man')
    },
  )

  it('a trigger word or --class holding a Unicode noncharacter is refused before anything is written', async () => {
    const src = await initDataset({names: ['plasma-Autumn-screenshot.jpg'], initArgs: ['--trigger', 'ohwx']})
    await loraOk(['tag', '--all', '--set', 'red'], {cwd: src})
    const dest = join(out, 'noncharacter')
    const cls = await lora(['export', dest, '--target', 'kohya', '--class', 'wo\ufdd0man'], {cwd: src})
    expect([cls.code, fs.existsSync(dest)]).toEqual([2, false])
    expect(cls.stderr).toMatch(/^error: --class holds a Unicode noncharacter \(U\+FDD0\); nothing was written\.\n/u)
    await setTrigger(src, 'ohwx\uffff')
    const r = await lora(['export', dest, '--target', 'ai-toolkit'], {cwd: src})
    expect([r.code, fs.existsSync(dest)]).toEqual([1, false])
    expect(r.stderr).toMatch(
      /^error: Bad value for "trigger" in .*config\.yaml: "ohwx\uffff" holds a Unicode noncharacter \(U\+FFFF\)\.\n/u,
    )
  })

  it('captions are joined by ", " whatever the dataset\'s separator (" | "), as the configs say; --format folder keeps " | "', async () => {
    const src = await initDataset({names: ['plasma-Autumn-screenshot.jpg'], initArgs: ['--trigger', 'ohwx']})
    const config = join(src, '.lora-tagger', 'config.yaml')
    await fsp.writeFile(config, (await readText(config)).replace(/^separator:.*$/mu, 'separator: " | "'))
    await loraOk(['tag', '--all', '--set', 'red | blue sky'], {cwd: src})
    expect(await readText(join(src, 'output', 'img_0001.txt'))).toBe('ohwx | red | blue sky\n')
    const dest = join(out, 'pipe-onetrainer')
    const r = await loraJson(['export', dest, '--target', 'onetrainer'], {cwd: src})
    expect(r.validation).toMatchObject({errors: 0})
    expect(JSON.parse(await readText(join(dest, 'concepts.json')))[0].text.tag_delimiter).toBe(',')
    expect(await readText(join(dest, 'images', 'img_0001.txt'))).toBe('ohwx, red, blue sky\n')
    const hf = join(out, 'pipe-hf')
    await loraOk(['export', hf, '--target', 'hf'], {cwd: src})
    expect(JSON.parse(await readText(join(hf, 'train', 'metadata.jsonl'))).text).toBe('ohwx, red, blue sky')
    const folder = join(out, 'pipe-folder')
    await loraOk(['export', folder], {cwd: src})
    expect(await readText(join(folder, 'img_0001.txt'))).toBe('ohwx | red | blue sky\n')
  })

  it("kohya refuses a trigger word with a path separator (from the dataset's config) before writing", async () => {
    const odd = join(out, 'odd-trigger')
    await fsp.cp(dir, odd, {recursive: true})
    const config = join(odd, '.lora-tagger', 'config.yaml')
    await fsp.writeFile(config, (await readText(config)).replace(/^trigger:.*$/mu, 'trigger: "x/../.."'))
    const dest = join(out, 'kohya-odd')
    const r = await lora(['export', dest, '--target', 'kohya'], {cwd: odd})
    expect([r.code, fs.existsSync(dest)]).toEqual([2, false])
    expect(r.stderr).toContain('The trigger word "x/../.." contains a path separator')
  })

  it('validation errors exit 4 and keep the export (an empty caption: no trigger, a pending image)', async () => {
    const bare = await initDataset({names: ['skimage-horse.png', 'plasma-Kite-screenshot.jpg']})
    await loraOk(['tag', '1', '--set', 'horse'], {cwd: bare})
    const dest = join(out, 'invalid')
    const r = await lora(['export', dest, '--target', 'ai-toolkit', '--include-pending'], {cwd: bare})
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/error empty-caption/u)
    expect(r.stderr).toMatch(/written and kept at/u)
    expect(fs.existsSync(join(dest, 'images', 'img_0002.txt'))).toBe(true)
    expect(fs.existsSync(join(dest, 'lora-export.json'))).toBe(true)
    // --json: the report on stdout all the same, then the error.
    const j = await lora(['export', dest, '--target', 'ai-toolkit', '--include-pending', '--force', '--json'], {
      cwd: bare,
    })
    expect(j.code).toBe(4)
    expect(JSON.parse(j.stdout).validation).toMatchObject({target: 'ai-toolkit', errors: 1})
    // kohya names its folder after the trigger or the class: with neither, a usage error before anything is written.
    const r2 = await lora(['export', join(out, 'no-name'), '--target', 'kohya'], {cwd: bare})
    expect([r2.code, fs.existsSync(join(out, 'no-name'))]).toEqual([2, false])
    expect(r2.stderr).toMatch(/--class/u)
  })

  it('says on stderr what it wrote, how, what it left out, the config and the check; --dry-run what it would', async () => {
    // img_0001.jpg (camera EXIF: re-encoded without it) and img_0003.gif (re-encoded: kohya reads no GIF) tagged,
    // img_0002.png left pending; both exported images are smaller than validate.minSide (two warnings).
    const ds = await initDataset({
      names: ['skimage-horse.png', 'plasma-Kite-screenshot.jpg', 'skimage-no_time_for_that_tiny.gif'],
      initArgs: ['--trigger', 'ohwx'],
    })
    await loraOk(['tag', '1', '3', '--add', 'horse'], {cwd: ds})
    const dest = join(out, 'summary')
    const args = ['export', dest, '--target', 'kohya', '--class', 'horse']
    const dry = await lora([...args, '--dry-run'], {cwd: ds})
    expect([dry.code, dry.stdout, fs.existsSync(dest)]).toEqual([0, '', false])
    expect(dry.stderr).toBe(
      `Would export 2 images for kohya to ${dest} (0 copied as they are, 2 re-encoded; 1 pending or skipped left out); nothing was written (--dry-run).\nConfig: dataset.toml.\n`,
    )
    const r = await lora(args, {cwd: ds})
    expect([r.code, r.stdout]).toEqual([0, ''])
    expect(r.stderr.split('\n')).toEqual([
      `Exported 2 images for kohya to ${dest} (0 copied as they are, 2 re-encoded; 1 pending or skipped left out).`,
      'Config: dataset.toml.',
      "Checked with lora validate's kohya rules: 0 errors, 2 warnings:",
      '  warning low-resolution: 1_ohwx horse/img_0001.jpg is 400×250; its shorter side is below 512 pixels.',
      '  warning low-resolution: 1_ohwx horse/img_0003.png is 14×25; its shorter side is below 512 pixels.',
      '',
    ])
  })

  it('an image with no metadata or only an sRGB ICC profile is copied as is; EXIF or a PNG prompt is re-encoded without it', async () => {
    const src = await tempDir('lora-icc-')
    const pixels = sharp({create: {width: 64, height: 48, channels: 3, background: {r: 200, g: 100, b: 50}}})
    await pixels.clone().jpeg().withIccProfile('srgb').toFile(join(src, 'icc.jpg'))
    await pixels
      .clone()
      .jpeg()
      .withExif({IFD0: {Artist: 'someone'}})
      .toFile(join(src, 'exif.jpg'))
    // A plain JPEG (no metadata: the header scan decides without sharp), and a PNG with a generator's prompt.
    await pixels.clone().jpeg().toFile(join(src, 'plain.jpg'))
    await fsp.writeFile(
      join(src, 'prompt.png'),
      await pngWithText([{type: 'tEXt', key: 'parameters', text: 'secret prompt'}]),
    )
    await loraOk(['init', '.', '--trigger', 'ohwx'], {cwd: src})
    await loraOk(['tag', '--stdin'], {cwd: src, input: '1\ta\n2\tb\n3\tc\n4\td\n'})
    const dest = join(out, 'icc')
    await loraOk(['export', dest, '--target', 'onetrainer'], {cwd: src})
    const manifest = JSON.parse(await readText(join(dest, 'lora-export.json')))
    const how = Object.fromEntries(manifest.images.map((i: {original: string; how: string}) => [i.original, i.how]))
    expect(how).toEqual({
      'exif.jpg': 'converted',
      'icc.jpg': 'copied',
      'plain.jpg': 'copied',
      'prompt.png': 'converted',
    })
    for (const image of manifest.images) {
      const meta = await sharp(join(dest, image.file)).metadata()
      expect([image.original, meta.exif, meta.comments]).toEqual([image.original, undefined, undefined])
    }
    expect((await fsp.readFile(join(dest, 'images', 'img_0004.png'))).includes('secret prompt')).toBe(false)
  })

  it('lora-export.json records the dataset HEAD when history is on (lora git enable)', async () => {
    const src = await initDataset({names: ['skimage-horse.png'], initArgs: ['--trigger', 'ohwx']})
    await loraOk(['git', 'enable'], {cwd: src, env: GIT_ENV})
    await loraOk(['tag', '1', '--set', 'horse'], {cwd: src, env: GIT_ENV})
    const head = execFileSync('git', ['rev-parse', 'HEAD'], {cwd: src, encoding: 'utf8'}).trim()
    const dest = join(out, 'with-history')
    await loraOk(['export', dest, '--target', 'diffusion-pipe'], {cwd: src, env: GIT_ENV})
    expect(JSON.parse(await readText(join(dest, 'lora-export.json'))).commit).toBe(head)
  })

  itIf(exiftoolMissing(), 'a photo with GPS exports without it (and with --keep-metadata, keeps it)', async () => {
    const src = await tempDir('lora-gps-')
    await copyFixtures(src, ['plasma-Kite-screenshot.jpg'])
    const photo = join(src, 'plasma-Kite-screenshot.jpg')
    execFileSync('exiftool', [
      '-q',
      '-overwrite_original',
      '-GPSLatitude=48.8584',
      '-GPSLatitudeRef=N',
      '-GPSLongitude=2.2945',
      '-GPSLongitudeRef=E',
      photo,
    ])
    expect(exifGps(photo)).toMatch(/48/u)
    await loraOk(['init', '.', '--trigger', 'ohwx'], {cwd: src})
    await loraOk(['tag', '1', '--set', 'kite'], {cwd: src})
    const dest = join(out, 'gps')
    await loraOk(['export', dest, '--target', 'kohya'], {cwd: src})
    const exported = join(dest, 'img', '1_ohwx', 'img_0001.jpg')
    expect(exifGps(exported)).toBe('')
    expect((await sharp(exported).metadata()).exif).toBeUndefined()
    const kept = join(out, 'gps-kept')
    await loraOk(['export', kept, '--target', 'kohya', '--keep-metadata'], {cwd: src})
    expect(exifGps(join(kept, 'img', '1_ohwx', 'img_0001.jpg'))).toMatch(/48/u)
  })

  itShared(
    'the 18 EXIF-orientation images export upright, sizes swapped where needed, pixels as the upright one, no EXIF',
    async () => {
      const src = await tempDir('lora-orient-')
      const from = join(SHARED_DATA, 'exif-orientation')
      const names = (await fsp.readdir(from)).filter((n) => n.endsWith('.jpg')).sort()
      expect(names).toHaveLength(18)
      await copyFixtures(src, names, from)
      await loraOk(['init', '.', '--trigger', 'ohwx'], {cwd: src})
      await loraOk(['tag', '--stdin'], {cwd: src, input: names.map((_, i) => `${i + 1}\tphoto\n`).join('')})
      const dest = join(out, 'orient')
      await loraOk(['export', dest, '--target', 'ai-toolkit', '--max-side', '600'], {cwd: src})
      const manifest = JSON.parse(await readText(join(dest, 'lora-export.json')))
      const reference: Record<string, Buffer> = {}
      for (const kind of ['Landscape', 'Portrait'])
        reference[kind] = await thumb(await fsp.readFile(join(from, `${kind}_1.jpg`)))
      for (const image of manifest.images) {
        const kind = image.original.startsWith('Landscape') ? 'Landscape' : 'Portrait'
        const file = join(dest, image.file)
        const meta = await sharp(file).metadata()
        expect(meta.exif).toBeUndefined()
        expect(meta.orientation ?? 1).toBe(1)
        if (kind === 'Landscape') expect(meta.width).toBeGreaterThan(meta.height)
        else expect(meta.height).toBeGreaterThan(meta.width)
        // Pixels: an 8×8 grey thumbnail matches the upright (orientation 1) picture's, not a turned one.
        const diff = meanDiff(await thumb(await fsp.readFile(file)), reference[kind])
        expect([image.original, diff < 12]).toEqual([image.original, true])
      }
    },
    120_000,
  )
})

/**
 * A dataset of tagged images whose files in output/ (and state.json records) are named `names`, as a state edited by
 * hand could name them; image i+1 is `names[i]`. A `.png` or `.gif` name gets a PNG or GIF of its own.
 */
async function datasetNamed(names: readonly string[]): Promise<string> {
  const src = await initDataset({
    names: ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'plasma-Path-screenshot.jpg'].slice(
      0,
      names.length,
    ),
  })
  const statePath = join(src, '.lora-tagger', 'state.json')
  const state = JSON.parse(await readText(statePath))
  for (const [i, name] of names.entries()) {
    const image = state.images[i]
    const from = join(src, 'output', image.file)
    await fsp.rm(join(src, 'output', image.file.replace(/\.jpg$/u, '.txt')), {force: true})
    const kind = /\.(png|gif)$/iu.exec(name)?.[1].toLowerCase()
    if (kind) {
      const bytes = await sharp(from)[kind as 'png' | 'gif']().toBuffer()
      await fsp.writeFile(from, bytes)
      Object.assign(image, {
        sha256: createHash('sha256').update(bytes).digest('hex'),
        bytes: bytes.length,
        format: kind,
      })
    }
    await fsp.rename(from, join(src, 'output', `tmp-${i}`))
    // A record's file is its id and an image extension (state.json's rule): the id follows the name.
    image.id = name.replace(/\.\w+$/u, '')
    image.file = name
  }
  for (const [i, name] of names.entries()) await fsp.rename(join(src, 'output', `tmp-${i}`), join(src, 'output', name))
  await fsp.writeFile(statePath, JSON.stringify(state, null, 2))
  await loraOk(['tag', '--all', '--set', 'red, blue sky'], {cwd: src})
  return src
}

/** Sets the dataset's trigger word in .lora-tagger/config.yaml (a JSON string: any character, as written by hand). */
async function setTrigger(dataset: string, trigger: string): Promise<void> {
  const config = join(dataset, '.lora-tagger', 'config.yaml')
  const text = await readText(config)
  const line = `trigger: ${JSON.stringify(trigger)}`
  await fsp.writeFile(config, /^trigger:/mu.test(text) ? text.replace(/^trigger:.*$/mu, line) : `${text}${line}\n`)
}

/** Why the cross-device --link test cannot run here (no /dev/shm on another file system than the temp folder), or undefined. */
function crossDeviceMissing(): string | undefined {
  const shm = fs.statSync('/dev/shm', {throwIfNoEntry: false})
  if (!shm?.isDirectory()) return 'no /dev/shm'
  return shm.dev === fs.statSync(tmpdir()).dev ? '/dev/shm is on the same file system as the temp folder' : undefined
}

/** An 8×8 greyscale thumbnail of the image's stored pixels (no orientation applied: they must be upright). */
async function thumb(bytes: Buffer): Promise<Buffer> {
  return sharp(bytes).resize(8, 8, {fit: 'fill'}).greyscale().raw().toBuffer()
}

function meanDiff(a: Buffer, b: Buffer): number {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i])
  return sum / a.length
}

/**
 * Why the GPS test cannot run, or undefined: it needs `exiftool` on PATH (Debian's libimage-exiftool-perl; .ci/run
 * installs it) to give a photo GPS tags and read them back.
 */
function exiftoolMissing(): string | undefined {
  try {
    execFileSync('exiftool', ['-ver'], {stdio: 'ignore'})
    return undefined
  } catch {
    return 'exiftool is not installed (Debian: apt-get install libimage-exiftool-perl)'
  }
}

/** exiftool's GPS tags of a file, as text ('' when there are none). */
function exifGps(path: string): string {
  return execFileSync('exiftool', ['-s', '-a', '-G1', '-GPS:all', path], {encoding: 'utf8'}).trim()
}
