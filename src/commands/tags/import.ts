import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {UsageError} from '../../errors.js'
import type {ReferenceInfo} from '../../core/reference.js'
import {CATEGORY_SCHEMES, type CategoryScheme} from '../../core/categories.js'
import {importReference, type ImportReport, listReferences, removeReference} from '../../services/references.js'
import {renderImport, renderReferenceRemoved, renderReferences} from '../../ui/render-tags.js'

export default class TagsImport extends BaseCommand<typeof TagsImport> {
  static summary = 'Import a reference vocabulary for autocomplete (a1111 tagcomplete CSV or one tag per line).'
  static description = `Stored under .lora-tagger/reference/ (tags.txt stays the dataset's own tags); importing a file of the same name again replaces it.
CSV columns: name,category,post_count,"alias1,alias2" (no header). Rows no tool can use (an empty name, a category that is not a number, too many columns) are skipped with one warning.
Category numbers mean different things per site (--categories, chosen from the file name: danbooru*.csv → danbooru, e621*.csv → e621, else numbers):
  danbooru: 0 general, 1 artist, 3 copyright, 4 character, 5 meta
  e621: 0 general, 1 artist, 3 copyright, 4 character, 5 species, 6 invalid, 7 meta, 8 lore
  numbers: no names; --category takes numbers only`
  static examples = [
    '<%= config.bin %> tags import danbooru.csv --min-count 100 --category general,character',
    '<%= config.bin %> tags import e621.csv --category species',
    '<%= config.bin %> tags import my-booru.csv --categories e621',
    '<%= config.bin %> tags import my-tags.txt',
    '<%= config.bin %> tags import --list',
    '<%= config.bin %> tags import --remove danbooru',
  ]
  static args = {file: Args.string({description: 'CSV or text file to import', required: false, ignoreStdin: true})}
  static flags = {
    'min-count': Flags.integer({summary: 'Keep tags with at least this post count.', min: 0}),
    category: Flags.string({
      summary: "Keep these categories (names in the file's category scheme, or numbers; comma-separated).",
    }),
    categories: Flags.string({
      summary: 'What its category numbers mean [default: from the file name: danbooru*, e621*, else numbers].',
      options: [...CATEGORY_SCHEMES],
    }),
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
    const report = await importReference(dataset, {
      file: args.file,
      format: flags.format as 'csv' | 'text' | undefined,
      name: flags.name,
      categories: flags.categories as CategoryScheme | undefined,
      minCount: flags['min-count'],
      category: flags.category?.split(','),
      cwd: process.cwd(),
    })
    if (!this.jsonEnabled()) renderImport(this.term, report)
    return report
  }
}
