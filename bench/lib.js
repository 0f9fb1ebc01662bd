// Shared benchmark helpers (plain Node ESM; benchmarks run the built CLI, `npm run build` first).
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {cpus, totalmem, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const BIN = join(ROOT, 'bin', 'run.js')
export const CACHE = join(ROOT, 'bench', '.cache')
export const SHARED = join(ROOT, '..', 'shared', 'data')
export const hasShared = existsSync(join(SHARED, 'photos'))

/** One line describing the machine, for result tables. */
export function machine() {
  return `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`
}

/** Median and spread (min..max) of numbers. */
export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))]
  return {median: q(0.5), p99: q(0.99), min: sorted[0], max: sorted.at(-1), runs: sorted.length}
}

const hasHyperfine = spawnSync('hyperfine', ['--version'], {stdio: 'ignore'}).status === 0

/**
 * Times shell commands over repeated runs with hyperfine (a process-level timer) when installed, else with
 * spawnSync wall-clock timing. Returns {name: {median, p99, min, max, runs, tool, cpu}} in milliseconds
 * (`cpu`: mean user + system time per run, hyperfine only).
 *
 * Options: runs/warmup per command and round; `rounds` repeats the whole set (A, B, A, B, ...) and pools the runs,
 * so that a baseline and the command it is compared with are sampled at the same times on a busy machine;
 * `prepare` runs before every timed run; `ignoreFailure` accepts non-zero exits (e.g. `lora validate` exit 4).
 */
export function timeCommands(commands, {runs = 10, warmup = 2, prepare, cwd, rounds = 1, ignoreFailure = false} = {}) {
  const pooled = Object.fromEntries(Object.keys(commands).map((name) => [name, {times: [], cpu: []}]))
  let tool = 'spawnSync'
  for (let round = 0; round < rounds; round++) {
    const one = hasHyperfine
      ? hyperfineOnce(commands, {runs, warmup: round === 0 ? warmup : Math.min(warmup, 1), prepare, cwd, ignoreFailure})
      : spawnOnce(commands, {runs, warmup, prepare, cwd})
    tool = hasHyperfine ? 'hyperfine' : 'spawnSync'
    for (const [name, r] of Object.entries(one)) {
      pooled[name].times.push(...r.times)
      if (r.cpu !== undefined) pooled[name].cpu.push(r.cpu)
    }
  }
  return Object.fromEntries(
    Object.entries(pooled).map(([name, {times, cpu}]) => [
      name,
      {...stats(times), tool, ...(cpu.length ? {cpu: cpu.reduce((a, b) => a + b, 0) / cpu.length} : {})},
    ]),
  )
}

function hyperfineOnce(commands, {runs, warmup, prepare, cwd, ignoreFailure}) {
  const out = join(tmpdir(), `lora-bench-${process.pid}.json`)
  const args = ['--style', 'none', '--runs', String(runs), '--warmup', String(warmup), '--export-json', out, '-N']
  if (prepare) args.splice(0, 0, '--prepare', prepare)
  if (ignoreFailure) args.splice(0, 0, '--ignore-failure')
  // -N (no shell) only works for simple commands; use the shell when a command has pipes or redirections.
  const shellNeeded = Object.values(commands).some((c) => /[|><;&*$]/u.test(c))
  if (shellNeeded) args.splice(args.indexOf('-N'), 1)
  for (const [name, command] of Object.entries(commands)) args.push('-n', name, command)
  execFileSync('hyperfine', args, {cwd, stdio: ['ignore', 'ignore', 'inherit']})
  const json = JSON.parse(readFileSync(out, 'utf8'))
  rmSync(out, {force: true})
  return Object.fromEntries(
    json.results.map((r) => [r.command, {times: r.times.map((t) => t * 1000), cpu: (r.user + r.system) * 1000}]),
  )
}

function spawnOnce(commands, {runs, warmup, prepare, cwd}) {
  const result = {}
  for (const [name, command] of Object.entries(commands)) {
    const times = []
    for (let i = 0; i < warmup + runs; i++) {
      if (prepare) spawnSync('sh', ['-c', prepare], {cwd, stdio: 'ignore'})
      const t = process.hrtime.bigint()
      spawnSync('sh', ['-c', command], {cwd, stdio: 'ignore'})
      if (i >= warmup) times.push(Number(process.hrtime.bigint() - t) / 1e6)
    }
    result[name] = {times}
  }
  return result
}

