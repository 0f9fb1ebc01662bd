/**
 * Shared test helpers: real temp folders, real fixture images, and running the built CLI (`bin/run.js`).
 * Tests never mock the file system.
 */
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const BIN = join(ROOT, 'bin', 'run.js')
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'images')
/**
 * The project's shared test data (real photos, EXIF orientations, the full danbooru.csv; ../shared/data/README.md):
 * `../shared/data` beside the repository, which a fresh clone does not have. `LORA_SHARED_DATA` overrides it: a
 * folder, or empty for "none" (`.ci/run` reruns the tests that use it that way, to prove they pass on a bare clone).
 */
export const SHARED_DATA = sharedDataDir(process.env.LORA_SHARED_DATA)
/** True when the shared data is there (its photos/ folder exists). */
export const hasShared = fs.existsSync(join(SHARED_DATA, 'photos'))
/** Why the tests that need the shared data do not run here ('' when they do); short: it ends their names. */
export const SHARED_MISSING = hasShared
  ? ''
  : process.env.LORA_SHARED_DATA === undefined
    ? 'needs ../shared/data, not beside this clone'
    : process.env.LORA_SHARED_DATA === ''
      ? 'needs the shared test data, hidden by LORA_SHARED_DATA='
      : `needs the shared test data, not at LORA_SHARED_DATA=${process.env.LORA_SHARED_DATA}`

function sharedDataDir(fromEnv: string | undefined): string {
  if (fromEnv === undefined) return resolve(ROOT, '..', 'shared', 'data')
  // Empty: a folder that cannot exist, so that nothing reaches ../shared by accident.
  return fromEnv === '' ? join(ROOT, 'test', '.no-shared-data', String(process.pid)) : resolve(fromEnv)
}

const skipNotes = new Set<string>()

/** Prints `reason` on stderr once per test file (each jest test file gets its own copy of this module). */
function noteSkip(reason: string): void {
  if (skipNotes.has(reason)) return
  skipNotes.add(reason)
  process.stderr.write(`SKIP (reported as skipped, with this at the end of their names): ${reason}\n`)
}

/**
 * `it`, unless `missing` says what the test needs and does not have: then `it.skip`, reported as skipped (never as
 * passed) with `missing` at the end of its name, and printed once on stderr.
 */
export function itIf(missing: string | undefined, name: string, fn: jest.ProvidesCallback, timeout?: number): void {
  if (!missing) {
    it(name, fn, timeout)
    return
  }
  noteSkip(missing)
  it.skip(`${name} [skipped: ${missing}]`, fn, timeout)
}

/** `it` when the shared test data is present, else a skipped test that names why (see `itIf`). */
export function itShared(name: string, fn: jest.ProvidesCallback, timeout?: number): void {
  itIf(SHARED_MISSING || undefined, name, fn, timeout)
}

/**
 * Prints why a shared-data part is left out (never silently). Returns true when the shared data is present.
 * For whole tests use `itShared` instead, so that they are reported as skipped rather than passed.
 */
export function requireShared(what: string): boolean {
  if (!hasShared) process.stderr.write(`SKIP ${what}: ${SHARED_MISSING}\n`)
  return hasShared
}

/** A fresh temp folder; removed after the test run by `cleanupTemp`. */
export async function makeTemp(prefix = 'lora-test-'): Promise<string> {
  return fsp.mkdtemp(join(tmpdir(), prefix))
}

/** Removes a temp folder (making read-only files removable first). */
export async function removeTemp(dir: string): Promise<void> {
  await fsp.rm(dir, {recursive: true, force: true})
}

/** Makes `path` a sparse file of `size` bytes (zeros; no disk used), for the tests of lora's size caps. */
export async function sparseFile(path: string, size: number): Promise<void> {
  await fsp.writeFile(path, '')
  await fsp.truncate(path, size)
}

/** Copies fixture images (by file name; all when omitted) into `dir`, writable. Returns their names. */
export async function copyFixtures(dir: string, names?: string[], from = FIXTURES): Promise<string[]> {
  const list = names ?? (await fsp.readdir(from)).filter((n) => !n.startsWith('.'))
  await fsp.mkdir(dir, {recursive: true})
  for (const name of list) {
    await fsp.copyFile(join(from, name), join(dir, name))
    await fsp.chmod(join(dir, name), 0o644)
  }
  return list
}

/** The usable fixture images (everything but the truncated JPEG). */
export const GOOD_FIXTURES = [
  'plasma-Autumn-screenshot.jpg',
  'plasma-Kite-screenshot.jpg',
  'plasma-Path-screenshot.jpg',
  'skimage-horse.png',
  'skimage-no_time_for_that_tiny.gif',
  'skimage-page.png',
  'skimage-palette_color.png',
]

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs the built CLI: `node bin/run.js ...args` in `cwd`, with `input` on stdin. No TTY. */
export function runCli(
  args: string[],
  options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string; killAfterMs?: number} = {cwd: ROOT},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: {...cleanEnv(), ...options.env},
      stdio: ['pipe', 'pipe', 'pipe'],
      // A run that may hang (the bug a test looks for) is killed: it then ends with signal SIGKILL.
      ...(options.killAfterMs === undefined ? {} : {timeout: options.killAfterMs, killSignal: 'SIGKILL' as const}),
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => resolvePromise({code, signal, stdout, stderr}))
    child.stdin.end(options.input ?? '')
  })
}

/** The test process's environment without what would change lora's behaviour. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = {...process.env}
  for (const key of ['LORA_DATASET', 'LORA_VIEWER', 'LORA_FAILPOINT', 'FORCE_COLOR', 'NODE_OPTIONS', 'DEBUG'])
    delete env[key]
  env.NO_COLOR = '1'
  env.LORA_VIEWER = 'none'
  return env
}

/** sha256 of a file. */
export async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await fsp.readFile(path))
    .digest('hex')
}

/** sha256 of every file in `dir` whose name matches `filter`, sorted (a multiset). */
export async function shaMultiset(dir: string, filter: (name: string) => boolean): Promise<string[]> {
  const out: string[] = []
  for (const name of await fsp.readdir(dir)) if (filter(name)) out.push(await sha256(join(dir, name)))
  return out.sort()
}

/** Reads and parses the dataset's state.json. */
export async function readState(datasetDir: string): Promise<{
  images: {
    id: string
    file: string
    source: string
    status: string
    tags: string[]
    sha256: string
    bytes: number
    width: number
    height: number
  }[]
  duplicates: {source: string; of: string}[]
  problems: {source: string; reason: string}[]
}> {
  return JSON.parse(await fsp.readFile(join(datasetDir, '.lora-tagger', 'state.json'), 'utf8'))
}
