/**
 * Helpers shared by the reliability tests (test/reliability/*.test.ts). They build on test/e2e/e2e-helpers.ts
 * (running the built CLI with retry on a concurrent rebuild, snapshots, the state/caption consistency check) and
 * add: the fast/full mode switch, the real image sets, a failpoint sweep over any command, the checks every
 * interrupted command must pass afterwards (originals, output, ids, leftovers, state, a no-op rerun), and
 * printing the figures a full run measures.
 *
 * Modes: the default is a fast sample that runs inside `npm test`; `LORA_RELIABILITY_FULL=1` runs everything the
 * specification asks for (every failpoint, 500 kills, 200 rounds, 100,000 property runs) and prints its figures.
 * Temp folders are made under the OS temp folder ($TMPDIR).
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {availableParallelism, tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import {BIN, cleanEnv, FIXTURES, hasShared, ROOT, SHARED_DATA, SHARED_MISSING} from '../helpers.js'
import {
  cleanupTemps,
  isRebuildRace,
  listFiles,
  pool,
  readState,
  retryRebuildRace,
  sha256,
  snapshot,
  stateCaptionProblems,
  type RunResult,
} from '../e2e/e2e-helpers.js'
import {loraInSerial, useCliRoot} from '../in-process.js'

/** Runs through `lora()` are retried on a rebuild race; `spawnLora` callers check it themselves. */
export {isRebuildRace}

export {FIXTURES, SHARED_DATA, SHARED_MISSING, cleanEnv, hasShared, itIf, itShared, requireShared} from '../helpers.js'
export {
  cloneDataset,
  listFiles,
  pool,
  readState,
  readText,
  sha256,
  snapshot,
  stateCaptionProblems,
  tempDir,
} from '../e2e/e2e-helpers.js'
export type {RunResult} from '../e2e/e2e-helpers.js'

/** True in full mode (`LORA_RELIABILITY_FULL=1`). */
export const FULL = process.env.LORA_RELIABILITY_FULL === '1'

/** Picks the fast or the full value. */
export function mode<T>(fast: T, full: T): T {
  return FULL ? full : fast
}

/** How many CLI processes the sweeps run at once. */
export const CONCURRENCY = availableParallelism() + 1

/** Image file names, any case (what `lora init` looks at). */
export const IMAGE_RE = /\.(jpe?g|png|webp|bmp|gif|tiff?|avif)$/iu