const hasGnuTime = spawnSync('/usr/bin/time', ['-f', '%M', 'true'], {stdio: 'ignore'}).status === 0

/**
 * Peak resident set size (MB, 2^20 bytes) of a command (argv array) over `runs` runs: with GNU time
 * (`/usr/bin/time -f %M`, the kernel's ru_maxrss of the child) when installed, else by polling
 * /proc/<pid>/status VmHWM every 2 ms while it runs; `prepare` (a shell command) runs before each run. Returns stats
 * plus `tool`.
 */
export function peakRss(argv, {runs = 5, cwd, prepare} = {}) {
  const values = []
  for (let i = 0; i < runs; i++) {
    if (prepare) spawnSync('sh', ['-c', prepare], {cwd, stdio: 'ignore'})
    if (hasGnuTime) {
      const r = spawnSync('/usr/bin/time', ['-f', 'maxrss-kb=%M', ...argv], {
        cwd,
        encoding: 'utf8',
        stdio: ['ignore', 'ignore', 'pipe'],
        maxBuffer: 64 * 2 ** 20,
      })
      const m = /maxrss-kb=(\d+)/u.exec(r.stderr)
      if (!m) throw new Error(`no RSS from /usr/bin/time for ${argv.join(' ')}: ${r.stderr}`)
      values.push(Number(m[1]) / 1024)
    } else {
      const script = `p=$!; m=0; while kill -0 $p 2>/dev/null; do v=$(awk '/VmHWM/{print $2}' /proc/$p/status 2>/dev/null); [ -n "$v" ] && m=$v; sleep 0.002; done; echo $m`
      const r = spawnSync('sh', ['-c', `"$@" >/dev/null 2>&1 & ${script}`, 'sh', ...argv], {cwd, encoding: 'utf8'})
      values.push(Number(r.stdout.trim()) / 1024)
    }
  }
  return {...stats(values), tool: hasGnuTime ? '/usr/bin/time -f %M (ru_maxrss)' : '/proc/<pid>/status VmHWM polling'}
}

/**
 * A private copy of the built CLI (bin/, dist/, oclif.manifest.json, package.json; node_modules linked), taken once
 * the build in ROOT is complete (the manifest, written last by `npm run build`, is newer than every file in dist/).
 * Benchmarks run this copy, so that a rebuild by someone else meanwhile (`rm -rf dist && tsc ...`) cannot break
 * or skew a run. One copy per build (bench/.cache/cli-<hash>/, reused); copies of other builds older than a day
 * are removed. Returns the path of its bin/run.js.
 */
export function snapshotCli({timeoutMs = 10 * 60_000} = {}) {
  const deadline = Date.now() + timeoutMs
  const sleep = (msec) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, msec)
  for (;;) {
    const before = buildStamp()
    if (before) {
      const dest = join(CACHE, `cli-${createHash('sha256').update(before).digest('hex').slice(0, 10)}`)
      const bin = join(dest, 'bin', 'run.js')
      if (existsSync(join(dest, '.complete'))) return bin
      const tmp = `${dest}.tmp-${process.pid}`
      rmSync(tmp, {recursive: true, force: true})
      mkdirSync(tmp, {recursive: true})
      for (const name of ['bin', 'dist', 'oclif.manifest.json', 'package.json'])
        cpSync(join(ROOT, name), join(tmp, name), {recursive: true})
      symlinkSync(join(ROOT, 'node_modules'), join(tmp, 'node_modules'), 'dir')
      if (buildStamp() === before) {
        writeFileSync(join(tmp, '.complete'), before + '\n')
        try {
          renameSync(tmp, dest)
        } catch {
          rmSync(tmp, {recursive: true, force: true}) // another process made the same copy meanwhile
        }
        for (const name of readdirSync(CACHE)) {
          const path = join(CACHE, name)
          if (name.startsWith('cli-') && path !== dest && Date.now() - statSync(path).mtimeMs > 86_400_000)
            rmSync(path, {recursive: true, force: true})
        }
        return bin
      }
      rmSync(tmp, {recursive: true, force: true})
    }
    if (Date.now() > deadline) throw new Error('No complete build in dist/ (run `npm run build`).')
    sleep(2000)
  }
}

