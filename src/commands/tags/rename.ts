import {Args, Flags} from '@oclif/core'
import {BaseCommand, commitFlag} from '../../cli/base-command.js'
import {type BulkEditReport, renameTag} from '../../services/dataset-tags.js'
import {renderBulkEdit} from '../../ui/render-tags.js'

export default class TagsRename extends BaseCommand<typeof TagsRename> {
  static summary = 'Rename a tag in every caption and in tags.txt (merging when the new tag exists).'
  static description =
    "A caption that has both keeps one: the new tag takes the old tag's position. All captions change together or not at all."
  static examples = [
    '<%= config.bin %> tags rename longhair "long hair"',
    '<%= config.bin %> tags rename girl 1girl --dry-run',
  ]
  static args = {
    old: Args.string({description: 'Tag to rename', required: true, ignoreStdin: true}),
    new: Args.string({description: 'New name', required: true, ignoreStdin: true}),
  }
  static flags = {
    'dry-run': Flags.boolean({char: 'n', summary: 'Show the change per file; write nothing.'}),
    ...commitFlag,
  }

  async run(): Promise<BulkEditReport> {
    const report = await renameTag(await this.dataset(), {
      from: this.args.old,
      to: this.args.new,
      dryRun: Boolean(this.flags['dry-run']),
      commit: this.flags.commit,
    })
    if (!this.jsonEnabled())
      renderBulkEdit(this.term, report, {action: 'rename', from: this.args.old, to: this.args.new})
    return report
  }
}
