// Builds benchmark image folders and datasets from real photos: ../shared/data/photos when present (else
// test/fixtures/images). Everything is cached under bench/.cache/ (git-ignored) with a `.complete` marker, so only
// the first run pays for generation.
//
// - imageFolder(N): N small JPEG variants (sizes 24–55 px, qualities 60–95, the variant number in the EXIF
//   description), so every file differs; 100,000 of them take about 0.4 GB. bench/.cache/images-N/.
// - photoFolder(N): N real-size-ish JPEG variants (long side 256–640 px, random crops, qualities 70–95, EXIF
//   description), for timing `lora init` against sha256sum on realistic bytes. bench/.cache/photos-N/.
// - taggedDataset(N): a lora dataset of imageFolder(N)'s images (hard-linked, then `lora init --move`), 60 % of
//   the images tagged with danbooru tags, 2 % skipped, the `lora next` cursor half-way. bench/.cache/dataset-N/.
import {execFileSync} from 'node:child_process'
import {copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, CACHE, hasShared, ROOT, SHARED} from './lib.js'

const photosDir = () => (hasShared ? join(SHARED, 'photos') : join(ROOT, 'test', 'fixtures', 'images'))

/**
 * The real photos the generated bench sets are cut from (../shared/data/photos, else the test fixtures), each
 * decoded once: EXIF orientation applied, sRGB, 3 channels, at most `maxSide` px when given; only those whose long
 * side is at least `minSide` (the truncated fixture and what sharp cannot decode are left out).
 * @returns [{data, info}] as sharp's raw output
 */
export async function decodedPhotos({minSide, maxSide}) {
  const {default: sharp} = await import('sharp')
  const from = photosDir()
  const sources = []
  for (const name of readdirSync(from).sort()) {
    if (name.includes('truncated')) continue
    try {
      let image = sharp(join(from, name)).rotate()
      if (maxSide) image = image.resize(maxSide, maxSide, {fit: 'inside', withoutEnlargement: true})
      const {data, info} = await image.removeAlpha().toColourspace('srgb').raw().toBuffer({resolveWithObject: true})
      if (info.channels === 3 && Math.max(info.width, info.height) >= minSide) sources.push({data, info})
    } catch {
      // not decodable: skip
    }
  }
  return sources
}

/** Small deterministic PRNG, so that the cached data sets are the same on every machine. */
export function rng(seed) {
  let s = seed >>> 0
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
}

/** Runs `tasks` (functions returning promises) `limit` at a time, in order. */
async function pool(count, limit, task) {
  let next = 0
  const worker = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({length: limit}, worker))
}

/** Returns the folder holding `count` distinct small real-photo JPEGs (built on first use). */
export async function imageFolder(count) {
  const dir = join(CACHE, `images-${count}`)
  if (existsSync(join(dir, '.complete'))) return dir
  process.stderr.write(`Generating ${count} small images in ${dir} ...\n`)
  mkdirSync(dir, {recursive: true})
  const {default: sharp} = await import('sharp')
  const from = photosDir()
  const sources = []
  for (const name of readdirSync(from).sort()) {
    try {
      const {data, info} = await sharp(join(from, name))
        .resize(64, 64, {fit: 'cover'})
        .removeAlpha()
        .raw()
        .toBuffer({resolveWithObject: true})
      sources.push({data, info})
    } catch {
      // not decodable (the truncated JPEG): skip
    }
  }
  const pad = String(count).length
  await pool(count, 8, async (i) => {
    const src = sources[i % sources.length]
    const w = 24 + (i % 32)
    const h = 24 + (Math.floor(i / 32) % 32)
    const buffer = await sharp(src.data, {raw: {width: src.info.width, height: src.info.height, channels: 3}})
      .resize(w, h)
      .jpeg({quality: 60 + (i % 36)})
      .withExif({IFD0: {ImageDescription: `lora bench variant ${i}`}})
      .toBuffer()
    writeFileSync(join(dir, `photo-${String(i).padStart(pad, '0')}.jpg`), buffer)
  })
  writeFileSync(join(dir, '.complete'), `${count}\n`)
  return dir
}

/**
 * Returns the folder holding `count` distinct real-size-ish photo JPEGs (long side 256–640 px), built on first use:
 * each source photo is decoded once (EXIF orientation applied, at most 1024 px), then every variant is a random
 * crop (60–100 % of each side) resized to its size and encoded at quality 70–95 with its number in the EXIF
 * description.
 */
