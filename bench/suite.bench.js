#!/usr/bin/env node
// The benchmark suite (issue 6): every figure is a ratio to a baseline measured in the same run (or an absolute
// figure with its own target), with median and spread over repeated runs. Prints a table at the end and writes
// bench/results.json (committed). `npm run bench` runs it last; alone:
//
//   npm run build && node bench/suite.bench.js [--runs N] [--rounds N] [--no-profile] [--markdown]
//
// Figures (targets are the project's goals):
//   status --json, 1,000 and 100,000 images      vs node -e 0       ≤ 2.0×
//   next --print, 10,000 images                  vs node -e 0       ≤ 3.0×
//   init (copy), 1,000 photos of 256–640 px      vs sha256sum       ≤ 1.5×   (--prepare removes the dataset)
//   validate, 100,000 captions + images          vs cat captions    ≤ 2.0×   (bench/validate.bench.js's data set)
//   autocomplete keystroke p50 / p99, danbooru.csv (140,782 tags)   ≤ 5 ms   (bench/vocabulary.bench.js's method)
//   peak RSS of status --json, 100,000 images                       ≤ 150 MB (/usr/bin/time -f %M)
//
// Timing: hyperfine (process level). A command and its baseline are timed in the same hyperfine call, repeated
// in rounds (A, B, A, B, ...) and pooled, so both are sampled at the same times on a busy machine; the table also
// shows the ratio of CPU time (user + sys), which load on other cores inflates much less than wall time.
// Data sets are generated once and cached in bench/.cache/ (see bench/datasets.js). The CLI timed is a private
// copy of the current build (lib.js snapshotCli), so a concurrent `npm run build` cannot break a run.
// References (not targets): `lora --version` (node + oclif start-up), `cp -r` of the init photos (the floor of any
// copying init), and status on 100,000 images with .lora-tagger/cache/ removed before each run (time and peak RSS:
// the first status after a change, when the summary cache is stale). When a target is missed, the command is profiled with
// `node --cpu-prof` (3 runs, 250 µs sampling; init 1 run) and its self time summarised by function, by package and
// by owner (module loading charged to the importer); the summaries go to results.json too (lib.js
// summarizeCpuProfile counts samples, so waits for a CPU on a loaded machine are not charged to any function).
import {execFileSync, spawnSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {photoFolder, taggedDataset} from './datasets.js'
import {
  CACHE,
  hasShared,
  machine,
  ms,
  peakRss,
  ROOT,
  SHARED,
  snapshotCli,
  stats,
  summarizeCpuProfile,
  table,
  timeCommands,
} from './lib.js'

const started = Date.now()
const argv = process.argv.slice(2)
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(argv[i + 1])
}
const RUNS = option('runs', 5)
const ROUNDS = option('rounds', 3)
const PROFILE = !argv.includes('--no-profile')
const NODE = process.execPath
const loads = [{at: 'start', loadavg: loadavg().map((l) => Math.round(l * 100) / 100)}]
const note = (text) => process.stderr.write(`[suite ${((Date.now() - started) / 1000).toFixed(0)} s] ${text}\n`)

// ---------------------------------------------------------------------------------------------------------------
// Data (cached)
const bin = snapshotCli()
const cliDist = join(dirname(dirname(bin)), 'dist')
note(`CLI: ${bin}`)
const ds1k = await taggedDataset(1_000, {bin})
const ds10k = await taggedDataset(10_000, {bin})
const ds100k = await taggedDataset(100_000, {bin})
const photos = await photoFolder(1_000)
const validateDir = join(CACHE, 'validate-100000')
if (!existsSync(join(validateDir, '.complete'))) {
  note('generating the validate data set with bench/validate.bench.js (once)')
  spawnSync(NODE, [join(ROOT, 'bench', 'validate.bench.js'), '--runs', '5'], {stdio: 'inherit'})
}
const vocabDir = hasShared ? await vocabularyDataset() : undefined
const generated = Date.now()
note(`data ready (${((generated - started) / 1000).toFixed(0)} s)`)

