/**
 * oclif's `command_not_found` hook (package.json `oclif.hooks`): what runs when the words after `lora` name no
 * command. oclif joins the leading words into a command id (`lora tagg 1` → `tagg:1`, `lora next extra` →
 * `next:extra`, `lora -C ds status` → `-C`), so three different mistakes arrive here, and each is answered as git
 * would:
 * - global flags before the command (`lora -C ds status`, `lora --no-color log`): they are moved after the
 *   command's name and the command runs (src/cli/global-flags.ts);
 * - a command followed by a word it does not take (`lora next extra`): the command runs with it, and its parser
 *   says `Unexpected argument: extra` (exit 2) in lora's `error:` / `hint:` form (BaseCommand.catch), unless the
 *   word is close to one of the command's subcommands (`lora tags renam` → did you mean `lora tags rename`);
 * - a mistyped command (`lora stauts`, `lora tagg 1 --add x`): `error: stauts is not a lora command.` and a hint
 *   naming the closest commands (src/core/did-you-mean.ts), exit 2 (a usage error). Nothing is asked and nothing is
 *   run in its place, on a terminal or not, as git does by default.
 *
 * Why not @oclif/plugin-not-found: it prints in oclif's style, exits 127, names no command at all without a
 * terminal, and on a terminal asks "Did you mean X? (Y/n)" (yes by default, answered yes after 10 s of no input),
 * then runs X with the arguments given: a guessed write command (`lora tagg --all --clear`) must never run on a
 * default answer. Its hook cannot be configured and runs alongside any other, so its matching (edit distance to
 * every command) is used here instead.
 */
import {Errors, type Hook, type Interfaces} from '@oclif/core'
import {UsageError} from '../errors.js'
import {closestNames} from '../core/did-you-mean.js'
import {commandLine, reportError} from '../ui/report-error.js'
import {createTerminal} from '../ui/terminal.js'
import {splitLeadingGlobals} from './global-flags.js'

const hook: Hook<'command_not_found'> = async function (options) {
  const {config} = options
  // The words after `lora`, as typed: oclif's id is the leading ones joined with ':'.
  const words = [...options.id.split(':'), ...(options.argv ?? [])]
  const {globals, rest, missingValue} = splitLeadingGlobals(words)
  const fail = async (message: string, hint: string): Promise<never> => {
    const term = await createTerminal({noColor: globals.includes('--no-color')})
    return Errors.exit(reportError(term, new UsageError(message, hint)))
  }
  if (missingValue)
    await fail(
      `${missingValue} needs a value: the dataset folder.`,
      'Give the folder after it: `lora -C DIR COMMAND` (or set LORA_DATASET).',
    )
  if (rest.length === 0) await fail('No command given.', 'See `lora --help` for the commands.')
  if (rest[0].startsWith('-'))
    await fail(
      `${rest[0]} is not a global flag: before the command, lora takes only -C/--dataset, --no-color and --json.`,
      `Put it after the command's name (\`lora COMMAND ${rest[0]}\`); see \`lora --help\` for the commands.`,
    )

  const names = leadingWords(rest)
  const commandLength = longest(names, (id) => config.findCommand(id) !== undefined)
  if (commandLength > 0) {
    const id = names.slice(0, commandLength).join(':')
    const next = names[commandLength] as string | undefined
    // `lora tags renam`: a word close to a subcommand is a mistyped subcommand, not an argument.
    const close = next === undefined ? [] : closestNames(next, subcommands(config, names.slice(0, commandLength)))
    if (close.length === 0) return config.runCommand(id, [...globals, ...rest.slice(commandLength)])
    await notACommand(names.slice(0, commandLength), next!, close, rest.slice(commandLength + 1))
  }
  const topicLength = longest(names, (id) => config.findTopic(id) !== undefined)
  const topic = names.slice(0, topicLength)
  const typed = names[topicLength] as string | undefined
  if (typed === undefined)
    await fail(
      `\`${commandLine(topic.join(':'))}\` needs a command.`,
      `See \`${commandLine(topic.join(':'))} --help\`.`,
    )
  await notACommand(topic, typed!, closestNames(typed!, subcommands(config, topic)), rest.slice(topicLength + 1))

  /** Fails with "`WORDS` is not a lora command" and the close commands, those that take `after`'s flags first. */
  async function notACommand(topic: string[], typed: string, close: string[], after: string[]): Promise<never> {
    const ids = close.map((name) => [...topic, name].join(':'))
    const fitting = ids.filter((id) => takesFlags(config, id, after))
    const suggested = (fitting.length > 0 ? fitting : ids).map((id) => `\`${commandLine(id)}\``)
    const help = `\`${commandLine(topic.join(':'))} --help\``
    return fail(
      `${[...topic, typed].join(' ')} is not a lora command.`,
      suggested.length === 0
        ? `See ${help} for the commands.`
        : `Did you mean ${suggested.length === 1 ? suggested[0] : `one of ${suggested.join(', ')}`}? See ${help} for the commands.`,
    )
  }
}

export default hook

/** The words `rest` starts with, up to its first flag: the candidates for the command's name. */
function leadingWords(rest: readonly string[]): string[] {
  const end = rest.findIndex((word) => word.startsWith('-'))
  return rest.slice(0, end === -1 ? rest.length : end)
}

/** The largest k such that `names[0..k]` joined with ':' passes `exists`; 0 when no prefix does. */
function longest(names: readonly string[], exists: (id: string) => boolean): number {
  let found = 0
  for (let k = 1; k <= names.length; k++) if (exists(names.slice(0, k).join(':'))) found = k
  return found
}

/** The names one level below `topic` (`[]`: the top level) of the visible commands: commands and topics alike. */
function subcommands(config: Interfaces.Config, topic: readonly string[]): string[] {
  const names = new Set<string>()
  for (const command of config.commands) {
    if (command.hidden) continue
    const parts = command.id.split(':')
    if (parts.length > topic.length && topic.every((word, i) => parts[i] === word)) names.add(parts[topic.length])
  }
  return [...names]
}

/** True when the command `id` exists and takes every flag named in `words` (`--add`, `--add=x`, `--no-commit`, `-a`). */
function takesFlags(config: Interfaces.Config, id: string, words: readonly string[]): boolean {
  const command = config.findCommand(id)
  if (!command) return false
  const flags = Object.values(command.flags)
  return words.every((word) => {
    if (word === '--') return true
    if (word.startsWith('--')) {
      const name = word.slice(2).split('=')[0]
      return flags.some(
        (flag) => flag.name === name || ('allowNo' in flag && flag.allowNo && `no-${flag.name}` === name),
      )
    }
    if (word.startsWith('-') && word.length >= 2) return flags.some((flag) => flag.char === word[1])
    return true
  })
}
