/**
 * Runs `lora` commands inside the test process (oclif's `run` on the built commands in dist/, the arguments passed as
 * they are), with the same result shape as spawning `bin/run.js` (`RunResult`: exit code, stdout, stderr). No process
 * start-up, so a case costs milliseconds instead of ~300 ms. What needs the real binary stays in test/e2e: exact
 * exit codes of a process, signals, the fast path, the prompt through a pty, kills.
 *
 * Each run gets its own Terminal (not a TTY; `NO_COLOR` unless `env` sets colour) whose stdout and stderr are
 * captured; `input` is its stdin. The working folder and the environment variables in `env` are set for the
 * duration of the run and restored after it, so runs must not overlap (jest runs the tests of one file in
 * sequence). LORA_FAILPOINT cannot be used here: the fs adapter reads it once per process.
 */
import {Config, run} from '@oclif/core'
import * as handling from '@oclif/core/handle'
import {format} from 'node:util'
import {PassThrough, Readable} from 'node:stream'
import {setTerminalFactory, Terminal} from '../src/ui/terminal.js'
import {ROOT, type RunResult} from './helpers.js'

/** Variables that change lora's behaviour: unset for an in-process run unless `env` sets them. */
const CONTROLLED = ['LORA_DATASET', 'LORA_VIEWER', 'FORCE_COLOR', 'NO_COLOR', 'DEBUG', 'CI', 'GIT_DIR', 'GIT_WORK_TREE']

let config: Config | undefined

/** Runs `lora ...args` in-process in `cwd` (see the file comment). Never throws for a failing command. */
export async function loraIn(args: string[], options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string}): Promise<RunResult> {
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
      stdoutIsTTY: false,
      stderrIsTTY: false,
    })
  })
  const previousCwd = process.cwd()
  // oclif's default Command.catch sets process.exitCode; it must not become the exit code of the test process.
  const previousExitCode = process.exitCode
  // oclif prints `--json` results and its own messages with console.log/console.error.
  const {log, error: logError} = console
  console.log = (...parts: unknown[]) => void (stdout += format(...parts) + '\n')
  console.error = (...parts: unknown[]) => void (stderr += format(...parts) + '\n')
  process.chdir(options.cwd)
  try {
    config ??= await Config.load({root: ROOT})
    await run(args, config)
    return {code: 0, signal: null, stdout, stderr}
  } catch (error) {
    // What bin/run.js does with a thrown error (oclif's `execute`): `handle` prints it unless it is an ExitError
    // (an unknown command, say) and exits with its code. Its exit is replaced here by recording the code.
    let code = 1
    const {exit} = handling.Exit
    handling.Exit.exit = ((c = 0) => void (code = c)) as unknown as typeof exit
    try {
      await handling.handle(error as Error)
    } finally {
      handling.Exit.exit = exit
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
  }
}

/** Runs `lora ...args` in-process and fails (showing its output) unless it exits 0. */
export async function loraInOk(args: string[], options: {cwd: string; env?: NodeJS.ProcessEnv; input?: string}): Promise<RunResult> {
  const result = await loraIn(args, options)
  if (result.code !== 0) throw new Error(`lora ${args.join(' ')} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`)
  return result
}
