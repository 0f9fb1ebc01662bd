/**
 * Helpers for the in-process command tests (test/commands/*.test.ts): `lora`, `loraOk` and `loraJson` run a command
 * inside the jest process (test/in-process.ts: oclif's `run` on the built commands in dist/, same `RunResult` as
 * spawning bin/run.js), and `initDataset` makes a dataset by an in-process `lora init` of fixture images. Build
 * first (`npm run build`; `npm test` does).
 *
 * A run sets the working folder and the environment for its duration, so runs must not overlap: these files use
 * `it`, never `it.concurrent`, and never start two runs at once. What needs a real process (exit status of a
 * process, signals, the fast path of bin/run.js, a pty, kills, LORA_FAILPOINT) stays in test/e2e and
 * test/reliability.
 */
import {join} from 'node:path'
import {copyFixtures, type RunResult} from '../helpers.js'
import {loraIn, loraInOk} from '../in-process.js'
import {tempDir} from '../e2e/e2e-helpers.js'

export type {RunResult}

/** What a run gets: its working folder, extra environment variables, and its stdin. */
export interface RunOptions {
  cwd: string
  env?: NodeJS.ProcessEnv
  input?: string
}

/** Runs `lora ...args` in-process; never throws for a failing command. */
export function lora(args: string[], options: RunOptions): Promise<RunResult> {
  return loraIn(args, options)
}

/** Runs `lora ...args` in-process and fails (showing its output) unless it exits 0. */
export function loraOk(args: string[], options: RunOptions): Promise<RunResult> {
  return loraInOk(args, options)
}

/** Runs `lora ...args --json` in-process (it must exit 0) and parses stdout. */
export async function loraJson<T = any>(args: string[], options: RunOptions): Promise<T> {
  const result = await loraInOk([...args, '--json'], options)
  return JSON.parse(result.stdout) as T
}

/**
 * A dataset made by an in-process `lora init` (copy mode unless `initArgs` say otherwise) of fixture images (all
 * when `names` is omitted) copied into a new temp folder (removed by e2e-helpers' `cleanupTemps`). Returns it.
 */
export async function initDataset(options: {names?: string[]; initArgs?: string[]} = {}): Promise<string> {
  const dir = join(await tempDir(), 'imgs')
  await copyFixtures(dir, options.names)
  await loraInOk(['init', '.', ...(options.initArgs ?? [])], {cwd: dir})
  return dir
}
