/**
 * lora's help class (package.json `oclif.helpClass`): oclif's own, except that
 * - global flags given before the command are set aside first, so that `lora -C ds tags rename --help` shows the
 *   help of `tags rename` (oclif would look for a command named `-C`);
 * - it formats copies of the commands: oclif's renames each command it shows in place (`tags:rename` becomes
 *   `tags rename` in the loaded Config), after which the Config no longer finds `tags:rename`. Harmless in a process
 *   that ends after help, but the in-process tests share one Config between runs.
 * Loaded only when help is shown.
 */
import {Help, type Command} from '@oclif/core'
import {splitLeadingGlobals} from './global-flags.js'

export default class LoraHelp extends Help {
  /** Shows the help `argv` asks for (the words after `lora`), ignoring the global flags before the command. */
  async showHelp(argv: string[]): Promise<void> {
    const {globals, rest} = splitLeadingGlobals(argv)
    return super.showHelp(globals.length > 0 ? rest : argv)
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
