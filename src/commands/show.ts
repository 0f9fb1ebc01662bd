import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {showImage, type ShowReport} from '../services/show.js'
import {renderShow} from '../ui/render-show.js'

export default class Show extends BaseCommand<typeof Show> {
  static summary = 'Show one image: its file, original, size, sha256, status and tags.'
  static description =
    'Reads only. The image is named as for `lora tag`: by number, id, file name, path, or its original. --json gives a stable shape (README "lora show").'
  static examples = [
    '<%= config.bin %> show 42',
    '<%= config.bin %> show img_0042 --json',
    '<%= config.bin %> show photos/cat.jpg',
  ]
  static args = {
    image: Args.string({
      description: 'The image (number, id, file name, path, or original)',
      required: true,
      ignoreStdin: true,
    }),
  }

  async run(): Promise<ShowReport> {
    const report = await showImage(await this.dataset(), this.args.image, {cwd: process.cwd()})
    if (!this.jsonEnabled()) renderShow(this.term, report)
    return report
  }
}
