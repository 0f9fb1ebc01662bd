import {NeedsTerminalError} from '../errors.js'
import type {Terminal} from './terminal.js'

/**
 * Reads all of stdin as lines (for `--stdin`). Refuses when stdin is a terminal, where it would wait for typing
 * that the user does not expect.
 */
export async function readStdinLines(term: Terminal): Promise<string[]> {
  if (term.stdinIsTTY)
    throw new NeedsTerminalError(
      '--stdin reads from a pipe, but stdin is a terminal.',
      "Pipe the lines in: printf 'img_0001\\tcat, sitting\\n' | lora tag --stdin",
    )
  const chunks: Buffer[] = []
  for await (const chunk of term.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/u)
}