/** "manifest mtime:newest dist mtime:file count" when the build is complete, else undefined. */
function buildStamp() {
  const manifest = join(ROOT, 'oclif.manifest.json')
  const dist = join(ROOT, 'dist')
  try {
    const m = statSync(manifest).mtimeMs
    let newest = 0
    let count = 0
    for (const entry of readdirSync(dist, {recursive: true, withFileTypes: true})) {
      if (!entry.isFile()) continue
      newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs)
      count++
    }
    if (count === 0 || newest > m || !existsSync(join(dist, 'commands', 'status.js'))) return undefined
    return `${m}:${newest}:${count}`
  } catch {
    return undefined
  }
}

/**
 * Summarises V8 .cpuprofile files (from `node --cpu-prof`; several runs of the same command are averaged): self
 * time by function and by where the code lives (a package in node_modules, lora's own dist/, node's internals, or
 * V8's pseudo-frames such as (garbage collector) and (program)), largest first, in milliseconds per run.
 * Each sample counts as one median sampling interval: on a loaded machine a process waiting for a CPU takes no
 * samples, and the next sample's time delta would otherwise charge the whole wait to whatever ran next; so these
 * figures approximate CPU time (`wallMs` is the profiled wall time, waits included). `byOwner` charges each sample
 * to the innermost frame in a package or in lora's code, i.e. module loading to the code that imported it.
 */
export function summarizeCpuProfile(paths, {top = 12} = {}) {
  const files = Array.isArray(paths) ? paths : [paths]
  const fns = new Map()
  const places = new Map()
  const owners = new Map()
  let total = 0
  let wall = 0
  for (const path of files) {
    const profile = JSON.parse(readFileSync(path, 'utf8'))
    const byId = new Map(profile.nodes.map((n) => [n.id, n]))
    const parent = new Map()
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
    // Owner: the innermost frame in a package or in lora's code (node's module loader, natives and GC inside
    // it are charged to the code that asked for them: `require` of a dependency counts for the requiring package).
    const ownerOf = (id) => {
      for (let at = id; at !== undefined; at = parent.get(at)) {
        const {url, functionName} = byId.get(at).callFrame
        const where = placeOf(url, functionName)
        if (url && !url.startsWith('node:') && where !== 'node internals') return where
      }
      return placeOf(byId.get(id).callFrame.url, byId.get(id).callFrame.functionName)
    }
    const deltas = [...profile.timeDeltas].sort((x, y) => x - y)
    const interval = (deltas[deltas.length >> 1] ?? 1000) / 1000
    wall += (profile.endTime - profile.startTime) / 1000
    for (const id of profile.samples) {
      const {functionName, url, lineNumber} = byId.get(id).callFrame
      const where = placeOf(url, functionName)
      const key = `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? ':' + (lineNumber + 1) : ''}`
      total += interval
      fns.set(key, (fns.get(key) ?? 0) + interval)
      places.set(where, (places.get(where) ?? 0) + interval)
      const owner = ownerOf(id)
      owners.set(owner, (owners.get(owner) ?? 0) + interval)
    }
  }
  const n = files.length
  const sorted = (m) =>
    [...m.entries()]
      .sort((x, y) => y[1] - x[1])
      .map(([name, t]) => ({name, ms: Math.round((t / n) * 10) / 10, share: Math.round((t / total) * 1000) / 10}))
  return {
    runs: n,
    totalMs: Math.round(total / n),
    wallMs: Math.round(wall / n),
    byFunction: sorted(fns).slice(0, top),
    byPlace: sorted(places).slice(0, top),
    byOwner: sorted(owners).slice(0, top),
  }
}

function placeOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm !== -1) {
    const rest = url.slice(nm + 14).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  if (url.startsWith('node:')) return 'node internals'
  if (url.includes('/dist/')) return 'lora dist/'
  if (url.includes('/bin/')) return 'lora bin/'
  return url
}

function shortUrl(url) {
  const nm = url.lastIndexOf('/node_modules/')
  if (nm !== -1) return url.slice(nm + 14)
  const d = url.lastIndexOf('/dist/')
  if (d !== -1) return url.slice(d + 1)
  return url.replace(/^file:\/\/.*\/(bin\/)/u, '$1')
}

/** Formats milliseconds. */
export const ms = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + ' ms'

/** Prints a table of rows (arrays of cells). */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String))
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)))
  for (const [k, r] of all.entries()) {
    console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '))
    if (k === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  }
}
