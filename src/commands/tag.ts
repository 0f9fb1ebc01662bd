import {Args, Flags} from '@oclif/core'
import {BaseCommand, commitFlag} from '../cli/base-command.js'
import {parseTagList} from '../core/caption.js'
import {UsageError} from '../errors.js'
import {readStdinLines} from '../ui/stdin.js'
import {tagImages, type TagReport} from '../services/tag-images.js'
import {renderTag} from '../ui/render.js'

export default class Tag extends BaseCommand<typeof Tag> {
  static summary = 'Edit captions non-interactively (for scripts).'
  static description =
    'Images are named by number (42), id (img_0042), file name or path, or selected in bulk. Updates the caption files, tags.txt and the state in one step.'
  static strict = false
  static examples = [
    '<%= config.bin %> tag 42 --add "red hair,smile"',
    '<%= config.bin %> tag img_0001 img_0002 --remove hat',
    '<%= config.bin %> tag --all --with "1girl" --add solo --dry-run',
    "printf 'img_0001\\tcat, sitting\\n' | <%= config.bin %> tag --stdin",
  ]
  static args = {image: Args.string({description: 'Images to edit (any number)', required: false, ignoreStdin: true})}
  static flags = {
    add: Flags.string({
      char: 'a',
      summary: 'Tags to add, comma-separated (repeatable).',
      multiple: true,
      multipleNonGreedy: true,
    }),
    remove: Flags.string({
      char: 'r',
      summary: 'Tags to remove, comma-separated (repeatable).',
      multiple: true,
      multipleNonGreedy: true,
    }),
    set: Flags.string({summary: 'Replace all tags with these (comma-separated).'}),
    clear: Flags.boolean({summary: 'Remove all tags (the image becomes pending).'}),
    skip: Flags.boolean({summary: 'Mark the images skipped.', exclusive: ['unskip']}),
    unskip: Flags.boolean({
      summary: 'Bring skipped images back (tagged if they have tags, else pending); the skip reason is dropped.',
      exclusive: ['skip'],
    }),
    stdin: Flags.boolean({
      summary: 'Read `<image>\\t<tags>` lines from stdin (tags alone when one image is named); they replace the tags.',
    }),
    all: Flags.boolean({summary: 'Select every image.'}),
    pending: Flags.boolean({summary: 'Select pending images.'}),
    with: Flags.string({
      summary: 'Select images having this tag (repeatable).',
      multiple: true,
      multipleNonGreedy: true,
    }),
    without: Flags.string({
      summary: 'Select images without this tag (repeatable).',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'dry-run': Flags.boolean({char: 'n', summary: 'Show what would change; write nothing.'}),
    ...commitFlag,
  }

  async run(): Promise<TagReport> {
    const {flags} = this
    // A value that holds no tag (`--add ' , '`) is a mistake, not "nothing to change".
    const list = (values: string[] | undefined, flag = '') =>
      (values ?? []).flatMap((v) => {
        const tags = parseTagList(v)
        if (flag && tags.length === 0)
          throw new UsageError(
            `${flag} ${JSON.stringify(v)} holds no tag.`,
            `Give tags separated by commas, e.g. ${flag} "red hair,smile".`,
          )
        return tags
      })
    const report = await tagImages(await this.dataset(), {
      refs: this.positional,
      all: flags.all,
      pending: flags.pending,
      with: list(flags.with),
      without: list(flags.without),
      change: {
        add: list(flags.add, '--add'),
        remove: list(flags.remove, '--remove'),
        set: flags.set === undefined ? undefined : parseTagList(flags.set),
        clear: flags.clear,
        skip: flags.skip,
        unskip: flags.unskip,
      },
      stdinLines: flags.stdin ? await readStdinLines(this.term) : undefined,
      dryRun: Boolean(flags['dry-run']),
      cwd: process.cwd(),
      commit: flags.commit,
    })
    if (!this.jsonEnabled()) renderTag(this.term, report)
    return report
  }
}