/** Prints a test's measured figures on stderr (full mode: they go in the README "Reliability" section). */
export function figures(test: string, values: Record<string, number | string>): void {
  const line = Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? v.toLocaleString('en-US') : v}`)
    .join(', ')
  process.stderr.write(`RELIABILITY ${FULL ? 'full' : 'fast'} | ${test} | ${line}\n`)
}

/** A deterministic PRNG (mulberry32) so that a failing random run can be replayed from its printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The seed of this run: `LORA_RELIABILITY_SEED`, else the time. */
export function seed(): number {
  return Number(process.env.LORA_RELIABILITY_SEED ?? Date.now() % 1_000_000_000)
}

// ---------------------------------------------------------------------------------------------------------------
// The CLI under test

let cliRoot: string | undefined

/** Newest modification time (ms) of any file below `dir`, and how many files there are. */
function treeStamp(dir: string): {newest: number; files: number} {
  let newest = 0
  let files = 0
  for (const entry of fs.readdirSync(dir, {withFileTypes: true, recursive: true})) {
    if (!entry.isFile()) continue
    files++
    newest = Math.max(newest, fs.statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return {newest, files}
}

/**
 * Gives each command bundle of a copied dist/ its original's mtime (to the millisecond, which is what bin/run.js
 * keys its Node 20 code cache by, with the bundle's name and size), so the copy shares the cache of the build it
 * copies instead of replacing it (and every other copy's) on each run. Set half a millisecond in: utimes takes
 * seconds as a float, which may land just below a whole millisecond.
 */
function keepBundleTimes(from: string, to: string): void {
  const commands = join(from, 'bundle', 'commands')
  if (!fs.existsSync(commands)) return
  for (const entry of fs.readdirSync(commands, {recursive: true, encoding: 'utf8'})) {
    if (!entry.endsWith('.cjs')) continue
    const stat = fs.statSync(join(commands, entry))
    fs.utimesSync(join(to, 'bundle', 'commands', entry), stat.atime, (Math.trunc(stat.mtimeMs) + 0.5) / 1000)
  }
}

/**
 * The built CLI these tests run: a private copy of bin/, dist/, package.json and oclif.manifest.json (node_modules
 * linked), taken once per test file from a complete build. Sweeps run thousands of processes over many minutes,
 * and others rebuild dist/ meanwhile (`npm run build` removes it first); a snapshot keeps every run of a sweep on
 * one build. `LORA_RELIABILITY_SHARED_DIST=1` runs bin/run.js in place instead. Removed by `cleanup()`.
 */
export function cliBin(): string {
  if (process.env.LORA_RELIABILITY_SHARED_DIST === '1') return BIN
  if (cliRoot) return join(cliRoot, 'bin', 'run.js')
  for (let attempt = 0; ; attempt++) {
    const dir = fs.mkdtempSync(join(tmpdir(), 'lora-rel-cli-'))
    try {
      const before = treeStamp(join(ROOT, 'dist'))
      const manifest = fs.statSync(join(ROOT, 'oclif.manifest.json')).mtimeMs
      // A complete build: the manifest (written last by `npm run build`) is newer than every file of dist/.
      if (manifest < before.newest || !fs.existsSync(join(ROOT, 'dist', 'commands', 'init.js')))
        throw new Error('dist/ is being rebuilt')
      for (const f of ['package.json', 'oclif.manifest.json']) fs.copyFileSync(join(ROOT, f), join(dir, f))
      fs.cpSync(join(ROOT, 'bin'), join(dir, 'bin'), {recursive: true})
      fs.cpSync(join(ROOT, 'dist'), join(dir, 'dist'), {recursive: true})
      keepBundleTimes(join(ROOT, 'dist'), join(dir, 'dist'))
      fs.symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
      const after = treeStamp(join(ROOT, 'dist'))
      if (
        after.newest !== before.newest ||
        after.files !== before.files ||
        fs.statSync(join(ROOT, 'oclif.manifest.json')).mtimeMs !== manifest
      )
        throw new Error('dist/ changed while copying')
      fs.chmodSync(dir, 0o755)
      cliRoot = dir
      return join(dir, 'bin', 'run.js')
    } catch (error) {
      fs.rmSync(dir, {recursive: true, force: true})
      if (attempt >= 120) throw error
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000)
    }
  }
}

/** afterAll of every reliability test file: ends CLI processes still running, removes temp folders and the CLI copy. */
export async function cleanup(): Promise<void> {
  killChildren()
  await cleanupTemps()
  if (cliRoot) fs.rmSync(cliRoot, {recursive: true, force: true})
  cliRoot = undefined
}

/** Runs the CLI (`cliBin()`) in `cwd` with `input` on stdin; no TTY. Retried when dist/ could not be loaded. */
export async function lora(
  args: string[],
  options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string},
): Promise<RunResult> {
  return retryRebuildRace(() => spawnLora(args, options.cwd, options.env, options.input).done)
}

/**
 * Runs a command of the same CLI copy (`cliBin()`) inside the test process (test/in-process.ts), queued so that
 * runs never overlap. For the follow-ups of a kill (the rerun, a read-only `status`, the no-op rerun): only the run
 * that is killed needs a process of its own, and a follow-up sees a dead process's lock and temp files as the next
 * process would (the pid in them is gone). In-process start-up costs nothing, where a process costs ~0.3 s of CPU.
 */
export async function loraHere(
  args: string[],
  options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string},
): Promise<RunResult> {
  useCliRoot(join(cliBin(), '..', '..'))
  return loraInSerial(args, options)
}

/**
 * Runs a command that must succeed (a setup, or a follow-up) in-process (`loraHere`) and fails (showing its output)
 * unless it exits 0. What needs a process of its own (a kill, a signal, a failpoint, a hang to time out) uses `lora`
 * or `spawnLora`.
 */
export async function loraOk(
  args: string[],
  options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string},
): Promise<RunResult> {
  const result = await loraHere(args, options)
  if (result.code !== 0)
    throw new Error(
      `lora ${args.join(' ')} exited ${result.code} (${result.signal ?? 'no signal'})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
    )
  return result
}

// ---------------------------------------------------------------------------------------------------------------
// Real images

/** The files of ../shared/data/photos that are not usable images (lora lists them as problems). */
export const PHOTO_PROBLEMS = ['skimage-multipage_rgb.tif', 'skimage-truncated.jpg']

