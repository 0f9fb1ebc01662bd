import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {UsageError} from '../../errors.js'
import {CATEGORIES, type ReferenceInfo} from '../../core/reference.js'
import {importReference, type ImportReport, listReferences, removeReference} from '../../services/references.js'
import {renderImport, renderReferenceRemoved, renderReferences} from '../../ui/render-tags.js'

export default class TagsImport extends BaseCommand<typeof TagsImport> {
  static summary = 'Import a reference vocabulary for autocomplete (a1111 tagcomplete CSV or one tag per line).'
  static description = `Stored under .lora-tagger/reference/ (tags.txt stays the dataset's own tags); importing a file of the same name again replaces it.
CSV columns: name,category,post_count,"alias1,alias2" (no header). Categories: 0 general, 1 artist, 3 copyright, 4 character, 5 meta.`
  static examples = [
    '<%= config.bin %> tags import danbooru.csv --min-count 100 --category general,character',
    '<%= config.bin %> tags import my-tags.txt',
    '<%= config.bin %> tags import --list',
    '<%= config.bin %> tags import --remove danbooru',
  ]
  static args = {file: Args.string({description: 'CSV or text file to import', required: false, ignoreStdin: true})}
  static flags = {
    'min-count': Flags.integer({summary: 'Keep tags with at least this post count.', min: 0}),
    category: Flags.string({summary: 'Keep these categories (names or numbers, comma-separated).'}),
    format: Flags.string({summary: 'Input format [default: csv for .csv files, else text].', options: ['csv', 'text']}),
    name: Flags.string({summary: 'Name to store it under [default: the file name without extension].'}),
    list: Flags.boolean({summary: 'List the imported reference vocabularies.', exclusive: ['remove']}),
    remove: Flags.string({summary: 'Remove the reference vocabulary of this name.', exclusive: ['list']}),
  }

  async run(): Promise<ImportReport | {references: ReferenceInfo[]} | {removed: string}> {
    const {flags, args} = this
    const dataset = await this.dataset()
    if (flags.list) {
      const references = await listReferences(dataset)
      if (!this.jsonEnabled()) renderReferences(this.term, references)
      return {references}
    }
    if (flags.remove) {
      await removeReference(dataset, flags.remove)
      if (!this.jsonEnabled()) renderReferenceRemoved(this.term, flags.remove)
      return {removed: flags.remove}
    }
    if (!args.file)
      throw new UsageError('Give a file to import, or --list / --remove NAME.', 'lora tags import danbooru.csv')
    const categories = flags.category?.split(',').map((c) => parseCategory(c.trim()))
    const report = await importReference(dataset, {
      file: args.file,
      format: flags.format as 'csv' | 'text' | undefined,
      name: flags.name,
      filter: {minCount: flags['min-count'], categories},
      cwd: process.cwd(),
    })
    if (!this.jsonEnabled()) renderImport(this.term, report)
    return report
  }
}

function parseCategory(value: string): number {
  if (/^\d+$/u.test(value)) return Number(value)
  const n = CATEGORIES[value.toLowerCase()]
  if (n === undefined)
    throw new UsageError(`Unknown category "${value}".`, `Use ${Object.keys(CATEGORIES).join(', ')} or their numbers.`)
  return n
}
