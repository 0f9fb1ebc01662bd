#!/usr/bin/env node
// Benchmark of `lora validate` (issue 5): 100,000 caption files plus as many small images (header checks), timed
// against `cat` of the same caption files in the same run. Goal: validate ≤ 2× cat.
//
//   npm run build && node bench/validate.bench.js [--count N] [--runs N] [--regenerate]
//
// The data set is generated once and cached in bench/.cache/ (git-ignored): images are real photos from
// ../shared/data/photos (or test/fixtures/images when ../shared is absent) resized small with sharp; every image
// file differs (a unique JPEG COM segment or PNG tEXt chunk is inserted), and captions are drawn from the danbooru
// vocabulary in ../shared/data/vocab (or a short built-in list). Timing uses hyperfine when it is installed, else
// node:child_process over at least 5 runs each (interleaved), reporting median and spread. Not run by `npm test`.
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {cpus, totalmem} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(ROOT, 'bin', 'run.js')
const SHARED = resolve(ROOT, '..', 'shared', 'data')

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(args[i + 1])
}
const COUNT = option('count', 100_000)
const RUNS = Math.max(5, option('runs', 5))
const FOLDERS = 10
const DIR = join(ROOT, 'bench', '.cache', `validate-${COUNT}`)
const MARKER = join(DIR, '.complete')
const VALIDATE_ARGS = ['validate', DIR, '--target', 'kohya', '--min-side', '64']

const FALLBACK_TAGS = [
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
  'mountain',
  'flower',
  'road',
  'city',
  'night',
  'cat',
  'animal',
  'photo',
  'realistic',
  'kite',
]

/** Small deterministic PRNG so that the cached data set is the same on every machine. */
function rng(seed) {
  let s = seed >>> 0
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
}

const CRC_TABLE = Array.from({length: 256}, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** The same JPEG with a unique comment segment after SOI (still a valid JPEG, different bytes). */
function uniqueJpeg(base, i) {
  const text = Buffer.from(`lora bench ${i}`)
  const seg = Buffer.alloc(4 + text.length)
  seg.writeUInt16BE(0xfffe, 0)
  seg.writeUInt16BE(text.length + 2, 2)
  text.copy(seg, 4)
  return Buffer.concat([base.subarray(0, 2), seg, base.subarray(2)])
}

/** The same PNG with a unique tEXt chunk after IHDR (still a valid PNG, different bytes). */
function uniquePng(base, i) {
  const data = Buffer.from(`Comment\0lora bench ${i}`)
  const chunk = Buffer.alloc(12 + data.length)
  chunk.writeUInt32BE(data.length, 0)
  chunk.write('tEXt', 4, 'latin1')
  data.copy(chunk, 8)
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length)
  const afterIhdr = 8 + 25
  return Buffer.concat([base.subarray(0, afterIhdr), chunk, base.subarray(afterIhdr)])
}

async function loadTags() {
  const csv = join(SHARED, 'vocab', 'danbooru.csv')
  if (!fs.existsSync(csv)) return FALLBACK_TAGS
  const tags = []
  for (const line of (await fsp.readFile(csv, 'utf8')).split('\n')) {
    const [name, category] = line.split(',')
    if (category === '0') tags.push(name.replace(/_/gu, ' '))
    if (tags.length === 2000) break
  }
  return tags
}

async function baseImages() {
  const {default: sharp} = await import('sharp')
  const fromShared = fs.existsSync(join(SHARED, 'photos'))
  const from = fromShared ? join(SHARED, 'photos') : join(ROOT, 'test', 'fixtures', 'images')
  const names = fs.readdirSync(from).filter((n) => /\.(jpe?g|png|webp)$/iu.test(n) && !n.includes('truncated'))
  const bases = []
  const random = rng(42)
  for (const name of names) {
    for (let v = 0; v < 12; v++) {
      const side = 96 + Math.floor(random() * 64)
      const image = sharp(join(from, name))
        .rotate()
        .resize(side, Math.round(side * (0.75 + random() * 0.5)), {
          fit: 'cover',
          position: ['centre', 'north', 'south', 'east', 'west'][v % 5],
        })
      const png = v % 4 === 3
      bases.push({
        ext: png ? 'png' : 'jpg',
        data: png
          ? await image.png({compressionLevel: 9, palette: true}).toBuffer()
          : await image.jpeg({quality: 70}).toBuffer(),
      })
    }
  }
  return {bases, from}
}

