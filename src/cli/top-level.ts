/**
 * How bin/run.js runs oclif when its fast path does not take the invocation (src/cli/launch.ts): oclif's `execute` (run, then
 * flush the output), except for an error that escapes every command's own handler (BaseCommand.catch). oclif
 * prints those as ` ›   Error: …`; here they are printed once in lora's `error:` / `hint:` form (ui/report-error.ts),
 * with oclif's exit code: 2 for its usage errors (`lora help stauts`, a bad argument to `lora autocomplete`, a flag
 * `lora help` does not take). An error already printed (oclif's ExitError, thrown by `this.exit`) only ends the
 * process with its exit code, as under `execute`, at once. test/in-process.ts handles errors the same way.
 */
import {flush, run} from '@oclif/core'
import * as handling from '@oclif/core/handle'

/** An error as oclif throws it: CLIError's `oclif.exit`, ExitError's `code: 'EEXIT'`. */
type OclifError = Error & {code?: unknown; oclif?: {exit?: number}; skipOclifErrorHandling?: boolean}

/**
 * Runs `lora argv` through oclif (`dir`: bin/run.js's `import.meta.url`, where oclif finds package.json); an
 * escaping error is printed by `handleTopLevel`, which ends the process with its exit code.
 */
export async function runOclif(argv: string[], dir: string): Promise<void> {
  try {
    await run(argv, dir)
    // As oclif's `execute`: not awaited (its timer is unref'd and must not hold the process).
    void flush()
  } catch (error) {
    await handleTopLevel(error as Error, argv)
  }
}

/**
 * Prints `error` (anything that escaped oclif's `run`) in lora's form, once, then exits through oclif's `Exit.exit`
 * (which tests replace) with: the code of an ExitError (already printed: nothing more is), oclif's `oclif.exit` for
 * its own errors (2 is a usage error, with a `lora --help` hint), else 1 with the "unexpected" hint.
 * @param argv the words after `lora`: `--no-color` among them turns colour off
 */
export async function handleTopLevel(error: Error, argv: readonly string[] = []): Promise<void> {
  const e = error as OclifError
  // An ExitError (`this.exit`): already printed, so it only ends the process with its code. oclif's `handle` would do
  // the same, after rendering the error and cleaning its stack for nothing (loading its pretty-print and clean-stack
  // modules, which a bundle otherwise never loads).
  if (e.code === 'EEXIT' && typeof e.oclif?.exit === 'number') return handling.Exit.exit(e.oclif.exit)
  if (e.code === 'EEXIT' || e.skipOclifErrorHandling || e.message === 'SIGINT') return handling.handle(error)
  const [{reportError}, {createTerminal}, {LoraError}] = await Promise.all([
    import('../ui/report-error.js'),
    import('../ui/terminal.js'),
    import('../errors.js'),
  ])
  const term = await createTerminal({noColor: argv.includes('--no-color')})
  const exit = e.oclif?.exit
  let code: number
  if (exit === 2) code = reportError(term, error, {command: ''})
  else if (exit !== undefined)
    code = reportError(
      term,
      new LoraError(e.message.replace(/\n?See more help with --help\s*$/, '').trim(), {
        exitCode: exit,
        hint: 'See `lora --help`.',
      }),
    )
  else code = reportError(term, error)
  handling.Exit.exit(code)
}
