/**
 * Prints a failure once, on stderr, as `error: <message>` then `hint: <what to do>`, and returns the exit code
 * (README "Exit codes"). Shared by the oclif commands (`BaseCommand.catch`) and the fast path (`src/cli/fast-path.ts`)
 * so that both print the same thing.
 */
import {ExitCode, fromSystemError, LoraError} from '../errors.js'
import type {Terminal} from './terminal.js'

/**
 * @param term where to print (its stderr colours)
 * @param error anything thrown; system errors (ENOSPC, EACCES, …) become their LoraError first
 * @param usage set for a flag/argument parse error: printed with a `--help` hint for `command`, exit 2
 * @returns the process exit code: the LoraError's, 2 for a parse error, else 1
 */
export function reportError(term: Terminal, error: Error, usage?: {command: string}): number {
  const e = fromSystemError(error) ?? error
  const c = term.colorErr
  if (e instanceof LoraError) {
    term.info(`${c.red('error:')} ${e.message}`)
    if (e.hint) term.info(`${c.dim('hint:')} ${e.hint}`)
    return e.exitCode
  }
  if (usage) {
    term.info(`${c.red('error:')} ${e.message.trim()}`)
    term.info(`${c.dim('hint:')} See \`lora ${usage.command} --help\`.`)
    return ExitCode.usage
  }
  term.info(`${c.red('error:')} ${e.message}`)
  if (term.env.DEBUG || term.env.LORA_DEBUG) term.info(String(e.stack))
  else term.info(`${c.dim('hint:')} This was unexpected; rerun with LORA_DEBUG=1 for details and report it.`)
  return ExitCode.error
}