async function generate() {
  if (fs.existsSync(MARKER) && !args.includes('--regenerate')) return JSON.parse(fs.readFileSync(MARKER, 'utf8'))
  fs.rmSync(DIR, {recursive: true, force: true})
  const started = Date.now()
  process.stderr.write(`Generating ${COUNT} images and captions in ${DIR} ...\n`)
  const tags = await loadTags()
  const {bases, from} = await baseImages()
  const random = rng(7)
  let bytes = 0
  for (let f = 0; f < FOLDERS; f++) fs.mkdirSync(join(DIR, `1_bench${f}`), {recursive: true})
  const writes = []
  for (let i = 0; i < COUNT; i++) {
    const folder = join(DIR, `1_bench${i % FOLDERS}`)
    const base = bases[Math.floor(random() * bases.length)]
    const stem = `img_${String(i).padStart(6, '0')}`
    const image = base.ext === 'png' ? uniquePng(base.data, i) : uniqueJpeg(base.data, i)
    const n = 6 + Math.floor(random() * 12)
    const chosen = new Set(['ohwx'])
    while (chosen.size < n) chosen.add(tags[Math.floor(random() ** 2 * tags.length)])
    const caption = [...chosen].join(', ') + '\n'
    bytes += image.length
    writes.push(
      fsp.writeFile(join(folder, `${stem}.${base.ext}`), image),
      fsp.writeFile(join(folder, `${stem}.txt`), caption),
    )
    if (writes.length >= 512) await Promise.all(writes.splice(0))
  }
  await Promise.all(writes)
  const info = {
    count: COUNT,
    folders: FOLDERS,
    imageBytes: bytes,
    photosFrom: from,
    tagsFrom: tags === FALLBACK_TAGS ? 'built-in list' : 'danbooru.csv',
    seconds: (Date.now() - started) / 1000,
  }
  fs.writeFileSync(MARKER, JSON.stringify(info, null, 2))
  return info
}

const CAT = `find '${DIR}' -name '*.txt' -print0 | xargs -0 cat > /dev/null`
const VALIDATE = `'${process.execPath}' '${BIN}' ${VALIDATE_ARGS.map((a) => `'${a}'`).join(' ')} > /dev/null`

function hasHyperfine() {
  return spawnSync('hyperfine', ['--version'], {stdio: 'ignore'}).status === 0
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return {median, min: sorted[0], max: sorted.at(-1), runs: sorted.length}
}

function timeOnce(command) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync('sh', ['-c', command], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {...process.env, NO_COLOR: '1'},
  })
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  return {seconds, status: r.status, stderr: String(r.stderr)}
}

/** One timed run of `command`; a run that failed (not exit 0 or 4, e.g. dist/ rebuilt meanwhile) is redone. */
function timed(command) {
  for (let attempt = 0; attempt < 10; attempt++) {
    const run = timeOnce(command)
    if (run.status === 0 || run.status === 4) return run.seconds
    process.stderr.write(`run failed (exit ${run.status}), again: ${run.stderr.split('\n')[0]}\n`)
  }
  throw new Error(`${command} keeps failing`)
}

function measure() {
  if (hasHyperfine()) {
    const out = join(DIR, '..', 'hyperfine.json')
    const r = spawnSync(
      'hyperfine',
      ['--warmup', '1', '--runs', String(RUNS), '--export-json', out, '-n', 'cat', CAT, '-n', 'validate', VALIDATE],
      {stdio: 'inherit'},
    )
    if (r.status === 0) {
      const {results} = JSON.parse(fs.readFileSync(out, 'utf8'))
      const pick = (name) => {
        const x = results.find((r) => r.command === name)
        return {...stats(x.times), cpu: x.user + x.system}
      }
      return {tool: 'hyperfine', cat: pick('cat'), validate: pick('validate')}
    }
    process.stderr.write('hyperfine failed (a run exited non-zero); timing with node:child_process instead\n')
  }
  timed(CAT) // warm the page cache
  timed(VALIDATE)
  const cat = []
  const validate = []
  for (let i = 0; i < RUNS; i++) {
    cat.push(timed(CAT))
    validate.push(timed(VALIDATE))
  }
  return {tool: 'node:child_process (interleaved runs)', cat: stats(cat), validate: stats(validate)}
}

const info = await generate()
if (!fs.existsSync(join(ROOT, 'dist', 'commands', 'validate.js'))) {
  console.error('Build first: npm run build')
  process.exit(1)
}
const summary = spawnSync(process.execPath, [BIN, ...VALIDATE_ARGS], {
  encoding: 'utf8',
  env: {...process.env, NO_COLOR: '1'},
})
const result = measure()
const ratio = result.validate.median / result.cat.median
const fmt = (s) => `${s.median.toFixed(3)} s median (min ${s.min.toFixed(3)}, max ${s.max.toFixed(3)}, ${s.runs} runs)`
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`
console.log(
  `\nlora validate benchmark: ${info.count} caption files + ${info.count} images in ${info.folders} kohya folders`,
)
console.log(`  data:      ${DIR} (images from ${info.photosFrom}; tags from ${info.tagsFrom})`)
console.log(`  validate:  ${summary.stderr.trim().split('\n').at(-1)}`)
console.log(`  timing:    ${result.tool}`)
console.log(`  cat:       ${fmt(result.cat)}`)
console.log(`  validate:  ${fmt(result.validate)}`)
console.log(`  ratio:     ${ratio.toFixed(2)}× (goal ≤ 2×)`)
if (result.cat.cpu)
  console.log(
    `  cpu time:  cat ${result.cat.cpu.toFixed(3)} s, validate ${result.validate.cpu.toFixed(3)} s (user + sys, mean): ${(result.validate.cpu / result.cat.cpu).toFixed(2)}×`,
  )
console.log(`  machine:   ${machine}`)
fs.writeFileSync(
  join(ROOT, 'bench', 'results.local.json'),
  JSON.stringify({date: new Date().toISOString(), machine, ...info, ...result, ratio}, null, 2) + '\n',
)
