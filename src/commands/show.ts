import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {showImage, type ShowReport} from '../services/show.js'
import {renderShow} from '../ui/render-show.js'
import {InlinePreview} from '../ui/inline-preview.js'
import {previewRows} from '../services/viewer-choice.js'
import {escapeControls as esc} from '../core/terminal-text.js'

export default class Show extends BaseCommand<typeof Show> {
  static summary = 'Show one image: its file, original, size, sha256, status and tags.'
  static description =
    'Reads only. The image is named as for `lora tag`: by number, id, file name, path, or its original. --json gives a stable shape (README "lora show"). --preview draws the image in the terminal below the report (README "Images in the terminal").'
  static examples = [
    '<%= config.bin %> show 42',
    '<%= config.bin %> show img_0042 --json',
    '<%= config.bin %> show photos/cat.jpg',
    '<%= config.bin %> show 42 --preview',
  ]
  static flags = {
    preview: Flags.boolean({
      summary:
        'Draw the image in the terminal below the report (kitty, iTerm2, sixel or half blocks; nothing when stdout is not a terminal or with --json).',
    }),
  }
  static args = {
    image: Args.string({
      description: 'The image (number, id, file name, path, or original)',
      required: true,
      ignoreStdin: true,
    }),
  }

  async run(): Promise<ShowReport> {
    const report = await showImage(await this.dataset(), this.args.image, {cwd: process.cwd()})
    if (this.jsonEnabled()) return report
    renderShow(this.term, report)
    if (this.flags.preview) {
      const rows = await previewRows(process.env)
      const warning = await new InlinePreview(this.term, rows ?? undefined).drawHere(report.path)
      if (warning) this.term.warn(esc(warning))
    }
    return report
  }
}
