#!/usr/bin/env node
// Issue 14 benchmark: `lora autotag` throughput on 200 real photos with a generated tagger (bench/autotag-model.js:
// `realistic`, 113.6 GFLOP per image at 448×448, a little less than the cheapest WD14 tagger, and `small`, 4.28
// GFLOP), next to bare `session.run` over the same pre-made input tensors (same runtime, same session options, same
// batches), and the peak RSS of lora and its model process.
// Targets (README "Benchmarks"): lora ≥ 0.9 × bare throughput (decoding and resizing overlap inference), peak RSS ≤
// model size + 500 MB. Photos: ../shared/data/photos (else test/fixtures/images), as 200 distinct JPEG variants of
// camera-like size (long side 800–1600 px), cached in bench/.cache/tagger-photos-200/. One run of each: the
// machine may be shared, so the ratio (measured back to back) matters more than the absolute figures. Each model
// gets a lora cache folder of its own: a first run on one batch makes the optimised copy of a large model (its time
// and peak RSS are reported), then the timed run loads that copy.
// Usage: npm run build && node bench/autotag.bench.js [--count 200] [--batch-size 8] [--model-cost realistic|small|both]
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import {decodedPhotos, rng} from './datasets.js'
import {BIN, CACHE, machine, ROOT, table} from './lib.js'
import {convModelFlops, MODEL_COSTS, writeConvModel} from './autotag-model.js'

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name)
  return at > 0 ? process.argv[at + 1] : fallback
}
const COUNT = Number(arg('--count', 200))
const BATCH = Number(arg('--batch-size', 8))
const COST = arg('--model-cost', 'both')
if (![...MODEL_COSTS, 'both'].includes(COST)) throw new Error(`--model-cost: ${MODEL_COSTS.join(', ')} or both`)
const SIZE = 448

/** `count` distinct JPEGs of camera-like size made from the real photos (cached). */
async function taggerPhotos(count) {
  const dir = join(CACHE, `tagger-photos-${count}`)
  if (existsSync(join(dir, '.complete'))) return dir
  process.stderr.write(`Generating ${count} photos (long side 800–1600 px) in ${dir} ...\n`)
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const {default: sharp} = await import('sharp')
  const sources = await decodedPhotos({minSide: 256})
  const random = rng(448)
  for (let i = 0; i < count; i++) {
    const src = sources[i % sources.length]
    const {width: W, height: H} = src.info
    const width = Math.max(16, Math.round(W * (0.7 + random() * 0.3)))
    const height = Math.max(16, Math.round(H * (0.7 + random() * 0.3)))
    const side = 800 + Math.floor(random() * 801)
    const buffer = await sharp(src.data, {raw: {width: W, height: H, channels: 3}})
      .extract({left: Math.floor((W - width) * random()), top: Math.floor((H - height) * random()), width, height})
      .resize(side, side, {fit: 'inside'})
      .jpeg({quality: 80 + Math.floor(random() * 16)})
      .toBuffer()
    writeFileSync(join(dir, `photo-${String(i).padStart(4, '0')}.jpg`), buffer)
  }
  writeFileSync(join(dir, '.complete'), `${count}\n`)
  return dir
}

/** Resident set size (kB) of `pid` and its descendants now (Linux /proc), 0 once gone. */
function treeRssKB(pid) {
  let kb = 0
  try {
    kb = Number(/VmRSS:\s+(\d+)/u.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
    for (const task of readdirSync(`/proc/${pid}/task`))
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean))
        kb += treeRssKB(Number(child))
  } catch {
    // gone meanwhile
  }
  return kb
}

/** Runs a command, sampling the peak RSS of its process tree (sum over the processes) every 20 ms. */
function runSampled(file, args, cwd, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    let peakTreeKB = 0
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setInterval(() => (peakTreeKB = Math.max(peakTreeKB, treeRssKB(child.pid))), 20)
    child.on('error', reject)
    child.on('close', (status) => {
      clearInterval(timer)
      resolve({status, stdout, stderr, peakTreeKB})
    })
  })
}

