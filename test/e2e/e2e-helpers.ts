/**
 * Helpers shared by the end-to-end tests (test/e2e/*.test.ts): running the built CLI, temp datasets made by a
 * real `lora init` on the fixture images, snapshots of whole folders (to prove "nothing changed"), and the
 * caption/state consistency checks the crash tests use. No mocks: everything runs the real `bin/run.js` on real
 * files.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join, relative} from 'node:path'
import {copyFixtures, makeTemp, readState, removeTemp, runCli, sha256, type RunResult} from '../helpers.js'

import {loraInSerial} from '../in-process.js'
export {FIXTURES, GOOD_FIXTURES, copyFixtures, readState, sha256, shaMultiset} from '../helpers.js'
export type {RunResult} from '../helpers.js'

/** The truncated JPEG among the fixtures: never imported, never touched. */
export const TRUNCATED = 'skimage-truncated.jpg'

/** Image file names (what `lora init` imports), any case. */
export const IMAGE_RE = /\.(jpe?g|png|webp|bmp|gif|tiff?|avif)$/iu

/**
 * The id, file and header facts `lora init` must record for each fixture, in the natural order of their names
 * (the order they are numbered in).
 */
export const FIXTURE_FACTS = [
  {
    source: 'plasma-Autumn-screenshot.jpg',
    id: 'img_0001',
    file: 'img_0001.jpg',
    width: 400,
    height: 250,
    format: 'jpeg',
  },
  {source: 'plasma-Kite-screenshot.jpg', id: 'img_0002', file: 'img_0002.jpg', width: 400, height: 250, format: 'jpeg'},
  {source: 'plasma-Path-screenshot.jpg', id: 'img_0003', file: 'img_0003.jpg', width: 400, height: 250, format: 'jpeg'},
  {source: 'skimage-horse.png', id: 'img_0004', file: 'img_0004.png', width: 400, height: 328, format: 'png'},
  {
    source: 'skimage-no_time_for_that_tiny.gif',
    id: 'img_0005',
    file: 'img_0005.gif',
    width: 14,
    height: 25,
    format: 'gif',
  },
  {source: 'skimage-page.png', id: 'img_0006', file: 'img_0006.png', width: 384, height: 191, format: 'png'},
  {source: 'skimage-palette_color.png', id: 'img_0007', file: 'img_0007.png', width: 10, height: 10, format: 'png'},
] as const

const temps: string[] = []

/** A fresh temp folder (its real path, so it compares equal to what the CLI prints), removed by `cleanupTemps`. */
export async function tempDir(prefix = 'lora-e2e-'): Promise<string> {
  const dir = await fsp.realpath(await makeTemp(prefix))
  temps.push(dir)
  return dir
}

/** Removes every folder `tempDir` made (call from afterAll). */
export async function cleanupTemps(): Promise<void> {
  for (const dir of temps.splice(0)) await removeTemp(dir)
}

/**
 * True when a run failed only because `dist/` was being rebuilt by someone else at that moment (it could not load
 * its command; nothing ran, nothing was written).
 */
export function isRebuildRace(result: RunResult): boolean {
  return (
    result.code !== 0 &&
    result.signal === null &&
    /ModuleLoadError|MODULE_NOT_FOUND|Cannot find module '[^']*\/dist\/|SyntaxError: The requested module '[^']*' does not provide an export/u.test(
      result.stderr,
    )
  )
}

/**
 * Runs the built CLI (test/helpers `runCli`) in `cwd`. A run that could not even load its command because
 * `dist/` was being rebuilt concurrently (nothing ran, nothing was written) is retried. With `killAfterMs`, a run
 * still going then is killed (it ends with signal SIGKILL), so a hang fails the test instead of stalling it.
 */
export async function lora(
  args: string[],
  options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string; killAfterMs?: number},
): Promise<RunResult> {
  return retryRebuildRace(() => runCli(args, options))
}

/** Runs `run` again (up to 20 times, 0.5 s apart) while its result is a rebuild race (isRebuildRace). */
export async function retryRebuildRace(run: () => Promise<RunResult>): Promise<RunResult> {
  for (let attempt = 0; ; attempt++) {
    const result = await run()
    if (!isRebuildRace(result) || attempt >= 20) return result
    await new Promise((r) => setTimeout(r, 500))
  }
}

