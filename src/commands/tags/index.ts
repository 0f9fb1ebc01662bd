import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {listTags, type TagList} from '../../services/dataset-tags.js'
import {renderTagList} from '../../ui/render-tags.js'

export default class Tags extends BaseCommand<typeof Tags> {
  static summary = "List the dataset's tags with how many captions use each."
  static description = 'Subcommands edit tags across the whole dataset: rename, rm, add, import, normalize.'
  static examples = [
    '<%= config.bin %> tags',
    '<%= config.bin %> tags --sort name',
    '<%= config.bin %> tags --unused',
    '<%= config.bin %> tags --json | jq ".tags[:5]"',
  ]
  static flags = {
    sort: Flags.string({
      summary: 'Order: by count (most used first) or by name.',
      options: ['count', 'name'],
      default: 'count',
    }),
    unused: Flags.boolean({summary: 'List vocabulary entries (tags.txt) that no caption uses.'}),
  }

  async run(): Promise<TagList> {
    const list = await listTags(await this.dataset(), {
      sort: this.flags.sort as 'count' | 'name',
      unused: this.flags.unused,
    })
    if (!this.jsonEnabled()) renderTagList(this.term, list)
    return list
  }
}
