import {Args, Flags} from '@oclif/core'
import {BaseCommand, commitFlag} from '../../cli/base-command.js'
import {addToVocabulary, type BulkEditReport} from '../../services/dataset-tags.js'
import {renderBulkEdit} from '../../ui/render-tags.js'

export default class TagsAdd extends BaseCommand<typeof TagsAdd> {
  static summary = 'Add tags to the vocabulary (tags.txt) only, for autocomplete; no caption changes.'
  static strict = false
  static examples = ['<%= config.bin %> tags add "red hair" smile']
  static args = {tag: Args.string({description: 'Tags to add', required: true, ignoreStdin: true})}
  static flags = {
    'dry-run': Flags.boolean({char: 'n', summary: 'Show what would be added; write nothing.'}),
    ...commitFlag,
  }

  async run(): Promise<BulkEditReport> {
    const report = await addToVocabulary(await this.dataset(), {
      tags: this.positional,
      dryRun: Boolean(this.flags['dry-run']),
      commit: this.flags.commit,
    })
    if (!this.jsonEnabled()) renderBulkEdit(this.term, report, {action: 'add'})
    return report
  }
}
