import {Flags} from '@oclif/core'
import {BaseCommand, commitFlag} from '../../cli/base-command.js'
import {type BulkEditReport, normalizeCaptions} from '../../services/dataset-tags.js'
import {renderBulkEdit} from '../../ui/render-tags.js'

export default class TagsNormalize extends BaseCommand<typeof TagsNormalize> {
  static summary = 'Rewrite every caption and tags.txt in the configured tag style (tagStyle, lowercase).'
  static description =
    'tagStyle: keep | spaces | underscores in .lora-tagger/config.yaml; kaomoji such as ^_^ and tags of 3 characters or fewer keep their underscores.'
  static examples = ['<%= config.bin %> tags normalize --dry-run', '<%= config.bin %> tags normalize']
  static flags = {
    'dry-run': Flags.boolean({char: 'n', summary: 'Show the change per file; write nothing.'}),
    ...commitFlag,
  }

  async run(): Promise<BulkEditReport> {
    const dataset = await this.dataset()
    const report = await normalizeCaptions(dataset, {dryRun: Boolean(this.flags['dry-run']), commit: this.flags.commit})
    if (!this.jsonEnabled())
      renderBulkEdit(this.term, report, {
        action: 'normalize',
        tagStyle: dataset.config.tagStyle,
        lowercase: dataset.config.lowercase,
      })
    return report
  }
}
