#!/usr/bin/env node
// Benchmark of `lora gallery` (issue 17), on 1,000 real photos (bench/datasets.js photoFolder: 256–640 px JPEGs made
// from ../shared/data/photos, or test/fixtures/images without it):
//   from scratch: `lora gallery` (page + 1,000 WebP thumbnails, 256 px) against vipsthumbnail making the same
//     thumbnails (`-s 256x256>`, WebP Q=80, EXIF orientation applied) in as many processes as cores
//     (xargs -P), and in one process; target: lora's throughput ≥ 0.8× vipsthumbnail's (the faster of the two);
//   second run, nothing new: `lora gallery` against `lora status --json` on the same dataset; target ≤ 2×.
//
//   npm run build && node bench/gallery.bench.js [--runs N] [--rerun-only]
//
// Timing: hyperfine (bench/lib.js timeCommands), each set in one call; `--prepare` removes the thumbnails before
// every from-scratch run; the second-run pair is sampled in 3 rounds (A, B, A, B, ...) so that both see the same
// load. CPU ratios (user + sys) are printed too: load from other work inflates them much less than wall time.
// `--rerun-only` measures the second run alone. The CLI timed is a private copy of the build (lib.js snapshotCli). Not run by `npm test`.
import {execFileSync, spawnSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, loadavg} from 'node:os'
import {join} from 'node:path'
import {photoFolder} from './datasets.js'
import {CACHE, machine, ms, snapshotCli, table, timeCommands} from './lib.js'

const args = process.argv.slice(2)
const runsAt = args.indexOf('--runs')
const RUNS = runsAt === -1 ? 3 : Math.max(1, Number(args[runsAt + 1]))
const NODE = process.execPath
const COUNT = 1000

if (spawnSync('vipsthumbnail', ['--version'], {stdio: 'ignore'}).status !== 0) {
  console.error('vipsthumbnail is not installed (apt-get install libvips-tools); nothing measured.')
  process.exit(1)
}
const bin = snapshotCli()
const photos = await photoFolder(COUNT)

// The dataset: the photos imported once (cached in bench/.cache/gallery-1000/).
const dir = join(CACHE, `gallery-${COUNT}`)
if (!existsSync(join(dir, '.complete'))) {
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  cpSync(photos, dir, {recursive: true, filter: (src) => !src.endsWith('.complete')})
  execFileSync(NODE, [bin, 'init', dir, '--move'], {stdio: ['ignore', 'ignore', 'inherit']})
  writeFileSync(join(dir, '.complete'), `${COUNT}\n`)
}
const output = join(dir, 'output')
const images = readdirSync(output).filter((n) => n.endsWith('.jpg')).length
const gallery = join(dir, '.lora-tagger', 'gallery')
const vipsOut = join(CACHE, 'gallery-vips')
const cores = availableParallelism()
const lora = (...a) => [NODE, bin, ...a].map((s) => `'${s}'`).join(' ')
const vips = `vipsthumbnail -s '256x256>' -o '${vipsOut}/%s.webp[Q=80]'`

const load = loadavg()[0].toFixed(1)
const rerunOnly = args.includes('--rerun-only')
const scratch = rerunOnly
  ? {}
  : timeCommands(
      {
        [`vipsthumbnail ×${cores} (xargs -P)`]: `cd '${output}' && ls *.jpg | xargs -P ${cores} -n 50 ${vips}`,
        'vipsthumbnail (one process)': `cd '${output}' && ${vips} *.jpg`,
        'lora gallery': `${lora('gallery', '-C', dir, '--json')} > /dev/null`,
      },
      {runs: RUNS, warmup: 1, prepare: `rm -rf '${gallery}' '${vipsOut}' && mkdir -p '${vipsOut}'`},
    )
if (rerunOnly) execFileSync(NODE, [bin, 'gallery', '-C', dir], {stdio: 'ignore'})
const made = readdirSync(join(gallery, 'thumbs')).length
const again = timeCommands(
  {
    'lora status --json': `${lora('status', '--json', '-C', dir)} > /dev/null`,
    'lora gallery (nothing new)': `${lora('gallery', '-C', dir, '--json')} > /dev/null`,
  },
  {runs: RUNS + 2, warmup: 1, rounds: 3},
)
rmSync(vipsOut, {recursive: true, force: true})

const vipsBest = rerunOnly
  ? NaN
  : Math.min(scratch[`vipsthumbnail ×${cores} (xargs -P)`].median, scratch['vipsthumbnail (one process)'].median)
const throughput = rerunOnly ? NaN : vipsBest / scratch['lora gallery'].median
const rerun = again['lora gallery (nothing new)'].median / again['lora status --json'].median
const rerunCpu = again['lora gallery (nothing new)'].cpu / again['lora status --json'].cpu
console.log(`\n${machine()}, load average ${load} at the start; ${images} photos, ${made} thumbnails`)
table(
  ['command', 'median', 'min–max', 'runs', 'CPU (user+sys)'],
  [...Object.entries(scratch), ...Object.entries(again)].map(([name, r]) => [
    name,
    ms(r.median),
    `${ms(r.min)}–${ms(r.max)}`,
    r.runs,
    r.cpu === undefined ? '—' : ms(r.cpu),
  ]),
)
if (!rerunOnly)
  console.log(
    `\nthroughput vs vipsthumbnail (faster of the two): ${throughput.toFixed(2)}× (target ≥ 0.8×: ${throughput >= 0.8 ? 'pass' : 'miss'})`,
  )
console.log(
  `second run vs lora status: ${rerun.toFixed(2)}× wall, ${rerunCpu.toFixed(2)}× CPU (target ≤ 2×: ${rerun <= 2 ? 'pass' : 'miss'})`,
)
