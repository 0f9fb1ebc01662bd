import {Args, Flags} from '@oclif/core'
import {BaseCommand, commitFlag} from '../../cli/base-command.js'
import {type BulkEditReport, removeTags} from '../../services/dataset-tags.js'
import {renderBulkEdit} from '../../ui/render-tags.js'

export default class TagsRm extends BaseCommand<typeof TagsRm> {
  static summary = 'Remove tags from every caption and from the vocabulary.'
  static strict = false
  static examples = ['<%= config.bin %> tags rm watermark "signature"', '<%= config.bin %> tags rm blurry --dry-run']
  static args = {tag: Args.string({description: 'Tags to remove', required: true, ignoreStdin: true})}
  static flags = {
    'dry-run': Flags.boolean({char: 'n', summary: 'Show the change per file; write nothing.'}),
    ...commitFlag,
  }

  async run(): Promise<BulkEditReport> {
    const report = await removeTags(await this.dataset(), {
      tags: this.positional,
      dryRun: Boolean(this.flags['dry-run']),
      commit: this.flags.commit,
    })
    if (!this.jsonEnabled()) renderBulkEdit(this.term, report, {action: 'rm', tags: this.positional})
    return report
  }
}
