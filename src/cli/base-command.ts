/**
 * What every `lora` command shares: the global flags (`-C/--dataset`, `--no-color`, `--json`), the Terminal, finding
 * and opening the dataset, and the one error handler that prints an error once and sets the documented exit code.
 */
import {Command, Errors, Flags, ux, type Interfaces} from '@oclif/core'
import {createTerminal, type Terminal} from '../ui/terminal.js'
import {commandLine, reportError} from '../ui/report-error.js'
import {installStopHandlers} from './interrupts.js'
import {type Dataset, locateDataset, openDataset} from '../store/dataset.js'
import {setWarningSink} from '../store/warnings.js'
import {closestNames} from '../core/did-you-mean.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** `--no-commit`, for every command that writes the dataset: skip the git commit (when history is on). */
export const commitFlag = {
  commit: Flags.boolean({
    summary: 'Commit the change to git when dataset history is on (--no-commit: do not).',
    allowNo: true,
    default: true,
  }),
}

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static enableJsonFlag = true

  static baseFlags = {
    dataset: Flags.string({
      char: 'C',
      summary: 'Dataset folder (default: $LORA_DATASET, else found from the current folder).',
      helpGroup: 'GLOBAL',
    }),
    'no-color': Flags.boolean({summary: 'Do not colour output (also: NO_COLOR=1).', helpGroup: 'GLOBAL'}),
  }

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  /** Every positional argument as given, in order (for `strict = false` commands that take any number of them). */
  protected positional!: string[]
  protected term!: Terminal

  async init(): Promise<void> {
    // First: a stop signal must never cut a journaled change in half (src/cli/interrupts.ts).
    installStopHandlers()
    await super.init()
    const {args, argv, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.positional = argv as string[]
    this.term = await createTerminal({noColor: this.flags['no-color']})
    // Warnings the store gives on the way (a commit on a detached HEAD): once each, on stderr.
    setWarningSink((text) => this.term.warn(text))
  }

  /**
   * Prints the `--json` result as oclif does, without oclif's colouring pass over the text when no JSON theme is set
   * (the same bytes: that pass only wraps tokens in the theme's colours; it costs ~5 ms per 100 kB of output).
   */
  logJson(json: unknown): void {
    if (this.config.theme?.json) {
      super.logJson(json)
      return
    }
    ux.stdout(JSON.stringify(json, null, 2))
  }

  /** Finds and opens the dataset (finishing any interrupted change). */
  protected async dataset(): Promise<Dataset> {
    const root = await locateDataset({explicit: this.flags.dataset, env: process.env.LORA_DATASET, cwd: process.cwd()})
    return openDataset(root, commandLine(this.id ?? ''))
  }

  /** closeFlagNames of this command's flags. */
  private closeFlags(error: Error): string[] {
    const ctor = this.constructor as typeof Command
    return closeFlagNames(error, {...ctor.baseFlags, ...ctor.flags, ...(ctor.enableJsonFlag ? {json: {}} : {})})
  }

  /** Prints the error once (stderr) and exits with its code. */
  async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<never> {
    if (error instanceof Errors.ExitError) throw error
    const code = reportError(
      this.term ?? (await createTerminal()),
      error,
      isParseError(error) ? {command: this.id ?? '', didYouMean: this.closeFlags(error)} : undefined,
    )
    return this.exit(code)
  }
}

/**
 * For `Nonexistent flag: --ad`: the command's flags (its own and the global ones) closest to each flag typed
 * (core/did-you-mean.ts), as typed (`--add`); empty for any other error.
 */
function closeFlagNames(error: Error, flags: Record<string, {char?: string}>): string[] {
  if (error.constructor.name !== 'NonExistentFlagsError') return []
  const typed = [...error.message.matchAll(/--([\w-]+)/gu)].map((m) => m[1])
  const names = Object.keys(flags)
  return [...new Set(typed.flatMap((t) => closestNames(t, names)))].map((n) => `--${n}`)
}

function isParseError(error: Error): boolean {
  return (
    (error instanceof Errors.CLIError &&
      [
        'RequiredArgsError',
        'UnexpectedArgsError',
        'NonExistentFlagsError',
        'FlagInvalidOptionError',
        'ArgInvalidOptionError',
        'FailedFlagValidationError',
        'CLIParseError',
      ].includes(error.constructor.name)) ||
    (error as {oclif?: {exit?: number}}).oclif?.exit === 2
  )
}