/** Runs the CLI and fails (showing its output) unless it exits 0. */
export async function loraOk(
  args: string[],
  options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string},
): Promise<RunResult> {
  const result = await lora(args, options)
  if (result.code !== 0)
    throw new Error(
      `lora ${args.join(' ')} exited ${result.code} (${result.signal ?? 'no signal'})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
    )
  return result
}

/** Runs the CLI with `--json` and parses stdout. */
export async function loraJson<T = any>(
  args: string[],
  options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string},
): Promise<T> {
  const result = await loraOk([...args, '--json'], options)
  return JSON.parse(result.stdout) as T
}

/**
 * A dataset made by `lora init` (copy mode unless `initArgs` say otherwise, run in-process) on fixture images copied
 * into a new temp folder. Returns the dataset folder.
 */
export async function initDataset(options: {names?: string[]; initArgs?: string[]} = {}): Promise<string> {
  const dir = join(await tempDir(), 'imgs')
  await copyFixtures(dir, options.names)
  // A setup, not the thing under test: in-process (no process start-up), queued behind other in-process runs.
  const args = ['init', '.', ...(options.initArgs ?? [])]
  const result = await loraInSerial(args, {cwd: dir})
  if (result.code !== 0) throw new Error(`lora ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
  return dir
}

/** Copies a prepared dataset folder to a new temp folder (a cheap fresh dataset per test). */
export async function cloneDataset(template: string): Promise<string> {
  const dir = join(await tempDir(), 'imgs')
  await fsp.cp(template, dir, {recursive: true})
  return dir
}

/** Every file below `dir` (recursively), as `/`-separated relative paths, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  async function walk(d: string): Promise<void> {
    for (const entry of await fsp.readdir(d, {withFileTypes: true})) {
      const abs = join(d, entry.name)
      if (entry.isDirectory()) await walk(abs)
      else out.push(relative(dir, abs).split('\\').join('/'))
    }
  }
  await walk(dir)
  return out.sort()
}

/** Every folder below `dir`, relative, sorted. */
async function listDirs(dir: string): Promise<string[]> {
  const out: string[] = []
  async function walk(d: string): Promise<void> {
    for (const entry of await fsp.readdir(d, {withFileTypes: true})) {
      if (!entry.isDirectory()) continue
      const abs = join(d, entry.name)
      out.push(relative(dir, abs).split('\\').join('/') + '/')
      await walk(abs)
    }
  }
  await walk(dir)
  return out.sort()
}

/**
 * Every folder and file below `dir` with each file's sha256: equal snapshots mean nothing was changed. Derived
 * caches (`.lora-tagger/cache/`, rebuilt whenever missing or stale) are left out.
 */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const snap: Record<string, string> = {}
  for (const d of await listDirs(dir)) if (!isCache(d)) snap[d] = 'dir'
  for (const f of await listFiles(dir)) if (!isCache(f)) snap[f] = await sha256(join(dir, f))
  return snap
}

/** True for paths inside a dataset's derived caches. */
export function isCache(path: string): boolean {
  return /(^|\/)\.lora-tagger\/cache\//u.test(path)
}

/** A file's text. */
export function readText(path: string): Promise<string> {
  return fsp.readFile(path, 'utf8')
}

/** Inode number of a file. */
export function inode(path: string): number {
  return fs.statSync(path).ino
}

/** Tags in caption text the way lora reads them (split on ",", trimmed, empties dropped). */
export function captionTags(text: string): string[] {
  return text
    .split(/,|\r?\n/u)
    .map((t) => t.trim())
    .filter((t) => t !== '')
}

/** A process that stays alive (for a lock held by a live process); kill it with `.kill()`. */
export function spawnSleeper(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], {stdio: 'ignore'})
}

/** The pid of a process that has already exited. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], {stdio: 'ignore'})
  const pid = child.pid!
  await new Promise((r) => child.on('exit', r))
  return pid
}

/** Runs `fn` over `items` with at most `concurrency` at once; results in input order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({length: Math.min(concurrency, items.length)}, worker))
  return out
}

/**
 * Checks that state.json agrees with the caption files: every image's caption file exists and holds the tags
 * state.json records (in order), and its status is `tagged` exactly when it has tags (unless skipped).
 * Returns the problems found (empty when consistent).
 */
export async function stateCaptionProblems(dataset: string, captionExt = '.txt', output = 'output'): Promise<string[]> {
  const problems: string[] = []
  const state = await readState(dataset)
  for (const image of state.images) {
    const captionPath = join(dataset, output, image.file.replace(/\.[^.]+$/u, '') + captionExt)
    let text: string
    try {
      text = await readText(captionPath)
    } catch {
      problems.push(`${image.id}: caption file missing`)
      continue
    }
    const tags = captionTags(text)
    if (JSON.stringify(tags) !== JSON.stringify(image.tags))
      problems.push(`${image.id}: caption ${JSON.stringify(tags)} but state.json ${JSON.stringify(image.tags)}`)
    if (image.status !== 'skipped' && (image.status === 'tagged') !== tags.length > 0)
      problems.push(`${image.id}: status ${image.status} with tags ${JSON.stringify(tags)}`)
  }
  return problems
}