export async function photoFolder(count) {
  const dir = join(CACHE, `photos-${count}`)
  if (existsSync(join(dir, '.complete'))) return dir
  process.stderr.write(`Generating ${count} photos (256–640 px) in ${dir} ...\n`)
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const {default: sharp} = await import('sharp')
  const sources = await decodedPhotos({minSide: 256, maxSide: 1024})
  const random = rng(256)
  const plan = Array.from({length: count}, (_, i) => ({
    i,
    src: sources[i % sources.length],
    fw: 0.6 + random() * 0.4,
    fh: 0.6 + random() * 0.4,
    fx: random(),
    fy: random(),
    side: 256 + Math.floor(random() * 385),
    quality: 70 + Math.floor(random() * 26),
  }))
  const pad = Math.max(4, String(count).length)
  let bytes = 0
  await pool(count, 4, async (k) => {
    const {i, src, fw, fh, fx, fy, side, quality} = plan[k]
    const {width: W, height: H} = src.info
    const width = Math.min(W, Math.max(16, Math.round(W * fw)))
    const height = Math.min(H, Math.max(16, Math.round(H * fh)))
    const buffer = await sharp(src.data, {raw: {width: W, height: H, channels: 3}})
      .extract({left: Math.floor((W - width) * fx), top: Math.floor((H - height) * fy), width, height})
      .resize(side, side, {fit: 'inside'})
      .jpeg({quality})
      .withExif({IFD0: {ImageDescription: `lora bench photo ${i}`}})
      .toBuffer()
    bytes += buffer.length
    writeFileSync(join(dir, `photo-${String(i).padStart(pad, '0')}.jpg`), buffer)
  })
  writeFileSync(join(dir, '.complete'), JSON.stringify({count, bytes, sources: sources.length}) + '\n')
  return dir
}

/** Up to `n` general tags from danbooru.csv (most used first), or a short built-in list without ../shared. */
export function benchTags(n = 2000) {
  const csv = join(SHARED, 'vocab', 'danbooru.csv')
  if (!existsSync(csv)) {
    return [
      '1girl',
      'solo',
      'long hair',
      'smile',
      'looking at viewer',
      'outdoors',
      'sky',
      'tree',
      'cloud',
      'day',
      'blue sky',
      'short hair',
      'brown hair',
      'standing',
      'grass',
      'water',
      'building',
      'scenery',
      'landscape',
      'sunset',
    ]
  }
  const tags = []
  for (const line of readFileSync(csv, 'utf8').split('\n')) {
    const [name, category] = line.split(',')
    if (category === '0') tags.push(name.replace(/_/gu, ' '))
    if (tags.length === n) break
  }
  return tags
}

/**
 * Returns a lora dataset of `count` images (built on first use, with the CLI at `bin`): imageFolder(count)'s
 * files hard-linked (copied across file systems) into bench/.cache/dataset-N/, `lora init --move --trigger ohwx`,
 * then 60 % of the images tagged (6–17 danbooru tags each, via `lora tag --stdin`), 2 % skipped, and the session
 * cursor of `lora next` set half-way, as in a dataset being tagged. Returns {dir, info}.
 */
export async function taggedDataset(count, {bin = BIN} = {}) {
  const dir = join(CACHE, `dataset-${count}`)
  const marker = join(dir, '.complete')
  if (existsSync(marker)) return {dir, info: JSON.parse(readFileSync(marker, 'utf8'))}
  const images = await imageFolder(count)
  const started = Date.now()
  process.stderr.write(`Building a ${count}-image dataset in ${dir} ...\n`)
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  for (const name of readdirSync(images)) {
    if (name === '.complete') continue
    try {
      linkSync(join(images, name), join(dir, name))
    } catch {
      copyFileSync(join(images, name), join(dir, name))
    }
  }
  const lora = (args, input) =>
    execFileSync(process.execPath, [bin, ...args, '-C', dir], {
      input,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'inherit'],
      env: {...process.env, LORA_VIEWER: 'none'},
      maxBuffer: 1 << 30,
    })
  execFileSync(process.execPath, [bin, 'init', dir, '--move', '--trigger', 'ohwx'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const tags = benchTags()
  const random = rng(count)
  const lines = []
  const skipped = []
  for (let n = 1; n <= count; n++) {
    const r = random()
    if (r < 0.6) {
      const chosen = new Set()
      const k = 6 + Math.floor(random() * 12)
      while (chosen.size < k) chosen.add(tags[Math.floor(random() ** 2 * tags.length)])
      lines.push(`${n}\t${[...chosen].join(', ')}`)
    } else if (r < 0.62) skipped.push(String(n))
  }
  lora(['tag', '--stdin'], lines.join('\n') + '\n')
  for (let k = 0; k < skipped.length; k += 2000) lora(['tag', '--skip', ...skipped.slice(k, k + 2000)])
  const state = JSON.parse(readFileSync(join(dir, '.lora-tagger', 'state.json'), 'utf8'))
  const cursor = state.images[Math.floor(count / 2)].id
  writeFileSync(
    join(dir, '.lora-tagger', 'session.json'),
    JSON.stringify({cursor, updatedAt: new Date().toISOString()}, null, 2) + '\n',
  )
  const info = {count, tagged: lines.length, skipped: skipped.length, cursor, seconds: (Date.now() - started) / 1000}
  writeFileSync(marker, JSON.stringify(info) + '\n')
  return {dir, info}
}