// ---------------------------------------------------------------------------------------------------------------
// Timed part
const lora = (...args) => `${NODE} ${bin} ${args.join(' ')}`
const figures = []
const figure = (f) => figures.push({...f, ratio: f.baseline ? f.median / f.baseline.median : null})
const pick = ({median, min, max, runs, cpu}) => ({median, min, max, runs, ...(cpu === undefined ? {} : {cpu})})
loads.push({at: 'timing', loadavg: loadavg().map((l) => Math.round(l * 100) / 100)})

// 1. Start-up-bound commands against `node -e 0` (and `lora --version`, the oclif floor, for the profile notes).
note('status / next --print vs node -e 0')
const startup = timeCommands(
  {
    'node -e 0': `${NODE} -e 0`,
    'lora --version': lora('--version'),
    'status 1k': lora('status', '--json', '-C', ds1k.dir),
    'status 100k': lora('status', '--json', '-C', ds100k.dir),
    'next 10k': lora('next', '--print', '-C', ds10k.dir),
  },
  {runs: RUNS, warmup: 2, rounds: ROUNDS},
)
const nodeBase = {command: 'node -e 0', ...pick(startup['node -e 0'])}
figure({
  id: 'status-1k',
  figure: 'status --json, 1,000 images',
  command: lora('status', '--json', '-C', ds1k.dir),
  ...pick(startup['status 1k']),
  unit: 'ms',
  baseline: nodeBase,
  target: {max: 2.0, of: 'ratio'},
})
figure({
  id: 'status-100k',
  figure: 'status --json, 100,000 images',
  command: lora('status', '--json', '-C', ds100k.dir),
  ...pick(startup['status 100k']),
  unit: 'ms',
  baseline: nodeBase,
  target: {max: 2.0, of: 'ratio'},
})
figure({
  id: 'next-print-10k',
  figure: 'next --print, 10,000 images',
  command: lora('next', '--print', '-C', ds10k.dir),
  ...pick(startup['next 10k']),
  unit: 'ms',
  baseline: nodeBase,
  target: {max: 3.0, of: 'ratio'},
})

// 1b. Reference: status on 100,000 images with its derived caches removed before each run (.lora-tagger/cache/,
// rebuilt when missing), i.e. the first status after a change, against node -e 0 in the same call.
note('status 100k, caches removed (reference)')
const coldPrepare = `rm -rf ${ds100k.dir}/.lora-tagger/cache`
const cold = timeCommands(
  {'node -e 0': `${NODE} -e 0`, 'status 100k cold': lora('status', '--json', '-C', ds100k.dir)},
  {runs: RUNS, warmup: 1, rounds: 1, prepare: coldPrepare},
)
const coldRss = peakRss([NODE, bin, 'status', '--json', '-C', ds100k.dir], {runs: 3, prepare: coldPrepare})

// 2. init (copy) of 1,000 photos against sha256sum of the same files; the dataset (and cp's copy) is removed
// before each run. `cp -r` of the folder is timed too, as a reference: the floor of any copying init.
note('init vs sha256sum')
const cpDest = join(CACHE, 'photos-cp')
const initCmds = {
  sha256sum: `sha256sum ${photos}/*.jpg > /dev/null`,
  'cp -r': `cp -r ${photos} ${cpDest}`,
  init: `${lora('init', photos)} > /dev/null 2>&1`,
}
const initTimes = timeCommands(initCmds, {
  runs: RUNS + 3,
  warmup: 1,
  rounds: 1,
  prepare: `rm -rf ${photos}/.lora-tagger ${photos}/output ${cpDest}`,
})
for (const path of [join(photos, '.lora-tagger'), join(photos, 'output'), cpDest])
  rmSync(path, {recursive: true, force: true})
