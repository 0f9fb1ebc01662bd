#!/usr/bin/env node
// Benchmark of `lora curate` (issue 15), each figure measured once (the machine is shared; ratios within one run
// hold better than absolute times):
//
//   npm run build && node bench/curate.bench.js [--photos N] [--hashes N] [--skip-findimagedupes]
//
// 1. Grouping 100,000 pHashes (random, with 1,000 planted near pairs) in-process with core/curation-hash.ts
//    groupNear: the time, and the distance computations against all pairs.
// 2. Analysis + grouping of N real-size photos (bench/datasets.js photoFolder: 256–640 px JPEG variants of the
//    shared photos) by `lora curate --json` on a fresh measures cache, against `findimagedupes` (Debian; its default
//    threshold, 90 % similar) on the same files, wall time of one run each.
// 3. A labelled near-duplicate set built from the shared photos: each photo (its long side at most 1024 px) and four
//    variants made here (resized to 60 %, JPEG quality 15, 2 % cropped from each side, brightness × 1.15 at 90 %).
//    True pairs are pairs of one picture's images (the known twins of the shared set are one picture); every
//    other pair is false. Recall and false pairs of lora's groups
//    and findimagedupes' groups (every pair within a group counts as found).
// 4. The cached rerun: `lora curate --json` with every measure cached, against `lora status --json` (hyperfine,
//    5 runs each, same call).
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {photoFolder, rng} from './datasets.js'
import {BIN, CACHE, hasShared, machine, ms, ROOT, SHARED, table, timeCommands} from './lib.js'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(args[i + 1])
}
const PHOTOS = option('photos', 1000)
const HASHES = option('hashes', 100_000)
// `--only labelled`: the labelled set alone (figure 3); `--only grouping`: the 100,000 hashes alone (figure 1).
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined
const withFindimagedupes =
  !args.includes('--skip-findimagedupes') &&
  spawnSync('sh', ['-c', 'command -v findimagedupes'], {stdio: 'ignore'}).status === 0

const {groupNear, HashIndex} = await import(join(ROOT, 'dist', 'core', 'curation-hash.js'))

const rows = []
const results = {machine: machine(), date: new Date().toISOString(), load: readLoad()}

// 1. 100,000 hashes.
if (only === undefined || only === 'grouping') {
  const random = rng(15)
  const hashes = []
  for (let i = 0; i < HASHES; i++) {
    if (i % 100 === 1) {
      const {hi, lo} = hashes[i - 1]
      hashes.push({
        hi: (hi ^ (1 << Math.floor(random() * 32))) >>> 0,
        lo: (lo ^ (1 << Math.floor(random() * 32))) >>> 0,
      })
    } else hashes.push({hi: (random() * 2 ** 32) >>> 0, lo: (random() * 2 ** 32) >>> 0})
  }
  const images = hashes.map((hash, i) => ({id: `i${i}`, n: i, hash, pixels: 1, sharpness: 0}))
  const t = performance.now()
  const index = new HashIndex(hashes)
  const groups = groupNear(images, 10, index)
  const elapsed = performance.now() - t
  const allPairs = (HASHES * (HASHES - 1)) / 2
  results.grouping = {hashes: HASHES, ms: elapsed, groups: groups.length, comparisons: index.comparisons, allPairs}
  rows.push([
    `group ${HASHES.toLocaleString('en')} pHashes (distance ≤ 10)`,
    ms(elapsed),
    `${groups.length} groups; ${(index.comparisons / 1e6).toFixed(1)} M distance computations (all pairs: ${(allPairs / 1e9).toFixed(1)} G)`,
    '≤ 2 s',
    elapsed <= 2000 ? 'pass' : 'miss',
  ])
}

function readLoad() {
  try {
    return execFileSync('cat', ['/proc/loadavg'], {encoding: 'utf8'}).split(' ').slice(0, 3).join(' ')
  } catch {
    return 'unknown'
  }
}

