import {Flags} from '@oclif/core'
import {CancelledError} from '../errors.js'
import {BaseCommand, commitFlag} from '../cli/base-command.js'
import {runTaggingSession, type SessionReport} from '../services/tagging-session.js'
import {renderSession, sessionSummary} from '../ui/render.js'
import {terminalTaggingUi} from '../ui/tagging-ui.js'
import {wrapText} from '../ui/text-layout.js'
import {chooseViewer} from '../services/viewer-choice.js'

export default class Resume extends BaseCommand<typeof Resume> {
  static summary = 'Keep tagging from where you stopped until no image is pending or you quit (Esc).'
  static description =
    'The same prompt as `lora next`, in a loop. Esc ends the run with a summary (exit 0); Ctrl-C cancels the current image and ends with the same summary (exit 130). Images saved before stay saved.'
  static examples = ['<%= config.bin %> resume']
  static flags = {
    viewer: Flags.string({
      summary:
        'Viewer for this run: auto, inline (drawn in the terminal), system, none, a command (the image path is appended), or a combination such as inline,system.',
    }),
    ...commitFlag,
  }

  async run(): Promise<SessionReport> {
    const dataset = await this.dataset()
    const ui = terminalTaggingUi(this.term, await chooseViewer(dataset, {flag: this.flags.viewer, env: process.env}))
    const report = await runTaggingSession(dataset, ui, {loop: true, commit: this.flags.commit})
    // Ctrl-C: the run's summary (what was saved, which image was not) is the exit message (exit 130).
    if (report.cancelled)
      throw new CancelledError(wrapText(sessionSummary(report, {loop: true}) ?? 'Cancelled.', this.term.messageWidth))
    if (!this.jsonEnabled()) renderSession(this.term, report, {loop: true})
    return report
  }
}