const photoBytes = JSON.parse(readFileSync(join(photos, '.complete'), 'utf8')).bytes
const shaBase = {command: initCmds.sha256sum, ...pick(initTimes.sha256sum)}
figure({
  id: 'init-1k',
  figure: `init (copy), 1,000 photos (${(photoBytes / 2 ** 20).toFixed(0)} MB)`,
  command: `${lora('init', photos)} (prepare: rm -rf .lora-tagger output)`,
  ...pick(initTimes.init),
  unit: 'ms',
  baseline: shaBase,
  target: {max: 1.5, of: 'ratio'},
})
const references = [
  {
    id: 'oclif-floor',
    what: 'lora --version: node + oclif start-up, no command run',
    command: lora('--version'),
    ...pick(startup['lora --version']),
    of: nodeBase,
  },
  {
    id: 'status-100k-cold',
    what: 'status --json, 100,000 images, caches removed before each run',
    command: `${lora('status', '--json', '-C', ds100k.dir)} (prepare: ${coldPrepare})`,
    ...pick(cold['status 100k cold']),
    of: {command: 'node -e 0', ...pick(cold['node -e 0'])},
  },
  {
    id: 'cp-1k',
    what: 'cp -r of the 1,000 photos: the floor of any copying init',
    command: initCmds['cp -r'],
    ...pick(initTimes['cp -r']),
    of: shaBase,
  },
]

// 3. validate 100,000 captions + images against cat of the captions (bench/validate.bench.js's data set and commands).
note('validate vs cat')
const validateCmds = {
  cat: `find '${validateDir}' -name '*.txt' -print0 | xargs -0 cat > /dev/null`,
  validate: `${lora('validate', validateDir, '--target', 'kohya', '--min-side', '64')} > /dev/null 2>&1`,
}
const validateTimes = timeCommands(validateCmds, {runs: RUNS, warmup: 1, rounds: 1, ignoreFailure: true})
figure({
  id: 'validate-100k',
  figure: 'validate, 100,000 captions + images',
  command: validateCmds.validate,
  ...pick(validateTimes.validate),
  unit: 'ms',
  baseline: {command: validateCmds.cat, ...pick(validateTimes.cat)},
  target: {max: 2.0, of: 'ratio'},
})

// 4. Autocomplete keystrokes: 1,000 fixed partial inputs in one process, as the prompt calls the suggester
// (bench/vocabulary.bench.js's method), repeated in RUNS processes; p50 and p99 per process.
if (vocabDir) {
  note('keystrokes')
  const probe = `
const {openDataset} = await import(${JSON.stringify(join(cliDist, 'core', 'dataset.js'))})
const {loadTagIndex} = await import(${JSON.stringify(join(cliDist, 'services', 'reference-store.js'))})
const {Suggester} = await import(${JSON.stringify(join(cliDist, 'core', 'vocabulary.js'))})
const index = await loadTagIndex(await openDataset(${JSON.stringify(vocabDir)}))
await index.prepareFuzzy()
const suggester = new Suggester(['red hair', 'smile', 'long hair', 'blue eyes'], new Map([['red hair', 3], ['smile', 5], ['long hair', 2], ['blue eyes', 1]]), index)
const inputs = ${JSON.stringify(
    readFileSync(join(ROOT, 'bench', 'data', 'partial-inputs.txt'), 'utf8')
      .split('\n')
      .filter(Boolean),
  )}
const wall = []
const cpu = []
for (const input of inputs) { const c = process.cpuUsage(); const t = performance.now(); suggester.suggest(input, new Set(), 50); wall.push(performance.now() - t); const u = process.cpuUsage(c); cpu.push((u.user + u.system) / 1000) }
console.log(JSON.stringify({wall, cpu}))
`
  // Per keystroke: wall time (the figure) and the process's CPU time (diagnostic: the part a busy machine's
  // scheduling does not add; it includes GC helper threads).
  const perRun = []
  for (let i = 0; i < RUNS; i++) {
    const {wall, cpu} = JSON.parse(execFileSync(NODE, ['--input-type=module', '-e', probe], {encoding: 'utf8'}))
    perRun.push({wall: stats(wall), cpu: stats(cpu)})
  }
  const keys = perRun[0].wall.runs
  for (const [q, key] of [
    ['p50', 'median'],
    ['p99', 'p99'],
  ]) {
    const s = stats(perRun.map((r) => r.wall[key]))
    const c = stats(perRun.map((r) => r.cpu[key]))
    figure({
      id: `keystroke-${q}`,
      figure: `keystroke ${q}, danbooru.csv (${keys} inputs × ${RUNS} processes)`,
      command:
        'Suggester.suggest(input, new Set(), 50) per partial input (bench/data/partial-inputs.txt), one cold pass per process',
      median: s.median,
      min: s.min,
      max: s.max,
      runs: s.runs,
      unit: 'ms',
      baseline: null,
      target: {max: 5, of: 'value'},
      cpuTime: {median: c.median, min: c.min, max: c.max},
    })
  }
}