/** A fresh dataset of the images in `from` (hard links where possible), in `dir`. */
function freshDataset(from, dir) {
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  for (const name of readdirSync(from))
    if (!name.startsWith('.')) execFileSync('cp', ['-l', join(from, name), join(dir, name)])
  execFileSync('node', [BIN, 'init', '.', '--link'], {cwd: dir, stdio: 'ignore'})
}

/** Runs a command once and returns its wall time (ms) and stdout. */
function once(command, argv, cwd) {
  const t = performance.now()
  const r = spawnSync(command, argv, {cwd, encoding: 'utf8', maxBuffer: 256 * 2 ** 20})
  const elapsed = performance.now() - t
  if (r.status !== 0 && r.status !== 1) throw new Error(`${command} ${argv.join(' ')} exited ${r.status}: ${r.stderr}`)
  return {elapsed, stdout: r.stdout}
}

/** findimagedupes' groups: one line per group, the files separated by spaces (names hold no space here). */
function findimagedupesGroups(stdout, dir) {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) =>
      l
        .trim()
        .split(/\s+/u)
        .map((p) => p.replace(`${dir}/`, '')),
    )
}

// 2. N photos: analysis + grouping against findimagedupes.
if (only === undefined) {
  const from = await photoFolder(PHOTOS)
  const dir = join(CACHE, `curate-photos-${PHOTOS}`)
  freshDataset(from, dir)
  const lora = once('node', [BIN, 'curate', '--json'], dir)
  const report = JSON.parse(lora.stdout)
  results.photos = {count: PHOTOS, loraMs: lora.elapsed, loraGroups: report.groups.length}
  let fid
  if (withFindimagedupes) {
    fid = once('findimagedupes', [from], from)
    results.photos.findimagedupesMs = fid.elapsed
    results.photos.findimagedupesGroups = findimagedupesGroups(fid.stdout, from).length
  }
  rows.push([
    `analysis + grouping, ${PHOTOS.toLocaleString('en')} photos (256–640 px)`,
    ms(lora.elapsed),
    fid
      ? `findimagedupes ${ms(fid.elapsed)}: lora ${(fid.elapsed / lora.elapsed).toFixed(1)}× faster`
      : 'findimagedupes not run',
    '≥ 3× faster',
    fid ? (fid.elapsed / lora.elapsed >= 3 ? 'pass' : 'miss') : '—',
  ])

  // 4. The cached rerun against lora status.
  const timed = timeCommands(
    {status: `node ${BIN} status --json`, curate: `node ${BIN} curate --json`},
    {runs: 5, warmup: 1, cwd: dir},
  )
  results.cachedRerun = timed
  const ratio = timed.curate.median / timed.status.median
  rows.push([
    `cached rerun, ${PHOTOS.toLocaleString('en')} photos`,
    ms(timed.curate.median),
    `lora status ${ms(timed.status.median)}: ${ratio.toFixed(2)}×`,
    '≤ 1.5×',
    ratio <= 1.5 ? 'pass' : 'miss',
  ])
}

