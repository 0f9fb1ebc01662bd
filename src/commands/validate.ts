import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {UsageError, ValidationFailedError} from '../errors.js'
import {VALIDATE_TARGETS} from '../core/validate/config.js'
import {failed, validateFolder, type ValidateReport} from '../services/validate.js'
import {renderValidate, summaryLine, VALIDATE_FORMATS, type ValidateFormat} from '../ui/validate-render.js'
import {counted} from '../core/plural.js'

export default class Validate extends BaseCommand<typeof Validate> {
  static summary = 'Check images and caption files for what makes LoRA trainers fail or train badly.'
  static description = `PATH is a lora dataset (its output folder is checked with its config) or any folder of images and caption files, kohya <repeats>_<name> subfolders included; without PATH, the current dataset.
Exit codes: 0 no errors (warnings too with --strict), 4 errors found, 2 usage error, 3 no dataset found, 1 bad config or unexpected failure.`
  static examples = [
    '<%= config.bin %> validate',
    '<%= config.bin %> validate ./train --target kohya',
    '<%= config.bin %> validate ./export --target civitai --format github',
    '<%= config.bin %> validate ./imgs --ignore low-resolution --rule token-limit:error --strict',
  ]
  static args = {path: Args.string({description: 'Folder to check (default: the current dataset)', ignoreStdin: true})}
  static flags = {
    target: Flags.string({
      char: 't',
      summary: 'Trainer whose rules apply (default: config validate.target, else generic).',
      options: [...VALIDATE_TARGETS],
    }),
    format: Flags.string({
      char: 'f',
      summary: 'Output: human (default), json, or github (workflow annotations). --json = --format json.',
      options: [...VALIDATE_FORMATS],
    }),
    strict: Flags.boolean({summary: 'Fail (exit 4) on warnings too.'}),
    rule: Flags.string({
      summary: 'Enable a rule, optionally with a severity: ID, ID:error, ID:warning (repeatable).',
      multiple: true,
      default: [],
    }),
    ignore: Flags.string({summary: 'Disable a rule (repeatable).', multiple: true, default: []}),
    deep: Flags.boolean({summary: 'Decode every image fully instead of checking headers (slower).'}),
    'caption-ext': Flags.string({summary: "Caption extension (default: the dataset's, else .txt)."}),
    trigger: Flags.string({summary: "Trigger word expected first in every caption (default: the dataset's)."}),
    'min-side': Flags.integer({
      summary: 'low-resolution: smallest shorter side in pixels (default: validate.minSide, 512).',
      min: 1,
    }),
    'token-limit': Flags.integer({
      summary: 'token-limit: CLIP token budget (default: validate.tokenLimit, 75).',
      min: 1,
    }),
    verbose: Flags.boolean({char: 'v', summary: 'Human output: list every finding (default: 20 per rule).'}),
  }

  async run(): Promise<ValidateReport> {
    const {flags, args} = this
    if (this.jsonEnabled() && flags.format !== undefined && flags.format !== 'json')
      throw new UsageError(`--json and --format ${flags.format} disagree.`, 'Use one of them.')
    const format = (this.jsonEnabled() ? 'json' : (flags.format ?? 'human')) as ValidateFormat
    const report = await validateFolder({
      path: args.path,
      datasetFlag: flags.dataset,
      datasetEnv: process.env.LORA_DATASET || undefined,
      cwd: process.cwd(),
      target: flags.target as (typeof VALIDATE_TARGETS)[number] | undefined,
      captionExtension: flags['caption-ext'],
      trigger: flags.trigger,
      minSide: flags['min-side'],
      tokenLimit: flags['token-limit'],
      rules: flags.rule,
      ignore: flags.ignore,
      deep: flags.deep,
      progress: (label, total) => this.term.progress(label, total),
    })
    const fails = failed(report, flags.strict)
    if (this.jsonEnabled()) {
      // oclif prints the report this returns; a failing run throws instead, so its report is printed here.
      if (fails) this.logJson(report)
      this.term.info(summaryLine(report))
    } else renderValidate(this.term, report, {format, verbose: flags.verbose, cwd: process.cwd()})
    if (fails) {
      const what =
        report.errors > 0 ? counted(report.errors, 'error') : `${counted(report.warnings, 'warning')} (--strict)`
      throw new ValidationFailedError(
        `Validation failed: ${what} in ${report.path}.`,
        'Fix the files listed above, or tune the rules: --ignore ID, or validate.rules in .lora-tagger/config.yaml.',
      )
    }
    return report
  }
}
