import {Args, Flags} from '@oclif/core'
import {BaseCommand, commitFlag} from '../cli/base-command.js'
import {UsageError} from '../errors.js'
import {initDataset, type InitSummary} from '../services/init.js'
import {renderInit} from '../ui/render.js'
import {CAPTION_EXTENSION_HINT, captionExtensionProblem} from '../core/caption-extension.js'
import {refuseControlFlag} from '../core/terminal-text.js'
import {refuseNoncharacterFlag} from '../core/caption.js'

export default class Init extends BaseCommand<typeof Init> {
  static summary = 'Make a folder of images a dataset: sequential names, one caption file per image.'
  static description = `Images (jpg, jpeg, png, webp, bmp, gif, tif, tiff, avif) are named <prefix><n>.<ext> in natural order of their paths and placed in <dir>/output/ with a caption file each. Rerun it to add new images; existing ids never change. Files that are not usable images are listed and left untouched.`
  static examples = [
    '<%= config.bin %> init ./imgs',
    '<%= config.bin %> init ./imgs --move --trigger ohwx --prefix char_',
    '<%= config.bin %> init ./imgs --recursive --caption-ext .caption --json',
  ]
  static args = {dir: Args.string({description: 'Folder holding the images', required: true, ignoreStdin: true})}
  static flags = {
    copy: Flags.boolean({
      summary: 'Copy the originals (default; a copy-on-write clone where the file system supports it).',
      exclusive: ['move', 'link'],
    }),
    move: Flags.boolean({
      summary: 'Move the originals (each removed only after its new file is verified).',
      exclusive: ['copy', 'link'],
    }),
    link: Flags.boolean({summary: 'Hard-link the originals (same file system only).', exclusive: ['copy', 'move']}),
    recursive: Flags.boolean({char: 'r', summary: 'Include images in subfolders.'}),
    prefix: Flags.string({summary: 'Prefix of the new names [default: img_].'}),
    out: Flags.string({summary: 'Output folder inside <dir> [default: output].'}),
    'caption-ext': Flags.string({summary: 'Caption extension: .txt (default) or .caption (sd-scripts).'}),
    trigger: Flags.string({summary: 'Trigger word, kept as the first tag of every caption.'}),
    strict: Flags.boolean({summary: 'Fail (changing nothing) when a file is not a usable image.'}),
    verify: Flags.boolean({summary: 'Decode every image fully to catch truncated files (slower).'}),
    git: Flags.boolean({summary: 'Keep the dataset history in git (the enclosing repository, or a new one here).'}),
    lfs: Flags.boolean({summary: 'With --git: store the images with git-lfs.', dependsOn: ['git']}),
    ...commitFlag,
  }

  async run(): Promise<InitSummary> {
    const {flags, args} = this
    // Refused before anything is read or moved (README "Safety model").
    const extProblem = flags['caption-ext'] === undefined ? undefined : captionExtensionProblem(flags['caption-ext'])
    if (extProblem)
      throw new UsageError(`--caption-ext ${flags['caption-ext']}: ${extProblem}.`, CAPTION_EXTENSION_HINT)
    refuseControlFlag('--prefix', flags.prefix)
    refuseControlFlag('--trigger', flags.trigger)
    refuseNoncharacterFlag('--trigger', flags.trigger)
    const summary = await initDataset({
      dir: args.dir,
      mode: flags.move ? 'move' : flags.link ? 'link' : 'copy',
      recursive: flags.recursive,
      strict: flags.strict,
      verify: flags.verify,
      prefix: flags.prefix,
      output: flags.out,
      captionExtension: flags['caption-ext'],
      trigger: flags.trigger,
      progress: (label, total) => this.term.progress(label, total),
      git: flags.git ? {lfs: Boolean(flags.lfs)} : undefined,
      commit: flags.commit,
    })
    if (!this.jsonEnabled()) renderInit(this.term, summary)
    return summary
  }
}