// 3. The labelled near-duplicate set.
if (hasShared && (only === undefined || only === 'labelled')) {
  const {default: sharp} = await import('sharp')
  const dir = join(CACHE, 'curate-labelled-v2')
  const files = join(dir, 'files')
  if (!existsSync(join(dir, '.complete'))) {
    rmSync(dir, {recursive: true, force: true})
    mkdirSync(files, {recursive: true})
    let k = 0
    for (const name of readdirSync(join(SHARED, 'photos')).sort()) {
      let base
      try {
        base = await sharp(join(SHARED, 'photos', name))
          .rotate()
          .resize(1024, 1024, {fit: 'inside', withoutEnlargement: true})
          .removeAlpha()
          .toColourspace('srgb')
          .png()
          .toBuffer()
      } catch {
        continue
      }
      const {width, height} = await sharp(base).metadata()
      if (width < 32 || height < 32) continue
      // One label per picture: the shared photos hold known near-duplicates of one picture (README of
      // ../shared/data: each plasma `-screenshot` and its `-1280x1024` twin; the motorcycle stereo pair).
      const label = name
        .replace(/\.[a-z0-9]+$/u, '')
        .replace(/-(screenshot|\d+x\d+)$/u, '')
        .replace(/_(left|right)$/u, '')
        .replace(/[^a-zA-Z0-9]/gu, '')
      const file = (variant) => join(files, `${label}-${k}-${variant}.jpg`)
      k++
      const dx = Math.round(width * 0.02)
      const dy = Math.round(height * 0.02)
      await sharp(base).jpeg({quality: 92}).toFile(file('0-original'))
      await sharp(base)
        .resize(Math.round(width * 0.6))
        .jpeg({quality: 92})
        .toFile(file('1-small'))
      await sharp(base).jpeg({quality: 15}).toFile(file('2-q15'))
      await sharp(base)
        .extract({left: dx, top: dy, width: width - 2 * dx, height: height - 2 * dy})
        .jpeg({quality: 92})
        .toFile(file('3-crop'))
      await sharp(base)
        .resize(Math.round(width * 0.9))
        .modulate({brightness: 1.15})
        .jpeg({quality: 92})
        .toFile(file('4-bright'))
    }
    writeFileSync(join(dir, '.complete'), '')
  }
  const names = readdirSync(files).sort()
  const labelOf = (name) => name.slice(0, name.indexOf('-'))
  const truePairs = new Set()
  for (let a = 0; a < names.length; a++)
    for (let b = a + 1; b < names.length; b++)
      if (labelOf(names[a]) === labelOf(names[b])) truePairs.add(`${names[a]}|${names[b]}`)
  const score = (groups) => {
    const found = new Set()
    for (const g of groups) {
      const sorted = [...g].sort()
      for (let a = 0; a < sorted.length; a++)
        for (let b = a + 1; b < sorted.length; b++) found.add(`${sorted[a]}|${sorted[b]}`)
    }
    const hits = [...found].filter((p) => truePairs.has(p)).length
    return {recall: hits / truePairs.size, falsePairs: found.size - hits, found: found.size}
  }
  const ds = join(dir, 'dataset')
  freshDataset(files, ds)
  const report = JSON.parse(once('node', [BIN, 'curate', '--json'], ds).stdout)
  const state = JSON.parse(execFileSync('cat', [join(ds, '.lora-tagger', 'state.json')], {encoding: 'utf8'}))
  const source = new Map(state.images.map((i) => [i.id, i.source]))
  const lora = score(report.groups.map((g) => g.images.map((i) => source.get(i.id))))
  results.labelled = {images: names.length, truePairs: truePairs.size, lora}
  let fid
  if (withFindimagedupes) {
    fid = score(findimagedupesGroups(once('findimagedupes', [files], files).stdout, files))
    results.labelled.findimagedupes = fid
  }
  rows.push([
    `labelled near-duplicates (${names.length} images, ${truePairs.size} true pairs)`,
    `recall ${(lora.recall * 100).toFixed(1)} %, ${lora.falsePairs} false pairs`,
    fid
      ? `findimagedupes: recall ${(fid.recall * 100).toFixed(1)} %, ${fid.falsePairs} false pairs`
      : 'findimagedupes not run',
    'recall ≥ findimagedupes, no more false pairs',
    fid ? (lora.recall >= fid.recall && lora.falsePairs <= fid.falsePairs ? 'pass' : 'miss') : '—',
  ])
}

process.stdout.write(`${machine()}; load average ${results.load}\n\n`)
table(['figure', 'lora', 'baseline (same run)', 'target', 'result'], rows)
mkdirSync(CACHE, {recursive: true})
writeFileSync(join(CACHE, 'curate-results.json'), JSON.stringify(results, null, 2) + '\n')
