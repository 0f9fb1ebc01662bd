#!/usr/bin/env node
// Start-up (issue 18): how long each command takes to answer, as a ratio to `node -e 0` of the same Node measured in
// the same hyperfine call, on Node 20 (this process's node) and on Node 22 (LORA_BENCH_NODE22=/path/to/node; said
// when absent: install it in a scratch folder, e.g. `npm install node@22 --prefix /tmp/node22`, then
// LORA_BENCH_NODE22=/tmp/node22/node_modules/node/bin/node). Also `lora next` to its prompt on screen in a
// pseudo-terminal (node-pty) on a 10,000-image dataset with danbooru.csv imported, how long after the prompt the
// suggestions of a key typed at once are on screen, and the prompt again as `lora next` is used, each run after the
// run before saved a tag (in a scratch copy of that dataset).
//
//   npm run build && node bench/startup.bench.js [--runs N] [--rounds N] [--markdown]
//
// Targets (ratios to node -e 0): next to the prompt ≤ 3.0× (both ways), its first suggestions ≤ 100 ms after the prompt;
// status --json, next --print ≤ 1.5×; tags --json, log -n 5, show 1 --json, validate of a small folder ≤ 2.0×.
// Data: bench/.cache/dataset-1000 and dataset-10000 (bench/datasets.js), a copy of dataset-10000 with
// ../shared/data/vocab/danbooru.csv imported (dataset-10000-vocab; without ../shared the prompt figures are
// skipped, said so), and a small dataset of the test fixtures with history on (dataset-small-git). Prints a table;
// writes bench/startup-results.json.
import {execFileSync, spawnSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import {taggedDataset} from './datasets.js'
import {CACHE, hasShared, machine, ms, ROOT, SHARED, snapshotCli, stats, table, timeCommands} from './lib.js'

const argv = process.argv.slice(2)
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(argv[i + 1])
}
const RUNS = option('runs', 5)
const ROUNDS = option('rounds', 3)
const PROMPT_RUNS = option('prompt-runs', 7)
const note = (text) => process.stderr.write(`[startup] ${text}\n`)

const bin = snapshotCli()
const ds1k = (await taggedDataset(1_000, {bin})).dir
const ds10k = (await taggedDataset(10_000, {bin})).dir
const small = smallGitDataset()
const vocab = hasShared ? vocabularyDataset() : undefined
if (!vocab) note(`no ${SHARED}: the prompt figures (danbooru.csv) are skipped`)

const nodes = [process.execPath]
if (process.env.LORA_BENCH_NODE22) nodes.push(process.env.LORA_BENCH_NODE22)
else
  note(
    'LORA_BENCH_NODE22 is not set: Node 22 is not measured (npm install node@22 --prefix /tmp/node22, then ' +
      'LORA_BENCH_NODE22=/tmp/node22/node_modules/node/bin/node)',
  )

const COMMANDS = [
  {id: 'status', what: 'status --json, 1,000 images', args: ['status', '--json', '-C', ds1k], target: 1.5},
  {id: 'next-print', what: 'next --print, 10,000 images', args: ['next', '--print', '-C', ds10k], target: 1.5},
  {id: 'tags', what: 'tags --json, 1,000 images', args: ['tags', '--json', '-C', ds1k], target: 2.0},
  {id: 'log', what: 'log -n 5 (history on)', args: ['log', '-n', '5', '-C', small], target: 2.0},
  {id: 'show', what: 'show 1 --json, 1,000 images', args: ['show', '1', '--json', '-C', ds1k], target: 2.0},
  {
    id: 'validate',
    what: 'validate, 7 fixture images',
    args: ['validate', join(small, 'output'), '--min-side', '8'],
    target: 2.0,
  },
]

