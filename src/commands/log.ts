import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {type LogReport, tagLog} from '../services/history.js'
import {renderLog} from '../ui/render-history.js'

export default class Log extends BaseCommand<typeof Log> {
  static summary = 'Tag-level history, newest first: commit, date, author, image, +added −removed tags.'
  static description =
    'Computed from the caption files\u2019 diffs in git, so commits made by hand or by other tools count too.'
  static examples = [
    '<%= config.bin %> log',
    '<%= config.bin %> log img_0042',
    '<%= config.bin %> log --tag "red hair"',
    '<%= config.bin %> log -n 20 --json',
  ]
  static args = {
    image: Args.string({
      description: 'Only this image (number, id, file name or path)',
      required: false,
      ignoreStdin: true,
    }),
  }
  static flags = {
    tag: Flags.string({summary: 'Only changes adding or removing this tag.'}),
    'max-count': Flags.integer({char: 'n', summary: 'Show at most this many entries.', min: 1}),
  }

  async run(): Promise<LogReport> {
    const report = await tagLog(await this.dataset(), {
      image: this.args.image,
      tag: this.flags.tag,
      limit: this.flags['max-count'],
      cwd: process.cwd(),
    })
    if (!this.jsonEnabled()) renderLog(this.term, report)
    return report
  }
}
