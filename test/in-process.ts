/**
 * Runs `lora` commands inside the test process (oclif's `run` on the built commands in dist/, the arguments passed as
 * they are), with the same result shape as spawning `bin/run.js` (`RunResult`: exit code, stdout, stderr). No process
 * start-up, so a case costs milliseconds instead of ~300 ms. An error thrown out of `run` goes through
 * src/cli/top-level.ts as in bin/run.js (printed unless it is an exit, its exit code recorded instead of exiting). Commands
 * run through oclif here, not the binary's fast path (their bundles, src/cli/lean.ts); test/e2e/fast-path.test.ts
 * proves the two print the same. test/commands/in-process-fidelity.test.ts proves the results equal the binary's.
 *
 * Each run gets its own Terminal (not a TTY; `NO_COLOR` unless `env` sets colour) whose stdout and stderr are
 * captured; `input` is its stdin. The working folder, the environment variables in `env` (PATH too) and
 * process.exitCode are set for the duration of the run and restored after it, so runs must not overlap: a second
 * run started while one is under way throws (no `it.concurrent` in files that use this).
 *
 * What is per process, and so stays in test/e2e (spawning `bin/run.js`):
 * - LORA_FAILPOINT: the fs adapter reads it once, when dist/adapters/fs.js is first loaded (and counts mutations
 *   across runs from then on); failpoint and kill sweeps must spawn.
 * - The pid: a lock taken by an in-process run holds the test process's pid, which is alive, and temp files carry
 *   it, which recovery leaves alone as a live writer's; stale-lock and leftover-temp-file recovery after a kill
 *   need a process that died.
 * - Exit by signal, the prompt through a pty, the fast path, start-up cost.
 * dist/ modules are loaded once per jest file and shared by its runs; besides the fs adapter's counters they keep no
 * state between runs (no module-level caches), and oclif's Config is loaded once.
 */
import {Config, run} from '@oclif/core'
import * as handling from '@oclif/core/handle'
import {format} from 'node:util'
import {PassThrough, Readable} from 'node:stream'
import {setTerminalFactory, Terminal} from '../src/ui/terminal.js'
import {handleTopLevel} from '../src/cli/top-level.js'
import {ROOT, type RunResult} from './helpers.js'

/** Variables that change lora's behaviour: unset for an in-process run unless `env` sets them. */
const CONTROLLED = [
  'LORA_DATASET',
  'LORA_VIEWER',
  'LORA_CONTENT_TYPE',
  'LORA_DEBUG',
  'LORA_FAILPOINT_LOG',
  'FORCE_COLOR',
  'NO_COLOR',
  'DEBUG',
  'CI',
  'GIT_DIR',
  'GIT_WORK_TREE',
]

let config: Config | undefined
/** The package folder whose dist/ commands run (`useCliRoot`); the repository by default. */
let cliRoot = ROOT
/** True while a run is under way (runs change process-wide state, so they must not overlap). */
let running = false
/** The tail of the queue of `loraInSerial` runs. */
let queue: Promise<unknown> = Promise.resolve()

/**
 * Runs the commands of another copy of the package (a folder with package.json, oclif.manifest.json, dist/ and
 * node_modules, such as the private CLI copy of test/reliability) instead of the repository's. Must be called before
 * the first run of the test file, or with the same folder again.
 */
export function useCliRoot(root: string): void {
  if (config && root !== cliRoot)
    throw new Error(`useCliRoot(${root}) after runs from ${cliRoot}: one CLI root per test file`)
  cliRoot = root
}

/**
 * `loraIn`, queued behind every earlier `loraInSerial` run: for code that runs many things concurrently (a failpoint
 * sweep's spawned processes) and needs its in-process runs one at a time.
 */
export function loraInSerial(
  args: string[],
  options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string},
): Promise<RunResult> {
  const result = queue.then(() => loraIn(args, options))
  queue = result.catch(() => undefined)
  return result
}

/**
 * Runs `lora ...args` in-process in `cwd` (see the file comment). Never throws for a failing command.
 * `stdoutIsTTY` makes the Terminal take stdout for a terminal (what reaches it is still captured).
 */
export async function loraIn(
  args: string[],
  options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string; stdoutIsTTY?: boolean},
): Promise<RunResult> {
  if (running)
    throw new Error(
      `loraIn(${JSON.stringify(args)}) started while another in-process run was under way; runs must not overlap`,
    )
  const previousCwd = process.cwd()
  process.chdir(options.cwd) // throws (ENOENT) before anything else is changed
  running = true
  let stdout = ''
  let stderr = ''
  const env: NodeJS.ProcessEnv = {NO_COLOR: '1', LORA_VIEWER: 'none', ...options.env}
  const saved = new Map<string, string | undefined>()
  for (const key of new Set([...CONTROLLED, ...Object.keys(env)])) {
    saved.set(key, process.env[key])
    if (env[key] === undefined) delete process.env[key]
    else process.env[key] = env[key]
  }
  const restoreTerminal = setTerminalFactory((terminalOptions) => {
    const out = new PassThrough()
    const err = new PassThrough()
    out.on('data', (d) => (stdout += d))
    err.on('data', (d) => (stderr += d))
    return new Terminal({
      ...terminalOptions,
      stdout: out,
      stderr: err,
      stdin: Readable.from([Buffer.from(options.input ?? '')]),
      env: {...process.env},
      stdinIsTTY: false,
      stdoutIsTTY: options.stdoutIsTTY ?? false,
      stderrIsTTY: false,
    })
  })
  // oclif's default Command.catch sets process.exitCode; it must not become the exit code of the test process.
  const previousExitCode = process.exitCode
  // oclif prints `--json` results and its own messages with console.log/console.error.
  const {log, error: logError} = console
  console.log = (...parts: unknown[]) => void (stdout += format(...parts) + '\n')
  console.error = (...parts: unknown[]) => void (stderr += format(...parts) + '\n')
  try {
    config ??= await Config.load({root: cliRoot})
    await run(args, config)
    return {code: 0, signal: null, stdout, stderr}
  } catch (error) {
    // What bin/run.js does with a thrown error (src/cli/top-level.ts): prints it in lora's form (oclif's own errors,
    // such as `lora help stauts`) unless it is an ExitError, then exits with its code; here the code is recorded.
    let code = 1
    const exitFn = Object.getOwnPropertyDescriptor(handling.Exit, 'exit')
    handling.Exit.exit = ((c = 0) => void (code = c)) as unknown as typeof handling.Exit.exit
    try {
      await handleTopLevel(error as Error, args)
    } finally {
      if (exitFn) Object.defineProperty(handling.Exit, 'exit', exitFn)
    }
    return {code, signal: null, stdout, stderr}
  } finally {
    console.log = log
    console.error = logError
    process.chdir(previousCwd)
    process.exitCode = previousExitCode
    restoreTerminal()
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
    running = false
  }
}

/** Runs `lora ...args` in-process and fails (showing its output) unless it exits 0. */
export async function loraInOk(
  args: string[],
  options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string},
): Promise<RunResult> {
  const result = await loraIn(args, options)
  if (result.code !== 0)
    throw new Error(
      `lora ${args.join(' ')} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    )
  return result
}