/** One model cost: lora autotag, then bare session.run, back to back; returns the figures. */
async function measure(cost, photos, work) {
  const model = writeConvModel(join(work, `model-${cost}`), SIZE, 24, cost)
  const modelMB = statSync(join(model, 'model.onnx')).size / 2 ** 20
  const dataset = join(work, `dataset-${cost}`)
  execFileSync('cp', ['-r', photos, dataset])
  rmSync(join(dataset, '.complete'))
  execFileSync(process.execPath, [BIN, 'init', '.'], {cwd: dataset, stdio: ['ignore', 'ignore', 'inherit']})
  const load = [loadavg()[0]]

  // lora: the whole command (start-up, model load, decoding, inference), under GNU time for its CPU time.
  // --dry-run: every image is run through the model and nothing is written (no cache to clear between runs).
  const argv = [
    process.execPath,
    BIN,
    'autotag',
    '--all',
    '--model',
    model,
    '--batch-size',
    String(BATCH),
    '--dry-run',
    '--json',
  ]
  // lora's cache folder of its own (adapters/optimized-model.ts): the first run makes the optimised copy of a model of
  // 64 MiB or more, measured alone on the first batch of images; the timed run below finds it made.
  const env = {...process.env, LORA_CACHE_DIR: join(work, `cache-${cost}`)}
  const firstArgv = [...argv.slice(0, 3), ...Array.from({length: BATCH}, (_, i) => String(i + 1)), ...argv.slice(4)]
  const t1 = performance.now()
  const first = await runSampled('/usr/bin/time', ['-f', 'cpu-s=%U+%S', ...firstArgv], dataset, env)
  const firstMs = performance.now() - t1
  if (first.status !== 0) throw new Error(`lora autotag (first use) failed: ${first.stderr}`)
  if (JSON.parse(first.stdout).inferred !== BATCH) throw new Error(`lora's first use did not infer ${BATCH} images`)
  const firstRssMB = first.peakTreeKB / 1024

  const t0 = performance.now()
  const r = await runSampled('/usr/bin/time', ['-f', 'cpu-s=%U+%S', ...argv], dataset, env)
  const loraMs = performance.now() - t0
  if (r.status !== 0) throw new Error(`lora autotag failed: ${r.stderr}`)
  const report = JSON.parse(r.stdout)
  if (report.inferred !== COUNT) throw new Error(`lora inferred ${report.inferred} of ${COUNT}`)
  // lora and its model process (adapters/model-runtime.ts) together, sampled every 20 ms.
  const rssMB = r.peakTreeKB / 1024
  const [, user, sys] = /cpu-s=([\d.]+)\+([\d.]+)/u.exec(r.stderr)
  const loraCpuMs = (Number(user) + Number(sys)) * 1000
  load.push(loadavg()[0])

  // Bare: the same files made into tensors first by lora's own preprocessing (not timed), then only session.run,
  // batch by batch, with the session options lora uses (adapters/model-runtime.ts TAGGER_SESSION_OPTIONS).
  const bareScript = `
    const ort = await import('onnxruntime-node')
    const {taggerInput} = await import(${JSON.stringify(join(ROOT, 'dist', 'adapters', 'images.js'))})
    const {TAGGER_SESSION_OPTIONS} = await import(${JSON.stringify(join(ROOT, 'dist', 'adapters', 'model-runtime.js'))})
    const {readdirSync} = await import('node:fs')
    const dir = ${JSON.stringify(join(dataset, 'output'))}
    const files = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort()
    const per = ${SIZE * SIZE * 3}
    const batches = []
    for (let i = 0; i < files.length; i += ${BATCH}) {
      const names = files.slice(i, i + ${BATCH})
      const pixels = new Float32Array(names.length * per)
      for (const [k, f] of names.entries()) pixels.set(await taggerInput(dir + '/' + f, ${SIZE}), k * per)
      batches.push(new ort.Tensor('float32', pixels, [names.length, ${SIZE}, ${SIZE}, 3]))
    }
    const session = await ort.InferenceSession.create(${JSON.stringify(join(model, 'model.onnx'))}, {executionProviders: ['cpu'], ...TAGGER_SESSION_OPTIONS})
    const t = performance.now()
    const cpu = process.cpuUsage()
    for (const input_1 of batches) await session.run({input_1})
    const used = process.cpuUsage(cpu)
    console.log(JSON.stringify({images: files.length, ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000}))
  `
  const bare = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', bareScript], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 2 ** 24,
    }),
  )
  if (bare.images !== COUNT) throw new Error(`bare run saw ${bare.images} images`)
  load.push(loadavg()[0])
  return {cost, modelMB, loraMs, loraCpuMs, rssMB, firstMs, firstRssMB, bare, load}
}

const photos = await taggerPhotos(COUNT)
const work = mkdtempSync(join(CACHE, 'autotag-run-'))
try {
  const costs = COST === 'both' ? MODEL_COSTS : [COST]
  const results = []
  for (const cost of costs) results.push(await measure(cost, photos, work))
  console.log(`\nautotag benchmark — ${new Date().toISOString()}, ${machine()}`)
  console.log(`${COUNT} photos (long side 800–1600 px), batch ${BATCH}`)
  for (const {cost, modelMB, loraMs, loraCpuMs, rssMB, firstMs, firstRssMB, bare, load} of results) {
    const loraRate = COUNT / (loraMs / 1000)
    const bareRate = COUNT / (bare.ms / 1000)
    const ratio = loraRate / bareRate
    const rssTarget = modelMB + 500
    console.log(
      `\nmodel ${cost}: ${(convModelFlops(SIZE, cost) / 1e9).toFixed(2)} GFLOP/image, ${modelMB.toFixed(2)} MB; load average ${load.map((l) => l.toFixed(1)).join(' → ')}\n`,
    )
    table(
      ['figure', 'value', 'target', 'result'],
      [
        [
          'lora autotag (whole command: start-up, model load, decoding, inference)',
          `${(loraMs / 1000).toFixed(1)} s, ${loraRate.toFixed(2)} images/s`,
          '—',
          '—',
        ],
        [
          'bare session.run, pre-made tensors',
          `${(bare.ms / 1000).toFixed(1)} s, ${bareRate.toFixed(2)} images/s`,
          '—',
          '—',
        ],
        ['throughput ratio lora / bare', `${ratio.toFixed(2)}×`, '≥ 0.9×', ratio >= 0.9 ? 'pass' : 'miss'],
        [
          'CPU time (user + sys): lora / bare',
          `${(loraCpuMs / 1000).toFixed(1)} s / ${(bare.cpuMs / 1000).toFixed(1)} s`,
          '—',
          '—',
        ],
        [
          'peak RSS, lora autotag + its model process (sum, sampled every 20 ms)',
          `${rssMB.toFixed(0)} MB`,
          `≤ ${rssTarget.toFixed(0)} MB`,
          rssMB <= rssTarget ? 'pass' : 'miss',
        ],
        [
          `first use, ${BATCH} images (the optimised copy made when the model is ≥ 64 MiB): time, peak RSS`,
          `${(firstMs / 1000).toFixed(1)} s, ${firstRssMB.toFixed(0)} MB`,
          `≤ ${rssTarget.toFixed(0)} MB`,
          firstRssMB <= rssTarget ? 'pass' : 'miss',
        ],
      ],
    )
  }
} finally {
  rmSync(work, {recursive: true, force: true})
}
