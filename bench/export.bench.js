#!/usr/bin/env node
// Benchmark of `lora export --target` (issue 16), each figure a ratio to a baseline measured in the same run:
// 1. `--max-side 1024 --convert jpg` over 1,000 real photos (1,100–1,600 px JPEGs with EXIF) against `vipsthumbnail`
//    (the same libvips, `-s 1024`, Q 90, metadata stripped) run in parallel (xargs -P <CPUs>) over the same files.
//    Goal: lora ≥ 0.8× vipsthumbnail's throughput.
// 2. An export that changes nothing (1,000 JPEGs ≤ 1,024 px without metadata: every image copied) against
//    `cp -r` of the dataset's output folder (images and captions). Goal: lora ≥ 0.8× cp's throughput. Also against
//    `cp -r && sync -f` (lora flushes before it reports), and `--link` against `cp -al` (the baseline for links).
// 3. Peak RSS of `lora export --zip` of those 1,000 images. Goal: ≤ 200 MB.
//
//   npm run build && node bench/export.bench.js [--count N] [--runs N] [--rounds N] [--only copy]
//
// The photos are made once from ../shared/data/photos (else test/fixtures/images) and cached in bench/.cache/
// (git-ignored), with the two datasets. Each command runs `--runs` times (default 1: the machine is shared) after
// no warm-up, and the whole set `--rounds` times (A B A B ...); hyperfine times them when installed. `--only copy`
// runs part 2 only (the resize comparison is then skipped once the datasets are cached). Not run by `npm test`.
import {execFileSync} from 'node:child_process'
import {existsSync, linkSync, mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, loadavg} from 'node:os'
import {join} from 'node:path'
import {CACHE, machine, ms, peakRss, snapshotCli, table, timeCommands} from './lib.js'
import {decodedPhotos, rng} from './datasets.js'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(args[i + 1])
}
const COUNT = option('count', 1000)
const RUNS = option('runs', 1)
// Rounds of all the commands, A B A B ...: a baseline and lora sampled at the same times on a busy machine.
const ROUNDS = option('rounds', 1)
// `--only copy`: only the export that changes nothing (and --link), the resize comparison and the zip skipped.
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined
const CPUS = cpus().length
const bin = snapshotCli()
const lora = (argv, cwd) =>
  execFileSync(process.execPath, [bin, ...argv], {cwd, stdio: ['pipe', 'ignore', 'inherit'], maxBuffer: 1 << 30})

/** `count` JPEGs of 1,100–1,600 px (random crops of the real photos, qualities 80–92, an EXIF description). */
async function bigPhotos(count) {
  const dir = join(CACHE, `export-photos-${count}`)
  if (existsSync(join(dir, '.complete'))) return dir
  process.stderr.write(`Generating ${count} photos (1,100–1,600 px) in ${dir} ...\n`)
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const {default: sharp} = await import('sharp')
  const sources = await decodedPhotos({minSide: 400})
  const random = rng(1600)
  for (let i = 0; i < count; i++) {
    const src = sources[i % sources.length]
    const {width: W, height: H} = src.info
    const width = Math.max(64, Math.round(W * (0.7 + random() * 0.3)))
    const height = Math.max(64, Math.round(H * (0.7 + random() * 0.3)))
    const side = 1100 + Math.floor(random() * 501)
    const buffer = await sharp(src.data, {raw: {width: W, height: H, channels: 3}})
      .extract({left: Math.floor((W - width) * random()), top: Math.floor((H - height) * random()), width, height})
      .resize(side, side, {fit: 'inside'})
      .jpeg({quality: 80 + Math.floor(random() * 13)})
      .withExif({IFD0: {ImageDescription: `lora export bench ${i}`}})
      .toBuffer()
    writeFileSync(join(dir, `photo-${String(i).padStart(4, '0')}.jpg`), buffer)
  }
  writeFileSync(join(dir, '.complete'), `${count}\n`)
  return dir
}

/** A dataset of the files in `images` (hard links, `lora init --move`), every image tagged "photo, scenery". */
function dataset(name, images) {
  const dir = join(CACHE, name)
  if (existsSync(join(dir, '.complete'))) return dir
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const files = readdirSync(images).filter((n) => n.endsWith('.jpg'))
  for (const f of files) linkSync(join(images, f), join(dir, f))
  lora(['init', '.', '--move', '--trigger', 'ohwx'], dir)
  execFileSync(process.execPath, [bin, 'tag', '--stdin'], {
    cwd: dir,
    input: files.map((_, i) => `${i + 1}\tphoto, scenery`).join('\n') + '\n',
    stdio: ['pipe', 'ignore', 'inherit'],
  })
  writeFileSync(join(dir, '.complete'), '\n')
  return dir
}

