/**
 * Which runner takes an invocation (bin/run.js): the lean runner (src/cli/lean.ts: the command's bundle, no oclif
 * Config, plugins or help) for a command named plainly, else oclif's full path. Pure: bin/run.js reads
 * oclif.manifest.json and passes it. oclif's full path takes everything whose answer depends on more than the one
 * command: help (`--help`, `-h`, `lora help`, no command), `--version`, a first word that names no command (the
 * did-you-mean hook, src/cli/command-not-found.ts), a topic followed by a word that may be a mistyped subcommand
 * (`lora tags renam`), a flag before the command that is not a global one, `--json` to a terminal (oclif colours it
 * with the user's theme), `LORA_CONTENT_TYPE`, and everything when `LORA_NO_FAST_PATH` is set. No imports of its own
 * but global-flags.ts (pure): bin/run.js loads it before it knows what runs.
 */
import {splitLeadingGlobals} from './global-flags.js'

/** How bin/run.js runs a plain invocation under the lean runner. */
export interface LeanLaunch {
  /** The command's id (`tags:rename`). */
  id: string
  /** The command's file from the package folder, as in the manifest (`dist/commands/tags/rename.js`). */
  relativePath: string
  /** The words for the command: the global flags given before its name, then the words after its name. */
  argv: string[]
}

/** A command as oclif.manifest.json lists it (the keys read here). */
interface ManifestCommand {
  id: string
  aliases?: string[]
  relativePath?: string[]
}

/**
 * The lean launch of `argv` (the words after `lora`), or undefined when oclif's full path takes it (see the file
 * comment).
 * @param commands oclif.manifest.json's `commands`
 * @param topicSeparator package.json's `oclif.topicSeparator` (lora: a space)
 */
export function planLaunch(
  argv: readonly string[],
  commands: Record<string, ManifestCommand>,
  {env, stdoutIsTTY, topicSeparator}: {env: NodeJS.ProcessEnv; stdoutIsTTY: boolean; topicSeparator: string},
): LeanLaunch | undefined {
  if (env.LORA_NO_FAST_PATH || env.LORA_CONTENT_TYPE !== undefined || topicSeparator !== ' ') return undefined
  const {globals, rest, missingValue} = splitLeadingGlobals(argv)
  if (missingValue !== undefined) return undefined
  const byId = new Map<string, ManifestCommand>()
  for (const command of Object.values(commands)) {
    byId.set(command.id, command)
    for (const alias of command.aliases ?? []) byId.set(alias, command)
  }
  // The longest run of leading words that names a command (`tags rename` before `tags`).
  let length = 0
  for (let k = 1; k <= rest.length && !rest[k - 1].startsWith('-'); k++)
    if (byId.has(rest.slice(0, k).join(':'))) length = k
  if (length === 0) return undefined
  const id = rest.slice(0, length).join(':')
  const command = byId.get(id)!
  const next = rest[length] as string | undefined
  // `lora tags renam`: a word after a command that has subcommands may be a mistyped one (the hook says so).
  if (next !== undefined && !next.startsWith('-') && [...byId.keys()].some((other) => other.startsWith(`${id}:`)))
    return undefined
  const words = [...globals, ...rest.slice(length)]
  const end = words.indexOf('--')
  const flags = end === -1 ? words : words.slice(0, end)
  if (flags.some((word) => word === '--help' || word === '-h')) return undefined
  if (stdoutIsTTY && flags.includes('--json')) return undefined
  if (!command.relativePath) return undefined
  return {id: command.id, relativePath: command.relativePath.join('/'), argv: words}
}