/** One original to put in a source folder: where it comes from and its name there. */
export interface SourceImage {
  from: string
  name: string
}

/**
 * Up to `count` usable real images plus the problem files: the usable photos of ../shared/data/photos, then
 * ../shared/data/exif-orientation (rotated JPEGs), `count` of them (an error when there are fewer). Without shared
 * data (a bare clone): the fixture images instead, at most `count` of their 7 usable ones and the truncated JPEG,
 * with a note on stderr; so callers size what they do by `usable.length`, not by `count`.
 */
export function realImages(count: number, what: string): {usable: SourceImage[]; problems: SourceImage[]} {
  if (!hasShared) {
    const names = fs
      .readdirSync(FIXTURES)
      .filter((n) => !n.startsWith('.'))
      .sort()
    const usable = names
      .filter((n) => n !== 'skimage-truncated.jpg')
      .slice(0, count)
      .map((n) => ({from: join(FIXTURES, n), name: n}))
    process.stderr.write(
      `NOTE ${what}: runs on ${usable.length} fixture images, not on ${count} real photos (${SHARED_MISSING})\n`,
    )
    return {usable, problems: [{from: join(FIXTURES, 'skimage-truncated.jpg'), name: 'skimage-truncated.jpg'}]}
  }
  const photos = join(SHARED_DATA, 'photos')
  const exif = join(SHARED_DATA, 'exif-orientation')
  // Small and varied first (so a short list still mixes jpeg, png, gif, webp, tiff and rotated JPEGs).
  const preferred = [
    'plasma-Kite-screenshot.jpg',
    'skimage-horse.png',
    'skimage-no_time_for_that_tiny.gif',
    'skimage-chessboard_GRAY_U16.tif',
    'skimage-palette_color.png',
    'gnome-symbolic-l.webp',
  ]
  // Then by file size, smallest first (name for equal sizes): a fast sweep of 8 takes one more small photo, not a
  // 4096×4096 WebP whose decoding costs every failpoint run of an export ~0.5 s of CPU. Full mode takes them all.
  const size = (n: string) => fs.statSync(join(photos, n)).size
  const rest = fs
    .readdirSync(photos)
    .filter((n) => !PHOTO_PROBLEMS.includes(n) && !preferred.includes(n))
    .sort((a, b) => size(a) - size(b) || (a < b ? -1 : 1))
  const list: SourceImage[] = [...preferred, ...rest].map((n) => ({from: join(photos, n), name: n}))
  const rotated = fs
    .readdirSync(exif)
    .filter((n) => n.endsWith('.jpg'))
    .sort((a, b) => (a.slice(-5) === b.slice(-5) ? (a < b ? -1 : 1) : a.slice(-5) < b.slice(-5) ? -1 : 1))
  // Interleave a rotated JPEG after the first few so that short lists have one too.
  list.splice(5, 0, {
    from: join(exif, rotated.find((n) => n === 'Portrait_6.jpg') ?? rotated[0]),
    name: 'Portrait_6.jpg',
  })
  for (const n of rotated) if (n !== 'Portrait_6.jpg') list.push({from: join(exif, n), name: n})
  if (list.length < count) throw new Error(`only ${list.length} real images, ${count} asked`)
  return {usable: list.slice(0, count), problems: PHOTO_PROBLEMS.map((n) => ({from: join(photos, n), name: n}))}
}

/** Copies images into `dir` (made), writable. */
export async function putImages(dir: string, images: readonly SourceImage[]): Promise<void> {
  await fsp.mkdir(dir, {recursive: true})
  for (const image of images) {
    await fsp.copyFile(image.from, join(dir, image.name))
    await fsp.chmod(join(dir, image.name), 0o644)
  }
}

/** name → sha256 of each file. */
export async function shaByName(images: readonly SourceImage[]): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const image of images) out.set(image.name, await sha256(image.from))
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// Failpoint sweeps

/** What one failpoint run found. */
export interface PointResult {
  n: number
  /** False when the run at N finished without reaching its N-th mutation. */
  killed: boolean
  violations: string[]
}

/** Which N a sweep runs: every N up to `head`, then every `stride`-th, then every N of the last `tail` before the end. */
export interface SweepPlan {
  head: number
  stride: number
  tail: number
  concurrency?: number
  /** Safety stop. */
  max?: number
}

