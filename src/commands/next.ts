import {Flags} from '@oclif/core'
import {CancelledError} from '../errors.js'
import {BaseCommand, commitFlag} from '../cli/base-command.js'
import {nextImage, type NextImage} from '../services/next-image.js'
import {runTaggingSession, type SessionReport} from '../services/tagging-session.js'
import {renderMissingSkipped, renderNextPrint, renderSession, sessionSummary} from '../ui/render.js'
import {terminalTaggingUi} from '../ui/tagging-ui.js'
import {wrapText} from '../ui/text-layout.js'
import {chooseViewer} from '../services/viewer-choice.js'

export default class Next extends BaseCommand<typeof Next> {
  static summary = 'Tag the next pending image: opens it in the viewer and asks for tags with autocomplete.'
  static description = `Keys: type to filter suggestions from tags.txt; Tab accepts a suggestion; Enter adds the typed tag, and on an empty line saves; "-tag" Enter removes a tag; Backspace on an empty line removes the last tag; Ctrl-S skips the image; Esc quits without saving (exit 0); Ctrl-C cancels (exit 130).
Viewer: --viewer, else LORA_VIEWER, else "viewer" in your own config (~/.config/lora/config.yaml), else auto: the system viewer when there is a display, else the image drawn in the terminal above the prompt. "inline", "system", "none", a command, or "inline,system". A dataset's config cannot choose it.
In scripts use --print (plumbing) with \`lora tag\`.`
  static examples = [
    '<%= config.bin %> next',
    'LORA_VIEWER=none <%= config.bin %> next',
    'img=$(<%= config.bin %> next --print | cut -f1) && <%= config.bin %> tag "$img" --add "red hair"',
  ]
  static flags = {
    print: Flags.boolean({
      summary: 'Print the next pending image as `<id>\\t<path>` (nothing when none is left); no prompt, no viewer.',
    }),
    viewer: Flags.string({
      summary:
        'Viewer for this run: auto, inline (drawn in the terminal), system, none, a command (the image path is appended), or a combination such as inline,system.',
    }),
    ...commitFlag,
  }

  async run(): Promise<NextImage | SessionReport | null> {
    const dataset = await this.dataset()
    if (this.flags.print) {
      const {next, skippedMissing} = await nextImage(dataset)
      renderMissingSkipped(this.term, skippedMissing)
      renderNextPrint(this.term, next, {json: this.jsonEnabled()})
      return next ?? null
    }
    const ui = terminalTaggingUi(this.term, await chooseViewer(dataset, {flag: this.flags.viewer, env: process.env}))
    const report = await runTaggingSession(dataset, ui, {loop: false, commit: this.flags.commit})
    // Ctrl-C: the run's summary (what was saved, which image was not) is the exit message (exit 130).
    if (report.cancelled)
      throw new CancelledError(wrapText(sessionSummary(report, {loop: false}) ?? 'Cancelled.', this.term.messageWidth))
    if (!this.jsonEnabled()) renderSession(this.term, report, {loop: false})
    return report
  }
}
