import {Flags} from '@oclif/core'
import {BaseCommand, commitFlag} from '../cli/base-command.js'
import {parseTagList} from '../core/caption.js'
import {DEFAULT_CHARACTER_THRESHOLD, DEFAULT_THRESHOLD} from '../core/autotag.js'
import {UsageError} from '../errors.js'
import {autotag, type AutotagMode, type AutotagReport, type AutotagSource} from '../services/autotag.js'
import {renderAutotag} from '../ui/render-autotag.js'
import {type Device, DEVICES} from '../adapters/model-runtime.js'

export default class Autotag extends BaseCommand<typeof Autotag> {
  static summary = 'Predict tags with a local WD14-family tagger model; suggest them, or write them into captions.'
  static description = `--model takes a folder holding model.onnx and selected_tags.csv, or a model pulled with lora models pull (OWNER/NAME[@REVISION]); without it, the dataset's config key autotag.model.
--from prompt takes the prompts image generators embedded in the images as the predictions instead (no model); images without one are skipped.
suggest (default) stores the predictions only; add merges them into the captions; replace replaces the captions. Captions a model wrote have the status auto until a person reviews them (lora next visits them after the pending images).
Predictions are cached per model and image: a rerun with other thresholds or another mode runs no inference.`
  static strict = false
  static examples = [
    '<%= config.bin %> autotag --model ~/models/wd-vit-tagger-v3',
    '<%= config.bin %> autotag --model SmilingWolf/wd-vit-tagger-v3 --mode add',
    '<%= config.bin %> autotag --all --mcut --rating --mode replace --dry-run',
    '<%= config.bin %> autotag --from prompt --mode add',
  ]
  static flags = {
    pending: Flags.boolean({summary: 'Tag the pending images (the default).', exclusive: ['all']}),
    all: Flags.boolean({summary: 'Tag every image except skipped ones.', exclusive: ['pending']}),
    model: Flags.string({
      char: 'm',
      summary:
        'Model folder (model.onnx + selected_tags.csv) or pulled model name (OWNER/NAME[@REVISION]); default: config autotag.model.',
      exclusive: ['from'],
    }),
    from: Flags.string({
      summary: 'model: predict with the tagger model; prompt: use the prompts image generators embedded (no model).',
      options: ['model', 'prompt'],
      default: 'model',
    }),
    threshold: Flags.string({summary: `General tags scoring at least this (0–1; default ${DEFAULT_THRESHOLD}).`}),
    'character-threshold': Flags.string({
      summary: `Character tags scoring at least this (0–1; default ${DEFAULT_CHARACTER_THRESHOLD}).`,
    }),
    mcut: Flags.boolean({summary: 'Choose the thresholds by MCut (the largest gap between sorted scores).'}),
    rating: Flags.boolean({summary: 'Add the best rating tag (general, sensitive, questionable, explicit).'}),
    mode: Flags.string({
      summary: 'suggest: store predictions only; add: merge into captions; replace: replace captions.',
      options: ['suggest', 'add', 'replace'],
      default: 'suggest',
    }),
    'max-tags': Flags.integer({summary: 'At most this many character and general tags per image.', min: 0}),
    exclude: Flags.string({
      summary: 'Never choose these tags, comma-separated (repeatable).',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'batch-size': Flags.integer({summary: 'Images per model run (default 8).', min: 1, default: 8}),
    device: Flags.string({
      summary: 'Where the model runs: cpu, or cuda (an NVIDIA GPU; needs the GPU build of onnxruntime-node).',
      options: [...DEVICES],
      default: 'cpu',
    }),
    'dry-run': Flags.boolean({char: 'n', summary: 'Show what would change; write nothing (not even the cache).'}),
    ...commitFlag,
  }

  async run(): Promise<AutotagReport> {
    const {flags} = this
    const from = flags.from as AutotagSource
    if (from === 'prompt')
      for (const flag of ['threshold', 'character-threshold', 'mcut', 'rating'] as const)
        if (flags[flag] !== undefined && flags[flag] !== false)
          throw new UsageError(
            `--${flag} is for model predictions, not --from prompt.`,
            `Drop --${flag}; with --from prompt every tag of the prompt is taken (--max-tags and --exclude apply).`,
          )
    const report = await autotag(await this.dataset(), {
      refs: this.positional,
      all: flags.all,
      model: flags.model,
      from,
      mode: flags.mode as AutotagMode,
      threshold: score('--threshold', flags.threshold, DEFAULT_THRESHOLD),
      characterThreshold: score('--character-threshold', flags['character-threshold'], DEFAULT_CHARACTER_THRESHOLD),
      mcut: flags.mcut,
      rating: flags.rating,
      maxTags: flags['max-tags'],
      exclude: (flags.exclude ?? []).flatMap((v) => parseTagList(v)),
      batchSize: flags['batch-size'],
      device: flags.device as Device,
      dryRun: Boolean(flags['dry-run']),
      cwd: process.cwd(),
      commit: flags.commit,
      progress: (label, total) => this.term.progress(label, total, {rate: 'images'}),
    })
    if (!this.jsonEnabled()) renderAutotag(this.term, report)
    return report
  }
}

function score(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (value.trim() === '' || !(n >= 0 && n <= 1))
    throw new UsageError(
      `${flag} must be a number from 0 to 1, not ${JSON.stringify(value)}.`,
      `For example ${flag} 0.5.`,
    )
  return n
}
