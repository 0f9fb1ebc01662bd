#!/usr/bin/env node
// Issue 3 benchmark: vocabulary load time, per-keystroke autocomplete latency on the 140,782-tag danbooru.csv,
// and `lora tags rename` over 10,000 captions. Needs ../shared/data (danbooru.csv) and a build (`npm run build`).
import {execFileSync, spawnSync} from 'node:child_process'
import {cpSync, existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {imageFolder} from './datasets.js'
import {BIN, CACHE, hasShared, machine, ms, ROOT, SHARED, stats, table, timeCommands} from './lib.js'

if (!hasShared) {
  console.log('SKIP vocabulary benchmark: ../shared/data (danbooru.csv) is not present')
  process.exit(0)
}
const lora = (args, cwd) =>
  execFileSync(process.execPath, [BIN, ...args], {
    cwd,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {...process.env, LORA_VIEWER: 'none'},
  })
const results = {machine: machine()}

// 1. A dataset with danbooru.csv imported (cached index built by the import).
const work = mkdtempSync(join(tmpdir(), 'lora-bench-vocab-'))
cpSync(join(ROOT, 'test', 'fixtures', 'images', 'skimage-horse.png'), join(work, 'horse.png'))
lora(['init', work])
lora(['tags', 'import', join(SHARED, 'vocab', 'danbooru.csv')], work)

// 2. Vocabulary ready: a fresh process opens the dataset and loads the index (+ fuzzy matcher), as `lora next`
// does before its prompt. Reported from process start, next to `node -e 0`, and as the load step alone.
const probe = `
const t0 = performance.now()
const {openDataset} = await import(${JSON.stringify(join(ROOT, 'dist', 'store', 'dataset.js'))})
const {loadTagIndex} = await import(${JSON.stringify(join(ROOT, 'dist', 'services', 'references.js'))})
const dataset = await openDataset(${JSON.stringify(work)})
const t1 = performance.now()
const index = await loadTagIndex(dataset)
await index.prepareFuzzy()
const t2 = performance.now()
console.log(JSON.stringify({fromStart: t2, loadOnly: t2 - t1, size: index.size}))
`
const samples = []
for (let i = 0; i < 12; i++)
  samples.push(JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe], {encoding: 'utf8'})))
const node = timeCommands({'node -e 0': `${process.execPath} -e 0`}, {runs: 10})['node -e 0']
results.ready = {
  fromProcessStart: stats(samples.map((s) => s.fromStart)),
  loadOnly: stats(samples.map((s) => s.loadOnly)),
  nodeStartup: node,
  tags: samples[0].size,
}

// 3. Keystrokes: 1,000 fixed partial inputs (bench/data/partial-inputs.txt), in one process, as the prompt calls it.
const keystrokes = `
const {openDataset} = await import(${JSON.stringify(join(ROOT, 'dist', 'store', 'dataset.js'))})
const {loadTagIndex} = await import(${JSON.stringify(join(ROOT, 'dist', 'services', 'references.js'))})
const {Suggester} = await import(${JSON.stringify(join(ROOT, 'dist', 'core', 'vocabulary.js'))})
const index = await loadTagIndex(await openDataset(${JSON.stringify(work)}))
await index.prepareFuzzy()
const suggester = new Suggester(['red hair', 'smile', 'long hair', 'blue eyes'], new Map([['red hair', 3], ['smile', 5], ['long hair', 2], ['blue eyes', 1]]), index)
const inputs = ${JSON.stringify(
  readFileSync(join(ROOT, 'bench', 'data', 'partial-inputs.txt'), 'utf8')
    .split('\n')
    .filter(Boolean),
)}
const times = []
for (const input of inputs) { const t = performance.now(); suggester.suggest(input, new Set(), 50); times.push(performance.now() - t) }
console.log(JSON.stringify(times))
`
const times = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', keystrokes], {encoding: 'utf8'}))
results.keystroke = stats(times)

// 4. tags rename over 10,000 captions, against `cat` of the same captions.
const images = await imageFolder(10_000)
const ds = join(CACHE, 'dataset-rename-10000')
if (!existsSync(join(ds, '.lora-tagger', 'state.json'))) {
  rmSync(ds, {recursive: true, force: true})
  cpSync(images, ds, {recursive: true, filter: (p) => !p.endsWith('.complete')})
  lora(['init', ds, '--move'])
  lora(['tag', '-C', ds, '--all', '--add', 'long hair,smile,outdoors'])
}
const rename = timeCommands(
  {
    'cat 10,000 captions': `find ${join(ds, 'output')} -name '*.txt' ! -name tags.txt -print0 | xargs -0 cat > /dev/null`,
    'lora tags rename': `${process.execPath} ${BIN} tags rename -C ${ds} "long hair" long_hair`,
    'I/O floor (bench/floor-replace.js)': `${process.execPath} ${join(ROOT, 'bench', 'floor-replace.js')} ${join(ds, 'output')} "long hair" long_hair`,
    'plain replace loop (bench/floor-replace.js --plain)': `${process.execPath} ${join(ROOT, 'bench', 'floor-replace.js')} --plain ${join(ds, 'output')} "long hair" long_hair`,
  },
  {
    runs: 5,
    warmup: 1,
    prepare: `${process.execPath} ${BIN} tags rename -C ${ds} long_hair "long hair" >/dev/null 2>&1 || true`,
  },
)
results.rename = rename
const floor = rename['I/O floor (bench/floor-replace.js)']
const plainLoop = rename['plain replace loop (bench/floor-replace.js --plain)']

rmSync(work, {recursive: true, force: true})
console.log(`\nVocabulary benchmark (${results.machine}; timer: ${rename['lora tags rename'].tool})\n`)
table(
  ['measure', 'median', 'p99 / max', 'goal', 'baseline (same run)'],
  [
    [
      'vocabulary ready, from process start',
      ms(results.ready.fromProcessStart.median),
      ms(results.ready.fromProcessStart.max),
      '—',
      `node -e 0: ${ms(node.median)}`,
    ],
    [
      'vocabulary load step (index + fuzzy)',
      ms(results.ready.loadOnly.median),
      ms(results.ready.loadOnly.max),
      '≤ 150 ms',
      `${results.ready.tags} tags`,
    ],
    [
      'keystroke filter (1,000 inputs)',
      ms(results.keystroke.median),
      ms(results.keystroke.p99) + ' (p99)',
      'p50, p99 ≤ 5 ms',
      '—',
    ],
    [
      'tags rename, 10,000 captions',
      ms(rename['lora tags rename'].median),
      ms(rename['lora tags rename'].max),
      '≤ 2 s',
      `cat: ${ms(rename['cat 10,000 captions'].median)} (×${(rename['lora tags rename'].median / rename['cat 10,000 captions'].median).toFixed(1)})`,
    ],
    [
      '  I/O floor: same reads + atomic replacements',
      ms(floor.median),
      ms(floor.max),
      '—',
      `lora = ×${(rename['lora tags rename'].median / floor.median).toFixed(2)} the floor`,
    ],
    [
      '  plain loop: one rename at a time, nothing held',
      ms(plainLoop.median),
      ms(plainLoop.max),
      '—',
      `lora = ×${(rename['lora tags rename'].median / plainLoop.median).toFixed(2)} the loop`,
    ],
  ],
)
console.log('\n' + JSON.stringify(results))
