/** The terminal side of `lora next` / `lora resume`: image details on stderr, the viewer, the tag prompt. */
import {NeedsTerminalError} from '../errors.js'
import {showImage} from '../adapters/viewer.js'
import type {Terminal} from './terminal.js'
import {askTags} from './prompts/index.js'
import type {TaggingUi} from '../services/tagging-session.js'
import {progressText} from './render.js'

/** Builds the UI; `viewer` is LORA_VIEWER or the config's viewer (null: system viewer). */
export function terminalTaggingUi(term: Terminal, viewer: string | null): TaggingUi {
  if (!term.canPrompt) {
    throw new NeedsTerminalError('Tagging interactively needs a terminal (stdin and stdout must be a TTY).', 'In scripts, use `lora next --print` to get the next image and `lora tag <image> --add ...` to tag it.')
  }
  const c = term.colorErr
  return {
    resuming(image, counts) {
      term.info(`Resuming at ${c.bold(image.id)} — ${progressText(counts)}`)
    },
    async present(item) {
      const {image} = item
      term.info(`${c.bold(image.id)}  ${image.source}  ${image.width}×${image.height}  ${c.dim(progressText(item.counts))}`)
      const warning = await showImage(item.path, viewer)
      if (warning) term.warn(warning)
    },
    ask(item) {
      return askTags(term, {message: `Tags for ${item.image.id}`, tags: item.tags, trigger: item.trigger, suggest: item.suggest, style: item.style})
    },
    saved(handled, counts) {
      const change = [...handled.added.map((t) => `+${t}`), ...handled.removed.map((t) => `-${t}`)].join(' ') || 'no change'
      const verb = handled.action === 'skipped' ? 'Skipped' : 'Saved'
      term.info(`${c.green(verb)} ${handled.id}: ${change} — ${counts.pending} pending`)
    },
  }
}
