/**
 * The simple questions `lora` asks — yes or no, one of a list, some of a list — as thin wrappers over
 * @inquirer/prompts (`confirm`, `select`, `checkbox`; loaded on first use, so commands that never ask do not pay
 * for it). Each wrapper:
 * - refuses without a terminal (`Terminal.canPrompt`: stdin and stdout are TTYs and `CI` is unset) by throwing
 *   NeedsTerminalError (exit 2), whose hint says what to do instead (`hint`, e.g. the flag that gives the answer);
 * - reads the Terminal's stdin and writes to its stdout, leaving the answered question on screen (@inquirer ends
 *   the output stream when a question is answered, which Node ignores for process.stdout: a test Terminal on its
 *   own streams takes one question);
 * - colours through the Terminal (so `NO_COLOR` and `--no-color` apply to the prefix, message, answer and help);
 * - turns Ctrl-C into CancelledError (exit 130).
 * The tag prompt of `lora next` is not one of these: it is a custom @inquirer/core prompt (tag-prompt.ts).
 */
import {CancelledError, NeedsTerminalError} from '../../errors.js'
import type {Terminal} from '../terminal.js'

type Prompts = typeof import('@inquirer/prompts')
type Context = NonNullable<Parameters<Prompts['confirm']>[1]>

/** What every question has. */
export interface Question {
  /** The question, e.g. `Replace files of the same name in ./train?`. */
  message: string
  /** The refusal's hint without a terminal: how to give the answer another way (default: run it in a terminal). */
  hint?: string
}

/** One choice of `select` or `checkbox`. */
export interface Choice<V> {
  value: V
  /** Shown in the list (default: String(value)). */
  name?: string
  /** Shown under the list while the choice is highlighted. */
  description?: string
  /** True, or the reason shown, when the choice cannot be taken. */
  disabled?: boolean | string
}

/**
 * Asks a yes/no question (`y`/`n`, Enter takes the default).
 * @param question.default the answer Enter gives (default false: a question about replacing or deleting must
 *   default to no)
 * @returns the answer
 * @throws NeedsTerminalError without a terminal; CancelledError on Ctrl-C
 */
export async function confirm(term: Terminal, question: Question & {default?: boolean}): Promise<boolean> {
  return ask(term, question, (prompts, context) =>
    prompts.confirm({message: question.message, default: question.default ?? false, theme: theme(term)}, context),
  )
}

/**
 * Asks for one of `choices` (arrow keys, Enter).
 * @param question.default the value highlighted first
 * @returns the chosen value
 * @throws NeedsTerminalError without a terminal; CancelledError on Ctrl-C
 */
export async function select<V>(
  term: Terminal,
  question: Question & {choices: readonly Choice<V>[]; default?: V; pageSize?: number},
): Promise<V> {
  return ask(term, question, (prompts, context) =>
    prompts.select<V>(
      {
        message: question.message,
        choices: question.choices,
        default: question.default,
        pageSize: question.pageSize,
        theme: theme(term),
      },
      context,
    ),
  )
}

/**
 * Asks for some of `choices` (Space toggles, `a` all, `i` invert, Enter confirms).
 * @param question.required refuse an empty selection (default false: none is an answer)
 * @returns the chosen values, in the order of `choices`
 * @throws NeedsTerminalError without a terminal; CancelledError on Ctrl-C
 */
export async function checkbox<V>(
  term: Terminal,
  question: Question & {choices: readonly (Choice<V> & {checked?: boolean})[]; required?: boolean; pageSize?: number},
): Promise<V[]> {
  return ask(term, question, (prompts, context) =>
    prompts.checkbox<V>(
      {
        message: question.message,
        choices: question.choices,
        required: question.required,
        pageSize: question.pageSize,
        theme: theme(term),
      },
      context,
    ),
  )
}

async function ask<T>(
  term: Terminal,
  question: Question,
  run: (prompts: Prompts, context: Context) => Promise<T>,
): Promise<T> {
  if (!term.canPrompt) {
    throw new NeedsTerminalError(
      `"${question.message}" needs an answer, and stdin or stdout is not a terminal.`,
      question.hint ?? 'Run the command in a terminal.',
    )
  }
  const prompts = await import('@inquirer/prompts')
  try {
    return await run(prompts, {input: term.stdin, output: term.stdout, clearPromptOnDone: false})
  } catch (error) {
    if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError'))
      throw new CancelledError()
    throw error
  }
}

/** @inquirer's default look, in the Terminal's colours. */
function theme(term: Terminal) {
  const c = term.color
  return {
    prefix: {idle: c.blue('?'), done: c.green('✔')},
    style: {
      answer: (text: string) => c.cyan(text),
      message: (text: string) => c.bold(text),
      error: (text: string) => c.red(`> ${text}`),
      defaultAnswer: (text: string) => c.dim(`(${text})`),
      help: (text: string) => c.dim(text),
      highlight: (text: string) => c.cyan(text),
      key: (text: string) => c.cyan.bold(`<${text}>`),
    },
  }
}