/** Every N (full mode). */
export const EVERY_N: SweepPlan = {head: Number.POSITIVE_INFINITY, stride: 1, tail: 0}

/**
 * Runs `point` for N = 1, 2, ... (per `plan`) until a run completes without being killed, `concurrency` at a time,
 * then every N of the last `tail` before the first completing one. Returns the results sorted by N and that N.
 */
export async function sweep(
  plan: SweepPlan,
  point: (n: number) => Promise<PointResult>,
): Promise<{results: PointResult[]; completesAt: number}> {
  const results: PointResult[] = []
  let completesAt = Number.POSITIVE_INFINITY
  let next = 1
  const max = plan.max ?? 20_000
  const take = () => {
    const n = next
    next += n < plan.head ? 1 : plan.stride
    return n
  }
  async function worker(): Promise<void> {
    for (;;) {
      const n = take()
      if (n > completesAt || n > max) return
      const r = await point(n)
      results.push(r)
      if (r.violations.length > 0) process.stderr.write(`sweep N=${n}: ${r.violations.join(' | ')}\n`)
      if (!r.killed) completesAt = Math.min(completesAt, n)
    }
  }
  await Promise.all(Array.from({length: plan.concurrency ?? CONCURRENCY}, worker))
  const done = new Set(results.map((r) => r.n))
  const tail: number[] = []
  for (let n = Math.max(1, completesAt - plan.tail); n < completesAt; n++) if (!done.has(n)) tail.push(n)
  results.push(...(await pool(tail, plan.concurrency ?? CONCURRENCY, point)))
  for (const r of results) if (!r.killed) completesAt = Math.min(completesAt, r.n)
  return {results: results.filter((r) => r.n <= completesAt).sort((a, b) => a.n - b.n), completesAt}
}

/** Checks the sweep itself: N=1 killed, killed exactly below the completing N, and (full) every N run. */
export function expectSweepShape(results: PointResult[], completesAt: number, atLeast: number, every: boolean): void {
  expect(results[0]).toMatchObject({n: 1, killed: true})
  expect(completesAt).toBeGreaterThan(atLeast)
  expect(completesAt).toBeLessThan(Number.POSITIVE_INFINITY)
  for (const r of results) expect({n: r.n, killed: r.killed}).toEqual({n: r.n, killed: r.n < completesAt})
  if (every)
    expect(results.filter((r) => r.killed).map((r) => r.n)).toEqual(
      Array.from({length: completesAt - 1}, (_, i) => i + 1),
    )
}

/** One line per broken promise, naming the N. */
export function violationsOf(results: PointResult[]): string[] {
  return results.flatMap((r) => r.violations.map((v) => `N=${r.n}: ${v}`))
}

/** A run with `LORA_FAILPOINT=n`: killed (SIGKILL), or finished (exit 0); anything else is a violation. */
export async function failpointRun(
  args: string[],
  cwd: string,
  n: number,
): Promise<{result: RunResult; killed: boolean; violations: string[]}> {
  const result = await lora(args, {cwd, env: {LORA_FAILPOINT: String(n)}})
  if (result.signal === 'SIGKILL') return {result, killed: true, violations: []}
  if (result.signal !== null || result.code !== 0) {
    return {
      result,
      killed: false,
      violations: [
        `\`lora ${args.join(' ')}\` with LORA_FAILPOINT=${n} ended with code ${result.code} signal ${result.signal}, not SIGKILL or 0: ${result.stderr.trim()}`,
      ],
    }
  }
  return {result, killed: false, violations: []}
}

/** Runs a follow-up command in-process (`loraHere`); a violation unless it exits 0. */
export async function mustSucceed(args: string[], cwd: string, what = 'rerun'): Promise<string[]> {
  const r = await loraHere(args, {cwd})
  return r.code === 0
    ? []
    : [`${what} \`lora ${args.join(' ')}\` exited ${r.code} (${r.signal ?? 'no signal'}): ${r.stderr.trim()}`]
}

// ---------------------------------------------------------------------------------------------------------------
// Checks after an interrupted command

/**
 * Files no finished command may leave anywhere below `dir`: temp files (`.lora-tmp-`), the journal, the lock,
 * moved-aside stale locks.
 */
