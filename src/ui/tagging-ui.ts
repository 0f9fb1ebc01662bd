/** The terminal side of `lora next` / `lora resume`: image details on stderr, the viewer, the tag prompt. */
import {NeedsTerminalError} from '../errors.js'
import {ImageViewer, type ViewerMessage} from '../adapters/viewer.js'
import type {Terminal} from './terminal.js'
import {askTags} from './prompts/index.js'
import type {TaggingUi} from '../services/tagging-session.js'
import {progressText, renderMissingSkipped} from './render.js'
import type {ViewerChoice} from '../services/viewer-choice.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import {wrapText} from './text-layout.js'
import {InlinePreview} from './inline-preview.js'

/**
 * Builds the UI; `viewer` is the chosen viewer (services/viewer-choice.ts), whose warning (a dataset naming a
 * viewer, ignored) is printed here once. One viewer at a time (adapters/viewer.ts): each image closes the one
 * before, and `close` (called by the session however it ends) closes the last. With `inline`, the image is also
 * drawn in the terminal above the prompt (ui/inline-preview.ts), from when the prompt is shown until it ends. Ids,
 * original names and tags are shown escaped (core/terminal-text.ts).
 */
export function terminalTaggingUi(term: Terminal, viewer: ViewerChoice): TaggingUi {
  if (!term.canPrompt) {
    throw new NeedsTerminalError(
      'Tagging interactively needs a terminal (stdin and stdout must be a TTY).',
      'In scripts, use `lora next --print` to get the next image and `lora tag <image> --add ...` to tag it.',
    )
  }
  if (viewer.warning) term.warn(esc(viewer.warning))
  const c = term.colorErr
  const shown = new ImageViewer(viewer.command)
  const later: ViewerMessage[] = []
  const inline = viewer.inline ? new InlinePreview(term, viewer.previewRows ?? undefined) : undefined
  const print = (messages: ViewerMessage[]) => {
    for (const {level, text} of messages)
      if (level === 'warning') term.warn(esc(text))
      else term.info(`${c.dim('note:')} ${esc(text)}`)
  }
  return {
    skippedMissing(skipped) {
      renderMissingSkipped(term, skipped)
    },
    resuming(image, counts) {
      term.info(wrapText(`Resuming at ${c.bold(esc(image.id))} — ${progressText(counts)}`, term.messageWidth))
    },
    async present(item) {
      const {image} = item
      term.info(
        wrapText(
          `${c.bold(esc(image.id))}  ${esc(image.source)}  ${image.width}×${image.height}  ${c.dim(progressText(item.counts))}`,
          term.messageWidth,
        ),
      )
      print(await shown.show(item.path))
      // The terminal is asked (once per run) before the prompt reads stdin.
      await inline?.prepare()
    },
    async ask(item) {
      const reservedRows = inline?.reserve(item.image) ?? 0
      const why = inline?.whyNot()
      if (why) term.info(wrapText(`${c.dim('note:')} ${esc(why)}`, term.messageWidth))
      try {
        return await askTags(
          term,
          {
            message: `Tags for ${esc(item.image.id)}`,
            tags: item.tags,
            trigger: item.trigger,
            suggest: item.suggest,
            loadSuggestions: item.loadSuggestions,
            loadCaptions: item.loadCaptions,
            style: item.style,
            predicted: item.predicted,
            often: item.often,
            onShown: inline
              ? (rowsAboveCursor) =>
                  void inline.draw(item.path, rowsAboveCursor).then((warning) => {
                    // Said once the prompt has ended: a line written under it now would move it.
                    if (warning) later.push({level: 'warning', text: warning})
                  })
              : undefined,
          },
          {reservedRows, beforeCollapse: () => inline?.clear()},
        )
      } finally {
        inline?.clear()
        print(later.splice(0))
      }
    },
    saved(handled, counts) {
      const tags = [...handled.added.map((t) => `+${esc(t)}`), ...handled.removed.map((t) => `-${esc(t)}`)].join(' ')
      // A skip needs no "no change": skipping is the change (its tags, if edited first, are still shown).
      const change = tags ? `: ${tags}` : handled.action === 'skipped' ? '' : ': no change'
      const verb = handled.action === 'skipped' ? 'Skipped' : 'Saved'
      term.info(wrapText(`${c.green(verb)} ${esc(handled.id)}${change} — ${counts.pending} pending`, term.messageWidth))
    },
    async close() {
      print(await shown.close())
    },
  }
}
