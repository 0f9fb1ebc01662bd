/**
 * Helpers of the dataset-history tests (test/commands/git.test.ts in-process, test/e2e/git.test.ts through the
 * binary): a fixed git identity and configuration, running the real `git`, and reading commits.
 *
 * Identity and configuration of git are fixed through the environment (lora passes these variables to git), so
 * the machine's own git configuration does not leak in.
 */
import {execFile} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {cleanEnv} from './helpers.js'
import {loraIn} from './in-process.js'
import {snapshot, tempDir} from './e2e/e2e-helpers.js'
import type {RunResult} from './helpers.js'

/** U+2212 MINUS SIGN: how lora writes a removed tag in commit subjects and `lora log`. */
export const MINUS = '\u2212'
/** U+2192 RIGHTWARDS ARROW: `tags rename "old" → "new"` in commit subjects. */
export const ARROW = '\u2192'
/** U+2014 EM DASH: `lora: init — N images`. */
export const DASH = '\u2014'

/** Who commits, and no system/global git configuration: for lora's runs and for our own git calls. */
export const GIT_ENV: NodeJS.ProcessEnv = {
  GIT_AUTHOR_NAME: 'Lora Tester',
  GIT_AUTHOR_EMAIL: 'lora.tester@example.com',
  GIT_COMMITTER_NAME: 'Lora Tester',
  GIT_COMMITTER_EMAIL: 'lora.tester@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
}

/** The author of the commits made "by hand" (our own `git commit`). */
export const HAND = {GIT_AUTHOR_NAME: 'Hand Editor', GIT_AUTHOR_EMAIL: 'hand.editor@example.com'}

/** What a git run gave: its exit code (1 when it could not start) and output. */
export interface GitResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs git in `cwd` with the fixed identity (GIT_ENV, then `env`); never throws. */
export function gitRaw(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      {cwd, env: {...cleanEnv(), ...GIT_ENV, ...env}, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024},
      (error, stdout, stderr) => {
        const code = error
          ? typeof (error as {code?: unknown}).code === 'number'
            ? (error as {code: number}).code
            : 1
          : 0
        resolve({code, stdout, stderr})
      },
    )
  })
}

/** Runs git and returns stdout; fails the test (throws with git's stderr) when git fails. */
export async function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await gitRaw(cwd, args, env)
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} exited ${r.code}\n${r.stderr}`)
  return r.stdout
}

/** The hash of HEAD. */
export const head = async (cwd: string): Promise<string> => (await git(cwd, ['rev-parse', 'HEAD'])).trim()
/** How many commits HEAD has. */
export const commitCount = async (cwd: string): Promise<number> =>
  Number((await git(cwd, ['rev-list', '--count', 'HEAD'])).trim())
/** The full commit message (git log adds a blank line after it; that is dropped). */
export const message = async (cwd: string, rev = 'HEAD'): Promise<string> =>
  (await git(cwd, ['log', '-1', '--format=%B', rev])).replace(/\n+$/u, '\n')
/** The subject line of a commit. */
export const subject = async (cwd: string, rev = 'HEAD'): Promise<string> =>
  (await git(cwd, ['log', '-1', '--format=%s', rev])).trim()
/** `git status --porcelain` with every untracked file listed. */
export const porcelain = (cwd: string): Promise<string> => git(cwd, ['status', '--porcelain', '--untracked-files=all'])
/** The paths a commit touched (relative to the repository top), sorted. */
export const touched = async (cwd: string, rev = 'HEAD'): Promise<string[]> =>
  (await git(cwd, ['-c', 'core.quotePath=false', 'show', '--name-only', '--format=', rev]))
    .split('\n')
    .filter(Boolean)
    .sort()

/** A memoised async value (shared setup made on first use, by whichever test needs it first). */
export function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined
  return () => (promise ??= make())
}

/** lora in-process with the fixed git identity (GIT_ENV, then `env`). */
export function gitLora(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return loraIn(args, {cwd, env: {...GIT_ENV, ...env}})
}
/** As `gitLora`, failing (showing the output) unless it exits 0. */
export async function gitLoraOk(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const r = await gitLora(args, cwd, env)
  if (r.code !== 0) throw new Error(`lora ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  return r
}
/** As `gitLoraOk` with `--json`, parsing stdout. */
export async function gitLoraJson<T = any>(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<T> {
  return JSON.parse((await gitLoraOk([...args, '--json'], cwd, env)).stdout) as T
}

/** Every file and folder of `dir` with its sha256 (e2e-helpers `snapshot`), the repository's `.git/` left out (git
 * refreshes its index on its own). */
export async function workTreeSnapshot(dir: string): Promise<Record<string, string>> {
  return Object.fromEntries(
    Object.entries(await snapshot(dir)).filter(([k]) => k !== '.git/' && !k.startsWith('.git/')),
  )
}

/**
 * Your own hooks: a folder named by `core.hooksPath` in a global git config (GIT_CONFIG_GLOBAL), holding `hooks`
 * (name → script). lora runs only these, never a repository's `.git/hooks` (README "Safety model").
 * @returns the environment that uses it (pass it to gitLora) and the hooks folder
 */
export async function globalHooks(hooks: Record<string, string>): Promise<{env: NodeJS.ProcessEnv; dir: string}> {
  const home = await tempDir('lora-hooks-')
  const dir = join(home, 'hooks')
  await fsp.mkdir(dir)
  for (const [name, script] of Object.entries(hooks)) await fsp.writeFile(join(dir, name), script, {mode: 0o755})
  await fsp.writeFile(join(home, 'gitconfig'), `[core]\n\thooksPath = ${dir}\n`)
  return {env: {GIT_CONFIG_GLOBAL: join(home, 'gitconfig')}, dir}
}
