/**
 * The global flags given before the command, as git takes them (`lora -C ds status`, `lora --no-color log`,
 * `lora -C ds --json status`). Every lora command takes them after its name too (BaseCommand's `-C/--dataset`,
 * `--no-color`, and `--json`); given first, they are moved after the command's name: by the fast path
 * (src/cli/launch.ts) and, for every other command, by the hook that oclif calls when the first word is not a
 * command (src/cli/command-not-found.ts). No imports: the fast path loads this before it knows what runs.
 */

/** What came before the command: the global flags (as given, each with its value), and the rest. */
export interface LeadingGlobals {
  /** The global flags, in order, each as one or two words exactly as given (`['-C', 'ds', '--json']`). */
  globals: string[]
  /** The words after them: the command's name first, when one was given. */
  rest: string[]
  /** Set when a flag that needs a value (`-C`, `--dataset`) ends the words or is followed by another flag. */
  missingValue?: string
}

/** The flags that take a value: the dataset folder. */
const WITH_VALUE = new Set(['-C', '--dataset'])
/** The global flags that take none. */
const BOOLEAN = new Set(['--no-color', '--json'])

/** True when `word` is one of the global flags with its value attached (`-Cds`, `--dataset=ds`). */
function isAttached(word: string): boolean {
  return (word.startsWith('-C') && word.length > 2) || word.startsWith('--dataset=')
}

/**
 * Splits `argv` (the words after `lora`) into the global flags it starts with and the rest. Stops at the first word
 * that is not a global flag (the command's name, an unknown flag, `--`).
 */
export function splitLeadingGlobals(argv: readonly string[]): LeadingGlobals {
  const globals: string[] = []
  let i = 0
  while (i < argv.length) {
    const word = argv[i]
    if (BOOLEAN.has(word) || isAttached(word)) {
      globals.push(word)
      i++
    } else if (WITH_VALUE.has(word)) {
      const value = argv[i + 1] as string | undefined
      if (value === undefined || value.startsWith('-')) return {globals, rest: argv.slice(i), missingValue: word}
      globals.push(word, value)
      i += 2
    } else break
  }
  return {globals, rest: argv.slice(i)}
}
