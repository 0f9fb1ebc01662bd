import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {UsageError, ValidationFailedError} from '../errors.js'
import {EXPORT_FORMATS, exportDataset, type ExportReport, stdoutNeedsFileFormat} from '../services/export.js'
import {exportReplaceQuestion} from '../ui/prompts/index.js'
import {renderExport, renderExportSkipped, renderTargetExport} from '../ui/render.js'
import {CONVERT_FORMATS, type ConvertFormat, EXPORT_TARGETS, type ExportTarget} from '../core/export-targets.js'
import {exportTarget, type TargetExportReport} from '../services/export-target.js'
import {escapeControls, refuseControlFlag} from '../core/terminal-text.js'
import {refuseNoncharacterFlag} from '../core/caption.js'
import {counted} from '../core/plural.js'

export default class Export extends BaseCommand<typeof Export> {
  static summary = 'Write the tagged images in a format trainers read, or exactly what a trainer loads (--target).'
  static description = `--target kohya|kohya-finetune|ai-toolkit|onetrainer|diffusion-pipe|hf|civitai: the trainer's layout, its config file (dataset.toml, ai-toolkit.yaml, concepts.json, metadata.jsonl + README.md) and lora-export.json; images stripped of metadata (EXIF orientation applied first) unless --keep-metadata, resized with --max-side, converted with --convert; then checked with lora validate's rules (errors: exit 4, export kept).
folder: images + caption files (kohya sd-scripts, ai-toolkit, CivitAI); with --repeats N they go in kohya's "N_<trigger> <class>" subfolder.
csv, tsv, json, jsonl: one record per image (file, caption, tags, width, height, sha256); DEST "-" writes to stdout.
Only tagged images unless --include-pending or --include-auto (captions written by lora autotag, not reviewed); the trigger word comes first.`
  static examples = [
    '<%= config.bin %> export ./train --target kohya --repeats 10 --class woman',
    '<%= config.bin %> export ./train --target ai-toolkit --max-side 1024 --convert jpg --quality 92',
    '<%= config.bin %> export ./upload.zip --target civitai',
    '<%= config.bin %> export ./train --format folder --repeats 10 --class woman',
    '<%= config.bin %> export captions.jsonl --format jsonl',
    '<%= config.bin %> export - --format csv | head',
  ]
  static args = {
    dest: Args.string({
      description:
        'Destination folder (folder, --target) or file (csv, tsv, json, jsonl; "-" for stdout; the zip with --zip or --target civitai)',
      required: true,
      ignoreStdin: true,
    }),
  }
  static flags = {
    format: Flags.string({char: 'f', summary: 'Output format (default folder).', options: [...EXPORT_FORMATS]}),
    target: Flags.string({
      char: 't',
      summary: 'Trainer to write for: its layout, config file and image formats.',
      options: [...EXPORT_TARGETS],
    }),
    repeats: Flags.integer({
      summary:
        'Repeats per epoch (kohya folder and num_repeats, ai-toolkit, OneTrainer balancing, diffusion-pipe); with --format folder a "<repeats>_<trigger> <class>" subfolder.',
      min: 1,
    }),
    class: Flags.string({summary: 'kohya class token (folder name and class_tokens).'}),
    resolution: Flags.integer({summary: 'Training resolution written in the config (--target; default 1024).'}),
    'max-side': Flags.integer({
      summary: 'Resize images to fit inside N×N pixels, never enlarging (Lanczos; --target).',
    }),
    convert: Flags.string({
      summary: 'Re-encode every image as png, jpg or webp (--target).',
      options: [...CONVERT_FORMATS],
    }),
    quality: Flags.integer({summary: 'JPEG/WebP quality 1-100 for re-encoded images (default 90).'}),
    'keep-metadata': Flags.boolean({
      summary: 'Keep EXIF/XMP/IPTC/ICC in the images (default: stripped, GPS above all; --target).',
    }),
    zip: Flags.boolean({summary: 'Write one zip file DEST instead of a folder (--target; always for civitai).'}),
    'full-path': Flags.boolean({summary: 'kohya-finetune: metadata keys are absolute image paths, not stems.'}),
    link: Flags.boolean({
      summary:
        "Hard-link images that need no change instead of copying them (same file system; --target). An in-place edit of an exported image then changes the dataset's file.",
    }),
    'dry-run': Flags.boolean({summary: 'Say what would be written, write nothing (--target).'}),
    'include-pending': Flags.boolean({summary: 'Also export images not tagged yet.'}),
    'include-auto': Flags.boolean({
      summary: 'Also export images captioned by lora autotag that no person has reviewed (status auto).',
    }),
    force: Flags.boolean({
      summary:
        'Write into a non-empty destination, replacing files of the same name (on a terminal, lora asks instead).',
    }),
    'skip-missing': Flags.boolean({
      summary:
        'Leave out images whose file is missing or changed since lora recorded it (with a warning) instead of refusing.',
    }),
  }

