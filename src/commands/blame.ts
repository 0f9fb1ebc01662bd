import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {blameImage, type BlameReport} from '../services/history.js'
import {renderBlame} from '../ui/render-history.js'

export default class Blame extends BaseCommand<typeof Blame> {
  static summary = "For each tag in an image's caption, the commit that added it."
  static examples = ['<%= config.bin %> blame img_0042', '<%= config.bin %> blame 42 --json']
  static args = {
    image: Args.string({description: 'The image (number, id, file name or path)', required: true, ignoreStdin: true}),
  }

  async run(): Promise<BlameReport> {
    const report = await blameImage(await this.dataset(), {image: this.args.image, cwd: process.cwd()})
    if (!this.jsonEnabled()) renderBlame(this.term, report)
    return report
  }
}
