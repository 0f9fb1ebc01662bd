import {Flags} from '@oclif/core'
import {BaseCommand, commitFlag} from '../cli/base-command.js'
import {nextImage, type NextImage} from '../services/next-image.js'
import {runTaggingSession, type SessionReport} from '../services/tagging-session.js'
import {renderNextPrint, renderSession} from '../ui/render.js'
import {terminalTaggingUi} from '../ui/tagging-ui.js'

export default class Next extends BaseCommand<typeof Next> {
  static summary = 'Tag the next pending image: opens it in the viewer and asks for tags with autocomplete.'
  static description = `Keys: type to filter suggestions from tags.txt; Tab accepts a suggestion; Enter adds the typed tag, and on an empty line saves; "-tag" Enter removes a tag; Backspace on an empty line removes the last tag; Ctrl-S skips the image; Esc or Ctrl-C quits without saving (exit 130).
Viewer: LORA_VIEWER or config "viewer" (a command; "none" for no viewer), else the system viewer.
In scripts use --print (plumbing) with \`lora tag\`.`
  static examples = ['<%= config.bin %> next', 'LORA_VIEWER=none <%= config.bin %> next', 'img=$(<%= config.bin %> next --print | cut -f1) && <%= config.bin %> tag "$img" --add "red hair"']
  static flags = {
    print: Flags.boolean({summary: 'Print the next pending image as `<id>\\t<path>` (nothing when none is left); no prompt, no viewer.'}),
    ...commitFlag,
  }

  async run(): Promise<NextImage | SessionReport | null> {
    const dataset = await this.dataset()
    if (this.flags.print) {
      const next = await nextImage(dataset)
      renderNextPrint(this.term, next, {json: this.jsonEnabled()})
      return next ?? null
    }
    const ui = terminalTaggingUi(this.term, process.env.LORA_VIEWER ?? dataset.config.viewer)
    const report = await runTaggingSession(dataset, ui, {loop: false, commit: this.flags.commit})
    if (!this.jsonEnabled()) renderSession(this.term, report, {loop: false})
    return report
  }
}
