/**
 * Prints a failure once, on stderr, as `error: <message>` then `hint: <what to do>`, and returns the exit code
 * (README "Exit codes"). Shared by every command (`BaseCommand.catch`, under oclif and under bin/run.js's lean runner)
 * and the errors that escape them (src/cli/top-level.ts), so that all print the same way. Messages quote file names,
 * tags and git output: their control and bidi characters are shown escaped (core/terminal-text.ts), line breaks kept.
 */
import {ExitCode, fromSystemError, LoraError} from '../errors.js'
import {escapeControls} from '../core/terminal-text.js'
import {fileInTheWay} from '../adapters/fs.js'
import type {Terminal} from './terminal.js'

/**
 * @param term where to print (its stderr colours)
 * @param error anything thrown; system errors (ENOSPC, EACCES, …) become their LoraError first
 * @param usage set for a flag/argument parse error: printed with a `--help` hint for `command` (an oclif id such as
 *   `tags:rename`, shown as `lora tags rename`), exit 2; `didYouMean`: what the hint suggests first (`--add` for a
 *   mistyped `--ad`)
 * @returns the process exit code: the LoraError's, 2 for a parse error, else 1
 */
export function reportError(
  term: Terminal,
  error: Error,
  usage?: {command: string; didYouMean?: readonly string[]},
): number {
  const path = (error as NodeJS.ErrnoException).path
  const e =
    fromSystemError(error, {
      fileInTheWay: (error as NodeJS.ErrnoException).code === 'ENOTDIR' && path ? fileInTheWay(path) : undefined,
    }) ?? error
  const c = term.colorErr
  const esc = (text: string) => escapeControls(text, {keepNewlines: true})
  if (e instanceof LoraError) {
    // An interrupt is not an error: it says what was finished (store/interrupts.ts); nor is a cancel (Ctrl-C at a
    // prompt): it says what was and was not saved.
    term.info(
      e.code === 'interrupted' || e.code === 'cancelled' ? esc(e.message) : `${c.red('error:')} ${esc(e.message)}`,
    )
    if (e.hint) term.info(`${c.dim('hint:')} ${esc(e.hint)}`)
    return e.exitCode
  }
  if (usage) {
    // oclif's parse errors colour parts of the message themselves, and end with their own pointer to --help, which
    // the hint replaces (with the command in the form it is typed: `tags rename`, not oclif's id `tags:rename`).
    // A flag value's check fails as `Parsing --repeats \n\tExpected an integer …`: one line, `--repeats: Expected …`;
    // any other tab-indented line gets two spaces (a tab would print escaped, as `\t`).
    const message = e.message
      .replace(/\n?See more help with --help\s*$/, '')
      .trim()
      .replace(/^Parsing (\S+) *\n\t+/u, '$1: ')
      .replace(/^\t+/gmu, '  ')
    term.info(`${c.red('error:')} ${escapeControls(message, {keepNewlines: true, keepColors: true})}`)
    const close = usage.didYouMean ?? []
    const guess = close.length > 0 ? `Did you mean ${close.join(' or ')}? ` : ''
    term.info(`${c.dim('hint:')} ${guess}See \`${commandLine(usage.command)} --help\`.`)
    return ExitCode.usage
  }
  term.info(`${c.red('error:')} ${esc(e.message)}`)
  if (term.env.DEBUG || term.env.LORA_DEBUG) term.info(esc(String(e.stack)))
  else term.info(`${c.dim('hint:')} This was unexpected; rerun with LORA_DEBUG=1 for details and report it.`)
  return ExitCode.error
}

/**
 * `lora` and a command id in the form it is typed: oclif's ids join topic and command with `:` (`tags:rename`),
 * lora's command line with a space (`lora tags rename`). An empty id gives `lora`.
 */
export function commandLine(id: string): string {
  return ['lora', ...id.split(':').filter(Boolean)].join(' ')
}