const figures = []
for (const node of nodes) {
  const version = execFileSync(node, ['--version'], {encoding: 'utf8'}).trim()
  note(`${version}: start-up of each command vs node -e 0`)
  const commands = {'node -e 0': `${node} -e 0`}
  for (const c of COMMANDS) commands[c.id] = `${node} ${bin} ${c.args.join(' ')}`
  // A first run of each fills Node 22's compile cache (module.enableCompileCache) as any user's first run does.
  for (const c of COMMANDS) spawnSync(node, [bin, ...c.args], {stdio: 'ignore'})
  const times = timeCommands(commands, {runs: RUNS, warmup: 2, rounds: ROUNDS, ignoreFailure: true})
  const base = times['node -e 0']
  for (const c of COMMANDS) {
    const t = times[c.id]
    figures.push({
      node: version,
      figure: c.what,
      median: t.median,
      min: t.min,
      max: t.max,
      runs: t.runs,
      baseline: base.median,
      ratio: t.median / base.median,
      cpuRatio: t.cpu / base.cpu,
      target: `≤ ${c.target.toFixed(1)}×`,
      pass: t.median / base.median <= c.target,
    })
  }
  if (vocab) {
    note(`${version}: lora next to the prompt in a pty (10,000 images, danbooru.csv imported)`)
    const p = await promptTimes(node, vocab, PROMPT_RUNS)
    figures.push(promptFigure(version, 'next to the prompt (pty), 10,000 images + danbooru.csv', p))
    figures.push({
      node: version,
      figure: 'first key’s suggestions, after the prompt (pty)',
      ...pick(p.suggest),
      baseline: null,
      ratio: null,
      target: '≤ 100 ms',
      pass: p.suggest.median <= 100,
    })
    note(`${version}: lora next to the prompt in a pty after the run before saved a tag (a scratch copy)`)
    const s = await savedPromptTimes(node, vocab, PROMPT_RUNS)
    figures.push(promptFigure(version, 'next to the prompt after a save (pty), 10,000 images + danbooru.csv', s))
  }
}

