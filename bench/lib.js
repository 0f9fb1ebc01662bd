// Shared benchmark helpers (plain Node ESM; benchmarks run the built CLI, `npm run build` first).
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync} from 'node:fs'
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
 * spawnSync wall-clock timing. Returns {name: {median, min, max, runs}} in milliseconds.
 */
export function timeCommands(commands, {runs = 10, warmup = 2, prepare, cwd} = {}) {
  if (hasHyperfine) {
    const out = join(tmpdir(), `lora-bench-${process.pid}.json`)
    const args = ['--style', 'none', '--runs', String(runs), '--warmup', String(warmup), '--export-json', out, '-N']
    if (prepare) args.splice(0, 0, '--prepare', prepare)
    // -N (no shell) only works for simple commands; use the shell when a command has pipes or redirections.
    const shellNeeded = Object.values(commands).some((c) => /[|><;&*$]/u.test(c))
    if (shellNeeded) args.splice(args.indexOf('-N'), 1)
    for (const [name, command] of Object.entries(commands)) args.push('-n', name, command)
    execFileSync('hyperfine', args, {cwd, stdio: ['ignore', 'ignore', 'inherit']})
    const json = JSON.parse(readFileSync(out, 'utf8'))
    rmSync(out, {force: true})
    return Object.fromEntries(json.results.map((r) => [r.command, {...stats(r.times.map((t) => t * 1000)), tool: 'hyperfine'}]))
  }
  const result = {}
  for (const [name, command] of Object.entries(commands)) {
    const times = []
    for (let i = 0; i < warmup + runs; i++) {
      if (prepare) spawnSync('sh', ['-c', prepare], {cwd, stdio: 'ignore'})
      const t = process.hrtime.bigint()
      spawnSync('sh', ['-c', command], {cwd, stdio: 'ignore'})
      if (i >= warmup) times.push(Number(process.hrtime.bigint() - t) / 1e6)
    }
    result[name] = {...stats(times), tool: 'spawnSync'}
  }
  return result
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