export async function leftovers(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const f of await listFiles(dir)) {
    const name = basename(f)
    if (name.includes('.lora-tmp-')) out.push(`temp file left: ${f}`)
    else if (f === '.lora-tagger/journal.json') out.push('journal.json left')
    else if (f === '.lora-tagger/lock') out.push(`lock left: ${(await fsp.readFile(join(dir, f), 'utf8')).trim()}`)
    else if (/^lock\.stale-/u.test(name)) out.push(`stale lock left: ${f}`)
  }
  return out
}

/** sha256 of every image file directly in `dir`, sorted ([] when `dir` is missing). */
export async function imageShas(dir: string): Promise<string[]> {
  const names = await fsp.readdir(dir).catch(() => [] as string[])
  const out: string[] = []
  for (const name of names)
    if (IMAGE_RE.test(name) && !name.includes('.lora-tmp-')) out.push(await sha256(join(dir, name)))
  return out.sort()
}

/** The parts of state.json that must not depend on when or how often a command ran (no timestamps). */
export async function stableState(dir: string): Promise<unknown> {
  const state = JSON.parse(await fsp.readFile(join(dir, '.lora-tagger', 'state.json'), 'utf8'))
  // mtimeMs (recorded for --link/--move) is the original file's modification time: it differs between copies of a
  // folder made at different times, like updatedAt, so neither is compared.
  return {
    ...state,
    images: state.images.map(({updatedAt: _u, mtimeMs: _m, ...rest}: {updatedAt: unknown; mtimeMs?: unknown}) => rest),
  }
}

/** What differs between two stableState()s, briefly ('' when equal): the first differing key or image record. */
export function stateDiff(expected: unknown, actual: unknown): string {
  if (JSON.stringify(expected) === JSON.stringify(actual)) return ''
  const a = expected as Record<string, unknown>
  const b = (actual ?? {}) as Record<string, unknown>
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- not an object here (typeof checked above)
  if (typeof actual !== 'object') return `state.json: ${String(actual).slice(0, 200)}`
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[key]) === JSON.stringify(b[key])) continue
    if (Array.isArray(a[key]) && Array.isArray(b[key])) {
      const x = a[key] as unknown[]
      const y = b[key] as unknown[]
      for (let i = 0; i < Math.max(x.length, y.length); i++) {
        if (JSON.stringify(x[i]) !== JSON.stringify(y[i]))
          return `state.json ${key}[${i}] is ${JSON.stringify(y[i])?.slice(0, 300)}, an uninterrupted run has ${JSON.stringify(x[i])?.slice(0, 300)} (${y.length} vs ${x.length} entries)`
      }
    }
    return `state.json ${key} is ${JSON.stringify(b[key])?.slice(0, 300)}, an uninterrupted run has ${JSON.stringify(a[key])?.slice(0, 300)}`
  }
  return 'state.json differs'
}

/** Snapshot of a dataset without the files whose content depends on time (state.json, session.json). */
export async function contentSnapshot(dir: string): Promise<Record<string, string>> {
  const snap = await snapshot(dir)
  delete snap['.lora-tagger/state.json']
  delete snap['.lora-tagger/session.json']
  return snap
}

/** Ids must be `<prefix>0001`, `<prefix>0002`, ... in order, each with its file. */
export function idProblems(images: {id: string; file: string}[], prefix = 'img_', pad = 4): string[] {
  const problems: string[] = []
  images.forEach((image, i) => {
    const id = prefix + String(i + 1).padStart(pad, '0')
    if (image.id !== id) problems.push(`id #${i + 1} is ${image.id}, expected ${id} (ids not contiguous)`)
    if (!image.file.startsWith(id + '.')) problems.push(`${image.id} has file ${image.file}`)
  })
  return problems
}

/** Violations of everything a dataset must satisfy at rest: ids, state ↔ captions, each image's sha256, leftovers. */
export async function restingProblems(dir: string): Promise<string[]> {
  const problems: string[] = []
  try {
    const state = await readState(dir)
    problems.push(...idProblems(state.images))
    for (const image of state.images) {
      const sha = await sha256(join(dir, 'output', image.file)).catch(() => 'missing')
      if (sha !== image.sha256)
        problems.push(`${image.file}: ${sha === 'missing' ? 'missing' : 'bytes differ from state.json'}`)
    }
    problems.push(...(await stateCaptionProblems(dir)))
  } catch (error) {
    problems.push(`state.json does not load: ${(error as Error).message}`)
  }
  problems.push(...(await leftovers(dir)))
  return problems
}