const work = join(CACHE, 'export-work')
rmSync(work, {recursive: true, force: true})
mkdirSync(work, {recursive: true})
const vipsOut = join(work, 'vips')
const plainCached = existsSync(join(CACHE, `export-plain-${COUNT}`, '.complete'))
const rows = []

// 1. Resize + convert, against vipsthumbnail in parallel over the same files.
if (ONLY !== 'copy' || !plainCached) {
  const photos = await bigPhotos(COUNT)
  const big = dataset(`export-dataset-${COUNT}`, photos)
  const loraOut = join(work, 'resized')
  const vipsCommand = `rm -rf ${vipsOut} && mkdir ${vipsOut} && ls ${big}/output/*.jpg | xargs -P ${CPUS} -n 25 vipsthumbnail -s 1024 -o '${vipsOut}/%s.jpg[Q=90,strip]'`
  if (ONLY === 'copy') execFileSync('sh', ['-c', vipsCommand], {stdio: 'inherit'})
  else {
    const resize = timeCommands(
      {
        'lora export --max-side 1024 --convert jpg': `rm -rf ${loraOut} && node ${bin} export ${loraOut} --target ai-toolkit --max-side 1024 --convert jpg --quality 90 -C ${big}`,
        'vipsthumbnail -s 1024 (xargs -P)': vipsCommand,
      },
      {runs: RUNS, warmup: 0},
    )
    const [lr, vr] = Object.values(resize)
    rows.push([
      '--max-side 1024 --convert jpg vs vipsthumbnail',
      ms(lr.median),
      ms(vr.median),
      (vr.median / lr.median).toFixed(2),
      '≥ 0.8',
    ])
  }
}

// 2. An export that changes nothing: a dataset of vipsthumbnail's output (≤ 1024 px, no metadata); the default
// (copies) against cp -r, and --link (hard links) against cp -al.
const plain = dataset(`export-plain-${COUNT}`, vipsOut)
const copyOut = join(work, 'copied')
const cpOut = join(work, 'cp')
// Each run starts from the same state: the previous output removed and everything flushed (untimed, --prepare), so
// that neither the removal of flushed files (lora's) nor the write-back of unflushed ones (cp's) lands in another
// command's time.
const copy = timeCommands(
  {
    'lora export (nothing to change)': `node ${bin} export ${copyOut} --target ai-toolkit -C ${plain}`,
    'cp -r output/': `cp -r ${plain}/output ${cpOut}`,
    // lora flushes what it wrote to the disk before it says it is done (sync -f); cp does not.
    'cp -r output/ && sync -f': `cp -r ${plain}/output ${cpOut} && sync -f ${cpOut}`,
    'lora export --link': `node ${bin} export ${copyOut} --target ai-toolkit --link -C ${plain}`,
    'cp -al output/': `cp -al ${plain}/output ${cpOut}`,
    'cp -al output/ && sync -f': `cp -al ${plain}/output ${cpOut} && sync -f ${cpOut}`,
  },
  {runs: RUNS, warmup: 0, rounds: ROUNDS, prepare: `rm -rf ${copyOut} ${cpOut} && sync`},
)
const [lc, cc, cs, ll, cl, cls] = Object.values(copy)
rows.push(
  ['export changing nothing vs cp -r', ms(lc.median), ms(cc.median), (cc.median / lc.median).toFixed(2), '≥ 0.8'],
  ['export changing nothing vs cp -r && sync -f', ms(lc.median), ms(cs.median), (cs.median / lc.median).toFixed(2), ''],
  ['export --link vs cp -al', ms(ll.median), ms(cl.median), (cl.median / ll.median).toFixed(2), ''],
  ['export --link vs cp -al && sync -f', ms(ll.median), ms(cls.median), (cls.median / ll.median).toFixed(2), ''],
)

// 3. Peak RSS of a zip of the 1,000 images.
if (ONLY !== 'copy') {
  const zip = join(work, 'all.zip')
  const rss = peakRss(
    [process.execPath, bin, 'export', zip, '--target', 'ai-toolkit', '--zip', '--force', '-C', plain],
    {runs: RUNS},
  )
  rows.push(['--zip peak RSS', `${rss.max.toFixed(0)} MB`, '', '', '≤ 200 MB'])
}

console.log(
  `export bench, ${COUNT} photos, ${machine()}, ${new Date().toISOString().slice(0, 10)}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at the end`,
)
table(['measure', 'lora', 'baseline', 'ratio (baseline time / lora time)', 'goal'], rows)
rmSync(work, {recursive: true, force: true})