// 5. Peak RSS of status on 100,000 images, next to node -e 0's.
note('peak RSS')
const rss = peakRss([NODE, bin, 'status', '--json', '-C', ds100k.dir], {runs: RUNS})
const rssBase = peakRss([NODE, '-e', '0'], {runs: 3})
figure({
  id: 'status-rss-100k',
  figure: 'peak RSS, status --json, 100,000 images',
  command: `/usr/bin/time -f %M ${lora('status', '--json', '-C', ds100k.dir)}`,
  ...pick(rss),
  unit: 'MB',
  baseline: {command: 'node -e 0', ...pick(rssBase)},
  target: {max: 150, of: 'value'},
})
const timedSeconds = (Date.now() - generated) / 1000

// ---------------------------------------------------------------------------------------------------------------
// Verdicts, profiles of the misses, table, results.json
for (const f of figures) {
  const value = f.target.of === 'ratio' ? f.ratio : f.median
  f.pass = value <= f.target.max
  if (f.baseline?.cpu !== undefined && f.cpu !== undefined) f.cpuRatio = f.cpu / f.baseline.cpu
}

const profiles = {}
const profileArgs = {
  'status-1k': ['status', '--json', '-C', ds1k.dir],
  'status-100k': ['status', '--json', '-C', ds100k.dir],
  'status-rss-100k': ['status', '--json', '-C', ds100k.dir],
  'next-print-10k': ['next', '--print', '-C', ds10k.dir],
  'init-1k': ['init', photos],
  'validate-100k': ['validate', validateDir, '--target', 'kohya', '--min-side', '64'],
}
if (PROFILE) {
  const missed = [...new Set(figures.filter((f) => !f.pass && profileArgs[f.id]).map((f) => f.id))]
  for (const id of missed) {
    if (id === 'status-rss-100k' && profiles['status-100k']) continue
    note(`profiling ${id}`)
    const dir = join(tmpdir(), 'lora-bench-prof', id)
    rmSync(dir, {recursive: true, force: true})
    mkdirSync(dir, {recursive: true})
    // Short commands: 3 runs at a 250 µs sampling interval, averaged; init (seconds long): 1 run.
    const times = id === 'init-1k' ? 1 : 3
    for (let i = 0; i < times; i++) {
      if (id === 'init-1k')
        for (const d of ['.lora-tagger', 'output']) rmSync(join(photos, d), {recursive: true, force: true})
      spawnSync(NODE, ['--cpu-prof', '--cpu-prof-interval', '250', `--cpu-prof-dir=${dir}`, bin, ...profileArgs[id]], {
        stdio: 'ignore',
      })
    }
    if (id === 'init-1k')
      for (const d of ['.lora-tagger', 'output']) rmSync(join(photos, d), {recursive: true, force: true})
    const files = readdirSync(dir)
      .filter((n) => n.endsWith('.cpuprofile'))
      .map((n) => join(dir, n))
    if (files.length)
      profiles[id] = {
        command: `node --cpu-prof --cpu-prof-interval 250 ${bin} ${profileArgs[id].join(' ')}`,
        dir,
        ...summarizeCpuProfile(files, {top: 12}),
      }
  }
}

loads.push({at: 'end', loadavg: loadavg().map((l) => Math.round(l * 100) / 100)})
const fmt = (f, v) => (f.unit === 'MB' ? `${v.toFixed(0)} MB` : ms(v))
const targetText = (f) => (f.target.of === 'ratio' ? `≤ ${f.target.max.toFixed(1)}×` : `≤ ${f.target.max} ${f.unit}`)
const baselineText = (f) =>
  f.baseline
    ? `${f.baseline.command.startsWith('find') ? 'cat captions' : f.baseline.command.startsWith('sha256sum') ? 'sha256sum' : f.baseline.command} ${fmt(f, f.baseline.median)}`
    : '—'