  async run(): Promise<ExportReport | TargetExportReport> {
    const {flags, args} = this
    refuseControlFlag('--class', flags.class)
    refuseNoncharacterFlag('--class', flags.class)
    if (flags.target !== undefined) return this.runTarget(flags.target as ExportTarget)
    const targetOnly = (
      ['resolution', 'max-side', 'convert', 'quality', 'keep-metadata', 'zip', 'full-path', 'link', 'dry-run'] as const
    ).filter((f) => flags[f] !== undefined && flags[f] !== false)
    if (targetOnly.length)
      throw new UsageError(
        `--${targetOnly[0]} needs --target (it applies to trainer exports); nothing was written.`,
        'Add --target T (kohya, kohya-finetune, ai-toolkit, onetrainer, diffusion-pipe, hf, civitai).',
      )
    flags.format ??= 'folder'
    // A usage error needs no dataset: refused before one is looked for.
    if (args.dest === '-' && flags.format === 'folder') throw stdoutNeedsFileFormat()
    if (args.dest === '-' && this.jsonEnabled())
      throw new UsageError('--json and DEST "-" both write to stdout.', 'Drop --json, or write to a file.')
    const report = await exportDataset(await this.dataset(), {
      dest: args.dest,
      format: flags.format as ExportReport['format'],
      repeats: flags.repeats,
      classWord: flags.class,
      includePending: flags['include-pending'],
      includeAuto: flags['include-auto'],
      force: flags.force,
      confirmReplace: exportReplaceQuestion(this.term),
      cwd: process.cwd(),
      skipMissing: flags['skip-missing'] ? (left) => renderExportSkipped(this.term, left) : undefined,
      progress: (label, total) => this.term.progress(label, total),
      stdout: (text) => this.term.data(text),
    })
    if (!this.jsonEnabled()) renderExport(this.term, report)
    return report
  }

  /** `--target T`: the trainer export (services/export-target.ts); validation errors exit 4 after the report. */
  private async runTarget(target: ExportTarget): Promise<TargetExportReport> {
    const {flags, args} = this
    if (flags.format !== undefined)
      throw new UsageError(
        `--format and --target both choose what is written; give one (--format ${flags.format} or --target ${target}).`,
        "Drop --format: --target writes the images, captions and the trainer's config.",
      )
    const report = await exportTarget(await this.dataset(), {
      dest: args.dest,
      target,
      flags: {
        repeats: flags.repeats,
        classWord: flags.class,
        resolution: flags.resolution,
        maxSide: flags['max-side'],
        convert: flags.convert as ConvertFormat | undefined,
        quality: flags.quality,
        keepMetadata: flags['keep-metadata'] || undefined,
        zip: flags.zip || undefined,
        fullPath: flags['full-path'] || undefined,
        link: flags.link || undefined,
      },
      includePending: Boolean(flags['include-pending']),
      includeAuto: Boolean(flags['include-auto']),
      force: Boolean(flags.force),
      dryRun: Boolean(flags['dry-run']),
      confirmReplace: exportReplaceQuestion(this.term),
      cwd: process.cwd(),
      skipMissing: flags['skip-missing'] ? (left) => renderExportSkipped(this.term, left) : undefined,
      progress: (label, total) => this.term.progress(label, total),
      version: this.config.version,
    })
    const errors = report.validation?.errors ?? 0
    if (this.jsonEnabled()) {
      if (errors > 0) this.logJson(report)
    } else renderTargetExport(this.term, report)
    if (errors > 0)
      throw new ValidationFailedError(
        `The export was written and kept at ${escapeControls(report.dest)}, but lora validate's ${report.validation!.target} rules found ${counted(errors, 'error')} in it.`,
        `See the findings above (or run lora validate on the export folder with --target ${report.validation!.target}); fix the dataset and export again with --force.`,
      )
    return report
  }
}