/** Runs `args` once more and checks that it changes nothing (by content) in `dirs`. */
export async function noOpRerun(args: string[], cwd: string, dirs: string[]): Promise<string[]> {
  const before = await Promise.all(dirs.map((d) => snapshot(d)))
  const problems = await mustSucceed(args, cwd, 'further rerun')
  const after = await Promise.all(dirs.map((d) => snapshot(d)))
  dirs.forEach((d, i) => {
    const changed = diffSnapshots(before[i], after[i])
    if (changed.length > 0)
      problems.push(
        `further rerun \`lora ${args.join(' ')}\` changed ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', ...' : ''}`,
      )
  })
  return problems
}

/** Paths that differ between two snapshots (added, removed or changed), state.json's timestamps included. */
export function diffSnapshots(a: Record<string, string>, b: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].filter((k) => a[k] !== b[k]).sort()
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

const children = new Set<ChildProcess>()

/** Spawns the CLI (`cliBin()`, no retry), tracked so that `killChildren` can end it. */
export function spawnLora(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  input?: string,
): {child: ChildProcess; done: Promise<RunResult>} {
  const child = spawn(process.execPath, [cliBin(), ...args], {
    cwd,
    env: {...cleanEnv(), ...env},
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  })
  if (input !== undefined) child.stdin!.end(input)
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      children.delete(child)
      resolve({code, signal, stdout, stderr})
    })
  })
  return {child, done}
}

/** Kills every CLI process spawned by `spawnLora` that still runs (afterAll). */
export function killChildren(): void {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
}

/** Runs a shell command; returns its status and output (never throws). */
export function sh(command: string, args: string[]): {ok: boolean; out: string} {
  const r = spawnSync(command, args, {encoding: 'utf8'})
  return {ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim()}
}

/** True when `dir` is a mount point. */
export function isMountPoint(dir: string): boolean {
  return sh('mountpoint', ['-q', dir]).ok
}

// ---------------------------------------------------------------------------------------------------------------
// Many distinct images made from the real photos

/**
 * Writes `count` distinct small images (48×48 crops of a real photo, PNG and JPEG alternately, each marked with its
 * index in black and white blocks along the top edge so that no two have the same bytes) to `dir` as
 * `photo-<i>.<ext>`. Returns their sha256s, sorted. The photo is the fixture plasma-Kite-screenshot.jpg (the same
 * bytes as ../shared/data/photos has; it was taken from there), so the images are the same with or without
 * ../shared.
 */
export async function generateImages(dir: string, count: number): Promise<string[]> {
  const {default: sharp} = await import('sharp')
  const photos = [{from: join(FIXTURES, 'plasma-Kite-screenshot.jpg'), name: 'plasma-Kite-screenshot.jpg'}]
  const bases: Buffer[] = []
  for (const p of photos)
    bases.push(
      await sharp(p.from).rotate().resize(96, 96, {fit: 'cover'}).removeAlpha().toColourspace('srgb').raw().toBuffer(),
    )
  await fsp.mkdir(dir, {recursive: true})
  const shas = new Set<string>()
  for (let i = 0; i < count; i++) {
    const base = bases[i % bases.length]
    const ox = (i * 7) % 48
    const oy = (Math.floor(i / bases.length) * 5) % 48
    const px = Buffer.alloc(48 * 48 * 3)
    for (let y = 0; y < 48; y++) base.copy(px, y * 48 * 3, ((oy + y) * 96 + ox) * 3, ((oy + y) * 96 + ox + 48) * 3)
    // The index as a strip of black and white 4×4 blocks along the top edge: survives JPEG compression.
    for (let bit = 0; bit < 12; bit++) {
      const v = (i >> bit) & 1 ? 255 : 0
      for (let y = 0; y < 4; y++)
        for (let x = bit * 4; x < bit * 4 + 4; x++) px.fill(v, (y * 48 + x) * 3, (y * 48 + x) * 3 + 3)
    }
    const img = sharp(px, {raw: {width: 48, height: 48, channels: 3}})
    const ext = i % 2 === 0 ? 'png' : 'jpg'
    const data = ext === 'png' ? await img.png().toBuffer() : await img.jpeg({quality: 95}).toBuffer()
    const path = join(dir, `photo-${i + 1}.${ext}`)
    await fsp.writeFile(path, data)
    shas.add(await sha256(path))
  }
  if (shas.size !== count) throw new Error(`generated images are not distinct: ${shas.size} of ${count}`)
  return [...shas].sort()
}