const header = ['figure', 'median', 'min–max', 'runs', 'baseline (median)', 'ratio', 'CPU ratio*', 'target', 'result']
const rows = figures.map((f) => [
  f.figure,
  fmt(f, f.median),
  `${fmt(f, f.min)}–${fmt(f, f.max)}`,
  String(f.runs),
  baselineText(f),
  f.ratio === null ? '—' : `${f.ratio.toFixed(2)}×`,
  f.cpuRatio !== undefined ? `${f.cpuRatio.toFixed(2)}×` : f.cpuTime ? `cpu ${ms(f.cpuTime.median)}` : '—',
  targetText(f),
  f.pass ? 'pass' : 'MISS',
])
const tool = `hyperfine ${spawnSync('hyperfine', ['--version'], {encoding: 'utf8'}).stdout?.trim().split(' ')[1] ?? '(not installed: spawnSync timing)'}`
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {cwd: ROOT, encoding: 'utf8'}).stdout?.trim()
// src/ edited since that commit (the build timed may include uncommitted work): `git diff --quiet` exits 1.
const srcChanged = spawnSync('git', ['diff', '--quiet', 'HEAD', '--', 'src'], {cwd: ROOT}).status === 1
const builtAt = new Date(statSync(join(dirname(dirname(bin)), 'oclif.manifest.json')).mtimeMs).toISOString()
const results = {
  date: new Date().toISOString(),
  machine: machine(),
  loadavg: loads,
  tool: {
    timing: `${tool}: each command in the same call as its baseline; start-up figures ${ROUNDS} rounds × ${RUNS} runs, init ${RUNS + 3} runs, validate ${RUNS} runs`,
    rss: rss.tool,
    profile: 'node --cpu-prof (lib.js summarizeCpuProfile)',
    cli: 'a copy of the current build (lib.js snapshotCli)',
  },
  build: {commit: commit || null, srcChangedSinceCommit: srcChanged, builtAt},
  datasets: {
    'status/next': {'1k': ds1k.info, '10k': ds10k.info, '100k': ds100k.info},
    init: {dir: photos, count: 1000, bytes: photoBytes},
    validate: existsSync(join(validateDir, '.complete'))
      ? JSON.parse(readFileSync(join(validateDir, '.complete'), 'utf8'))
      : null,
  },
  figures: figures.map(
    ({
      id,
      figure: name,
      command,
      unit,
      median,
      min,
      max,
      runs,
      cpu,
      cpuTime,
      baseline,
      ratio,
      cpuRatio,
      target,
      pass,
    }) => ({
      id,
      figure: name,
      command,
      unit,
      median: round(median),
      min: round(min),
      max: round(max),
      runs,
      ...(cpu === undefined ? {} : {cpuMean: round(cpu)}),
      baseline: baseline && {
        command: baseline.command,
        median: round(baseline.median),
        min: round(baseline.min),
        max: round(baseline.max),
        runs: baseline.runs,
        ...(baseline.cpu === undefined ? {} : {cpuMean: round(baseline.cpu)}),
      },
      ratio: ratio === null ? null : round(ratio, 2),
      ...(cpuRatio === undefined ? {} : {cpuRatio: round(cpuRatio, 2)}),
      ...(cpuTime === undefined
        ? {}
        : {cpuTime: {median: round(cpuTime.median, 2), min: round(cpuTime.min, 2), max: round(cpuTime.max, 2)}}),
      target: targetText({target, unit}),
      pass,
    }),
  ),
  references: [
    ...references.map((r) => ({
      id: r.id,
      what: r.what,
      unit: 'ms',
      command: r.command,
      median: round(r.median),
      min: round(r.min),
      max: round(r.max),
      runs: r.runs,
      cpuMean: round(r.cpu),
      baseline: r.of.command,
      baselineMedian: round(r.of.median),
      ratio: round(r.median / r.of.median, 2),
    })),
    {
      id: 'status-rss-100k-cold',
      what: 'peak RSS, status --json, 100,000 images, caches removed before each run',
      unit: 'MB',
      command: `/usr/bin/time -f %M ${lora('status', '--json', '-C', ds100k.dir)} (prepare: ${coldPrepare})`,
      median: round(coldRss.median),
      min: round(coldRss.min),
      max: round(coldRss.max),
      runs: coldRss.runs,
    },
  ],
  profiles: Object.fromEntries(
    Object.entries(profiles).map(([id, p]) => [
      id,
      {
        command: p.command,
        runs: p.runs,
        sampledCpuMs: p.totalMs,
        wallMs: p.wallMs,
        byPlace: p.byPlace,
        byOwner: p.byOwner,
        byFunction: p.byFunction,
      },
    ]),
  ),
  seconds: {total: Math.round((Date.now() - started) / 1000), timed: Math.round(timedSeconds)},
}
// Paths in the committed file: relative to the repository (the CLI copy shown as bin/run.js, node as `node`).
const portable = JSON.stringify(results, null, 2)
  .replaceAll(`${NODE} ${bin}`, 'node bin/run.js')
  .replaceAll(bin, 'bin/run.js')
  .replaceAll(NODE, 'node')
  .replaceAll(SHARED, '../shared/data')
  .replaceAll(ROOT + '/', '')
