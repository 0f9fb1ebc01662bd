/**
 * Every prompt `lora` shows, behind domain-named functions. @inquirer is imported here on first use only, so
 * commands that never prompt do not pay for it.
 */
import {CancelledError, NeedsTerminalError} from '../../errors.js'
import type {Terminal} from '../terminal.js'
import type {ExportOptions} from '../../services/export.js'
import type {TagAnswer, TagPromptConfig} from './tag-prompt.js'

export type {TagAnswer} from './tag-prompt.js'

/**
 * Asks for an image's tags (see tag-prompt.ts for the keys), fitted to the terminal's size and redrawn when it is
 * resized. However it ends (save, skip, Esc, Ctrl-C), the prompt erases itself and leaves one line saying what
 * happened (`collapsedLine`). `reservedRows`: rows above the prompt kept for the inline preview (ui/inline-preview.ts):
 * the prompt fits itself into the terminal's rows less these, so the whole of it stays visible under the image.
 * @throws NeedsTerminalError when the terminal cannot prompt
 * @throws CancelledError on Ctrl-C
 */
export async function askTags(
  terminal: Terminal,
  config: Omit<TagPromptConfig, 'color'>,
  options: {reservedRows?: number; beforeCollapse?: () => void} = {},
): Promise<TagAnswer> {
  if (!terminal.canPrompt) {
    throw new NeedsTerminalError(
      'Tagging interactively needs a terminal.',
      'In scripts, use `lora next --print` to get the next image and `lora tag <image> --add ...` to tag it.',
    )
  }
  const {tagPrompt, collapsedLine} = await import('./tag-prompt.js')
  const out = terminal.stdout as NodeJS.WritableStream & {columns?: number; rows?: number}
  const reserved = options.reservedRows ?? 0
  const collapse = (outcome: Parameters<typeof collapsedLine>[1]) => {
    options.beforeCollapse?.()
    out.write(collapsedLine(config.message, outcome, terminal.color, config.trigger) + '\n')
  }
  try {
    const answer = await tagPrompt(
      {
        ...config,
        color: terminal.color,
        size: () => ({columns: out.columns, rows: out.rows === undefined ? undefined : out.rows - reserved}),
        onResize: (listener) => {
          out.on('resize', listener)
          return () => out.off('resize', listener)
        },
      },
      {input: terminal.stdin, output: terminal.stdout, clearPromptOnDone: true},
    )
    collapse(answer)
    return answer
  } catch (error) {
    if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) {
      collapse({action: 'cancel'})
      throw new CancelledError()
    }
    throw error
  }
}

/**
 * The question `lora export` asks before writing into a destination that is not empty when `--force` was not
 * given: "Replace files of the same name in DEST?" (a file destination: "Replace DEST?"), default no. Undefined
 * when the terminal cannot prompt: the export then refuses, as it does in scripts.
 */
export function exportReplaceQuestion(terminal: Terminal): ExportOptions['confirmReplace'] {
  if (!terminal.canPrompt) return undefined
  return async ({dest, folder}) => {
    const {confirm} = await import('./ask.js')
    return confirm(terminal, {
      message: folder ? `Replace files of the same name in ${dest}?` : `Replace ${dest}?`,
      default: false,
      hint: 'Add --force to write into it.',
    })
  }
}
