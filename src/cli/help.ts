/**
 * lora's help class (package.json `oclif.helpClass`): oclif's own, except that
 * - global flags given before the command are set aside first, so that `lora -C ds tags rename --help` shows the
 *   help of `tags rename` (oclif would look for a command named `-C`);
 * - it formats copies of the commands: oclif's renames each command it shows in place (`tags:rename` becomes
 *   `tags rename` in the loaded Config), after which the Config no longer finds `tags:rename`. Harmless in a process
 *   that ends after help, but the in-process tests share one Config between runs;
 * - a topic is listed only when a command or topic lies below it: oclif 4 takes `ls` for a topic because the topic
 *   `models:ls` contains `ls:` (its check is `includes`, not `startsWith`), and listed `lora ls` under TOPICS too.
 * Loaded only when help is shown.
 */
import {Help, type Command, type Interfaces} from '@oclif/core'
import {splitLeadingGlobals} from './global-flags.js'

export default class LoraHelp extends Help {
  /** Shows the help `argv` asks for (the words after `lora`), ignoring the global flags before the command. */
  async showHelp(argv: string[]): Promise<void> {
    const {globals, rest} = splitLeadingGlobals(argv)
    return super.showHelp(globals.length > 0 ? rest : argv)
  }

  /** oclif's, without topics that have nothing below them (see the module comment). */
  protected get sortedTopics(): Interfaces.Topic[] {
    const names = this.config.topics.map((t) => t.name)
    return super.sortedTopics.filter((topic) => names.some((name) => name.startsWith(`${topic.name}:`)))
  }

  /** oclif's, on a copy of `command`. */
  formatCommand(command: Command.Loadable): string {
    return super.formatCommand({...command})
  }

  /** oclif's, on copies of `commands`. */
  protected formatCommands(commands: Command.Loadable[]): string {
    return super.formatCommands(commands.map((command) => ({...command})))
  }
}