writeFileSync(join(ROOT, 'bench', 'results.json'), portable + '\n')

for (const [id, p] of Object.entries(profiles)) {
  console.log(
    `\nProfile of ${id}: ${p.totalMs} ms sampled CPU, ${p.wallMs} ms wall per run (${p.runs} run(s); ${p.dir})`,
  )
  console.log(
    '  self time by place:    ' +
      p.byPlace
        .slice(0, 8)
        .map((x) => `${x.name} ${x.ms} ms (${x.share} %)`)
        .join(', '),
  )
  console.log(
    '  by owner (module loading charged to the importer): ' +
      p.byOwner
        .slice(0, 8)
        .map((x) => `${x.name} ${x.ms} ms (${x.share} %)`)
        .join(', '),
  )
  console.log('  self time by function:')
  for (const x of p.byFunction.slice(0, 10))
    console.log(`    ${String(x.ms).padStart(7)} ms ${String(x.share).padStart(5)} %  ${x.name}`)
}
console.log(
  `\nlora benchmark suite — ${results.date.slice(0, 10)}, ${results.machine}; build of ${commit}${srcChanged ? ' + uncommitted src/ changes' : ''} (${builtAt})`,
)
console.log(
  `timing: ${results.tool.timing}; RSS: ${rss.tool}; load average (1/5/15 min) at start ${loads[0].loadavg.join(' ')}, at end ${loads.at(-1).loadavg.join(' ')}`,
)
for (const r of references)
  console.log(
    `reference: ${r.what}: ${ms(r.median)} (${(r.median / r.of.median).toFixed(2)}× ${r.of.command.split(' ')[0] === 'sha256sum' ? 'sha256sum' : r.of.command})`,
  )
console.log(
  `reference: peak RSS, status --json, 100,000 images, caches removed before each run: ${coldRss.median.toFixed(0)} MB`,
)
console.log('')
table(header, rows)
if (argv.includes('--markdown')) {
  console.log('\n| ' + header.join(' | ') + ' |\n|' + header.map(() => ' --- |').join(''))
  for (const r of rows) console.log('| ' + r.join(' | ') + ' |')
}
console.log(
  "* CPU ratio: mean user + sys time of the command over its baseline's (hyperfine), less inflated by a busy machine than wall time; for keystrokes, the median per-process p50/p99 of CPU time per keystroke.",
)
console.log(
  `\n${figures.filter((f) => f.pass).length}/${figures.length} targets met; written to bench/results.json; ${results.seconds.total} s in all (${results.seconds.timed} s timed).`,
)

function round(v, digits = 1) {
  return v === undefined || v === null ? v : Math.round(v * 10 ** digits) / 10 ** digits
}

/** A dataset with danbooru.csv imported (its autocomplete index built), cached in bench/.cache/dataset-vocab/. */
async function vocabularyDataset() {
  const dir = join(CACHE, 'dataset-vocab')
  if (existsSync(join(dir, '.complete'))) return dir
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  cpSync(join(ROOT, 'test', 'fixtures', 'images', 'skimage-horse.png'), join(dir, 'horse.png'))
  execFileSync(NODE, [bin, 'init', dir], {stdio: ['ignore', 'ignore', 'inherit']})
  execFileSync(NODE, [bin, 'tags', 'import', join(SHARED, 'vocab', 'danbooru.csv'), '-C', dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  writeFileSync(join(dir, '.complete'), 'ok\n')
  return dir
}
