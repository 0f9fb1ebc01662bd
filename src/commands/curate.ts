import {Flags} from '@oclif/core'
import {UsageError} from '../errors.js'
import {BaseCommand, commitFlag} from '../cli/base-command.js'
import {CURATION_RULES} from '../core/curation.js'
import {curate, type CurateReport, parseRules} from '../services/curate.js'
import {renderCurate} from '../ui/render-curate.js'
import {terminalCurateReview} from '../ui/curate-review.js'
import {chooseViewer} from '../services/viewer-choice.js'

export default class Curate extends BaseCommand<typeof Curate> {
  static summary = 'Find duplicate and near-duplicate images and technical problems; skip them with --apply.'
  static description = `Every image is measured once (cached by its sha256): a 64-bit pHash (as imagededup), brightness, entropy, blur, colour, EXIF.
Groups: exact (same pixels) and near (pHash distance at most --threshold, default 10 of 64), each with a keeper (most pixels, then sharpest, then lowest number).
Findings (cleanvision's definitions): ${CURATION_RULES.join(', ')}. Thresholds in the config's curate: section.
--apply skips every non-keeper and every image with a finding of a rule given with --rule, in one change (undo with lora undo); no file is deleted.
--review asks instead, on a terminal: each group shown as one contact sheet in the viewer (--viewer, LORA_VIEWER or your own config), then each rule's findings.`
  static examples = [
    '<%= config.bin %> curate',
    '<%= config.bin %> curate --json | jq .groups',
    '<%= config.bin %> curate --apply --rule blurry --dry-run',
    '<%= config.bin %> curate --apply --rule blurry,dark',
  ]
  static flags = {
    rule: Flags.string({
      summary: `Only these findings (comma-separated, repeatable): ${CURATION_RULES.join(', ')}; with --apply, skip their images.`,
      multiple: true,
      multipleNonGreedy: true,
    }),
    threshold: Flags.integer({summary: 'Near-duplicate pHash distance, 0–64 (default: config curate.distance, 10).'}),
    apply: Flags.boolean({
      summary: 'Skip every non-keeper of each group and every image with a finding of --rule.',
      exclusive: ['review'],
    }),
    review: Flags.boolean({
      summary:
        "Decide on a terminal: each group as one sheet in the viewer, then each rule's findings (checkboxes); the choices are skipped in one change.",
      exclusive: ['apply'],
    }),
    viewer: Flags.string({
      summary: 'With --review: image viewer command for this run (the sheet path is appended; "none": no viewer).',
      dependsOn: ['review'],
    }),
    'aesthetic-model': Flags.string({
      summary: 'Score each image with this model folder (model.onnx + preprocess.json); scores are cached.',
    }),
    'min-aesthetic': Flags.string({
      summary: 'With --aesthetic-model: a score below this is an aesthetic finding.',
      dependsOn: ['aesthetic-model'],
    }),
    'dry-run': Flags.boolean({char: 'n', summary: 'Show what would change; write nothing (not even the cache).'}),
    ...commitFlag,
  }

  async run(): Promise<CurateReport> {
    const {flags} = this
    const dryRun = Boolean(flags['dry-run'])
    const dataset = await this.dataset()
    const rules = parseRules(flags.rule ?? [])
    // Refused at once without a terminal, before any image is measured.
    const review = flags.review
      ? terminalCurateReview(this.term, await chooseViewer(dataset, {flag: flags.viewer, env: process.env}), rules)
      : undefined
    const report = await curate(dataset, {
      review,
      rules,
      distance: flags.threshold,
      apply: flags.apply,
      dryRun,
      commit: flags.commit,
      progress: (label, total) => this.term.progress(label, total),
      onWarning: (text) => this.term.warn(text),
      aestheticModel: flags['aesthetic-model'],
      minAesthetic: minAesthetic(flags['min-aesthetic']),
      cwd: process.cwd(),
    })
    if (!this.jsonEnabled()) renderCurate(this.term, report, {dryRun})
    return report
  }
}

function minAesthetic(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n))
    throw new UsageError(
      `--min-aesthetic must be a number, not ${JSON.stringify(value)}.`,
      'For example --min-aesthetic 5.',
    )
  return n
}
