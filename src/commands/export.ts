import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {UsageError} from '../errors.js'
import {EXPORT_FORMATS, exportDataset, type ExportReport, stdoutNeedsFileFormat} from '../services/export.js'
import {exportReplaceQuestion} from '../ui/prompts/index.js'
import {renderExport, renderExportSkipped} from '../ui/render.js'
import {refuseControlFlag} from '../core/terminal-text.js'

export default class Export extends BaseCommand<typeof Export> {
  static summary = 'Write the tagged images in a format trainers read.'
  static description = `folder: images + caption files (kohya sd-scripts, ai-toolkit, CivitAI); with --repeats N they go in kohya's "N_<trigger> <class>" subfolder.
csv, tsv, json, jsonl: one record per image (file, caption, tags, width, height, sha256); DEST "-" writes to stdout.
Only tagged images unless --include-pending or --include-auto (captions written by lora autotag, not reviewed); the trigger word comes first.`
  static examples = [
    '<%= config.bin %> export ./train --format folder --repeats 10 --class woman',
    '<%= config.bin %> export captions.jsonl --format jsonl',
    '<%= config.bin %> export - --format csv | head',
  ]
  static args = {
    dest: Args.string({
      description: 'Destination folder (folder) or file (csv, tsv, json, jsonl; "-" for stdout)',
      required: true,
      ignoreStdin: true,
    }),
  }
  static flags = {
    format: Flags.string({char: 'f', summary: 'Output format.', options: [...EXPORT_FORMATS], default: 'folder'}),
    repeats: Flags.integer({
      summary: 'kohya repeats: put the images in a "<repeats>_<trigger> <class>" subfolder.',
      min: 1,
    }),
    class: Flags.string({summary: 'kohya class token for the subfolder name (with --repeats).'}),
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

  async run(): Promise<ExportReport> {
    const {flags, args} = this
    refuseControlFlag('--class', flags.class)
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
      stdout: (text) => this.term.stdout.write(text),
    })
    if (!this.jsonEnabled()) renderExport(this.term, report)
    return report
  }
}
