/**
 * Warnings the store gives while a command runs (a commit on a detached HEAD), printed by the command's terminal
 * on stderr: the command registers where they go (`setWarningSink`, src/cli/base-command.ts and the fast path),
 * the store calls `warnOnce`. Each text is given once per command, however many commits the command makes
 * (`lora next` commits each saved image). Process-wide, as one process runs one command (in-process test runs
 * register a new sink per command, which also forgets the texts given).
 */

let sink: ((text: string) => void) | undefined
let given = new Set<string>()

/** Where warnings go from now on (a terminal's `warn`); forgets which texts were given. */
export function setWarningSink(write: ((text: string) => void) | undefined): void {
  sink = write
  given = new Set()
}

/** Gives `text` to the sink, unless it was given already for this command (or no sink is registered). */
export function warnOnce(text: string): void {
  if (given.has(text)) return
  given.add(text)
  sink?.(text)
}