const header = ['node', 'figure', 'median', 'min–max', 'runs', 'node -e 0', 'ratio', 'CPU ratio', 'target', 'result']
const rows = figures.map((f) => [
  f.node,
  f.figure,
  ms(f.median),
  `${ms(f.min)}–${ms(f.max)}`,
  String(f.runs),
  f.baseline === null ? '—' : ms(f.baseline),
  f.ratio === null ? '—' : `${f.ratio.toFixed(2)}×`,
  f.cpuRatio === undefined ? '—' : `${f.cpuRatio.toFixed(2)}×`,
  f.target,
  f.pass ? 'pass' : 'MISS',
])
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {cwd: ROOT, encoding: 'utf8'}).stdout?.trim()
console.log(
  `\nlora start-up — ${new Date().toISOString().slice(0, 10)}, ${machine()}; build of ${commit}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
table(header, rows)
if (argv.includes('--markdown')) {
  console.log('\n| ' + header.join(' | ') + ' |\n|' + header.map(() => ' --- |').join(''))
  for (const r of rows) console.log('| ' + r.join(' | ') + ' |')
}
writeFileSync(
  join(ROOT, 'bench', 'startup-results.json'),
  JSON.stringify({date: new Date().toISOString(), machine: machine(), commit, loadavg: loadavg(), figures}, null, 2)
    .replaceAll(CACHE, 'bench/.cache')
    .replaceAll(ROOT + '/', '') + '\n',
)
console.log(`\n${figures.filter((f) => f.pass).length}/${figures.length} targets met; bench/startup-results.json`)

function pick({median, min, max, runs}) {
  return {median, min, max, runs}
}

/**
 * `lora next` in a pseudo-terminal (80×40, LORA_VIEWER=none), `runs` times, each after a run of `node -e 0` in the
 * same way (the baseline: from spawn to exit). Per run: from spawn to the prompt's first line on screen (`prompt`),
 * and from then, with `long_ha` typed at once, to `long_hair` of the reference on screen (`suggest`); then Esc.
 */
async function promptTimes(node, dir, runs) {
  const once = (args, onData) => ptyRun(node, args, dir, onData)
  const base = []
  const prompt = []
  const suggest = []
  for (let i = 0; i < runs + 1; i++) {
    const b = await once(['-e', '0'])
    let shown
    let typedAt
    await once([bin, 'next'], (out, t, child) => {
      if (shown === undefined && out.includes('Tags for')) {
        shown = t
        typedAt = out.length
        child.write('long_ha')
      } else if (shown !== undefined && typedAt !== undefined && out.indexOf('long_hair', typedAt) !== -1) {
        if (i > 0) {
          prompt.push(shown)
          suggest.push(t - shown)
          base.push(b)
        }
        typedAt = undefined
        child.write('\x1b')
      }
    })
  }
  return {base: stats(base), prompt: stats(prompt), suggest: stats(suggest)}
}

/** A time-to-prompt figure (`times`: {base, prompt} of promptTimes or savedPromptTimes), target ≤ 3.0× node -e 0. */
function promptFigure(node, figure, times) {
  const ratio = times.prompt.median / times.base.median
  return {node, figure, ...pick(times.prompt), baseline: times.base.median, ratio, target: '≤ 3.0×', pass: ratio <= 3.0}
}

/**
 * Runs `node ...args` in a pseudo-terminal (80×40, LORA_VIEWER=none, CI unset) in `cwd`, calling `onData(output so
 * far, ms since spawn, child)` on each chunk; resolves with the ms from spawn to exit. Rejects when it has not ended
 * after 20 s, and with `mustSucceed` when it exits other than 0.
 */
async function ptyRun(node, args, cwd, onData, {mustSucceed = false} = {}) {
  const pty = await import('node-pty')
  const env = {...process.env, TERM: 'xterm-256color', LORA_VIEWER: 'none'}
  delete env.CI
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = pty.spawn(node, args, {cols: 80, rows: 40, cwd, env})
    let out = ''
    const timer = setTimeout(() => {
      child.kill()
      reject(new Error(`no answer from ${args.join(' ')}: ${out.slice(-400)}`))
    }, 20_000)
    child.onData((data) => {
      out += data
      onData?.(out, performance.now() - t0, child)
    })
    child.onExit(({exitCode}) => {
      clearTimeout(timer)
      if (mustSucceed && exitCode !== 0) reject(new Error(`${args.join(' ')} exited ${exitCode}: ${out.slice(-400)}`))
      else resolve(performance.now() - t0)
    })
  })
}

/**
 * `lora next` as it is used, one process per image: in a scratch copy of `dir` (removed after), `runs` + 1 times (the
 * first not counted), each after a run of `node -e 0` in the same pty: from spawn to the prompt's first line on screen;
 * then `red hair` is typed and the caption saved (Enter, Enter), so that every counted run follows a save.
 */
async function savedPromptTimes(node, dir, runs) {
  const scratch = join(CACHE, 'scratch-next-saves')
  rmSync(scratch, {recursive: true, force: true})
  cpSync(dir, scratch, {recursive: true})
  const once = (args, onData) => ptyRun(node, args, scratch, onData, {mustSucceed: true})
  const base = []
  const prompt = []
  try {
    for (let i = 0; i < runs + 1; i++) {
      const b = await once(['-e', '0'])
      let shown
      let saved = false
      await once([bin, 'next'], (out, t, child) => {
        if (shown === undefined && out.includes('Tags for')) {
          shown = t
          child.write('red hair\r')
        } else if (shown !== undefined && !saved && out.includes('added red hair')) {
          saved = true
          child.write('\r')
        }
      })
      if (i > 0) {
        prompt.push(shown)
        base.push(b)
      }
    }
  } finally {
    rmSync(scratch, {recursive: true, force: true})
  }
  return {base: stats(base), prompt: stats(prompt)}
}

/** A copy of dataset-10000 with danbooru.csv imported as a reference (bench/.cache/dataset-10000-vocab/). */
function vocabularyDataset() {
  const dir = join(CACHE, 'dataset-10000-vocab')
  if (existsSync(join(dir, '.complete'))) return dir
  note(`building ${dir} (once)`)
  rmSync(dir, {recursive: true, force: true})
  cpSync(ds10k, dir, {recursive: true})
  rmSync(join(dir, '.complete'), {force: true})
  execFileSync(process.execPath, [bin, 'tags', 'import', join(SHARED, 'vocab', 'danbooru.csv'), '-C', dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  writeFileSync(join(dir, '.complete'), 'ok\n')
  return dir
}

/** The test fixtures as a dataset with history on and a few commits (bench/.cache/dataset-small-git/). */
function smallGitDataset() {
  const dir = join(CACHE, 'dataset-small-git')
  if (existsSync(join(dir, '.complete'))) return dir
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  cpSync(join(ROOT, 'test', 'fixtures', 'images'), dir, {recursive: true})
  const lora = (...args) =>
    execFileSync(process.execPath, [bin, ...args, '-C', dir], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'bench',
        GIT_AUTHOR_EMAIL: 'bench@example.invalid',
        GIT_COMMITTER_NAME: 'bench',
        GIT_COMMITTER_EMAIL: 'bench@example.invalid',
      },
    })
  execFileSync(process.execPath, [bin, 'init', dir], {stdio: ['ignore', 'ignore', 'inherit']})
  // Its own repository (bench/.cache/ is inside lora's, which ignores it).
  execFileSync('git', ['init', '-q', dir])
  lora('git', 'enable')
  for (const [n, tags] of [
    ['1', 'red hair, smile'],
    ['2', 'tree'],
    ['3', 'sky, cloud'],
  ])
    lora('tag', n, '--add', tags)
  writeFileSync(join(dir, '.complete'), 'ok\n')
  return dir
}
