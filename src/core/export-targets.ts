/**
 * `lora export --target T`: what each trainer loads, as pure functions (no I/O). For each target: which flags
 * apply (`checkTargetOptions`), where the images go (`targetLayout`), which image extensions it reads, and the
 * config files that point at the images (`targetConfigFiles`, returning `{path, content}` for the service to
 * write). The loading rules are those of `../shared/FORMATS.md`, read from the trainers' sources:
 * - kohya sd-scripts `library/config_util.py` (dataset TOML: `[general]`, `[[datasets]]`, `[[datasets.subsets]]`;
 *   in TOML mode folder names are not parsed, so `num_repeats` and `class_tokens` are written; the default
 *   `caption_extension` is `.caption`, so `.txt` is always written), `finetune/merge_captions_to_metadata.py`
 *   (metadata JSON `{"<stem>": {"caption", "tags"}}`, `indent=2`);
 * - ai-toolkit `config/examples/train_lora_flux_24gb.yaml` and `toolkit/config_modules.py` (`datasets:` entries);
 * - OneTrainer `modules/util/config/ConceptConfig.py` (`concepts.json`, an array of concepts);
 * - diffusion-pipe `dataset.toml` (`resolutions`, `enable_ar_bucket`, `[[directory]]` with `path`, `num_repeats`);
 * - Hugging Face `imagefolder` (`metadata.jsonl` with `file_name` beside the images; a dataset card's YAML);
 * - CivitAI's trainer (`handleZip`: image/`.txt` pairs at the zip root, at most 1,000 files).
 */
import {posix} from 'node:path'
import {stringify as toToml} from 'smol-toml'
import {UsageError} from '../errors.js'
import {escapeControls} from './terminal-text.js'
import {counted} from './plural.js'

/** The trainers `lora export --target` writes for. */
export const EXPORT_TARGETS = [
  'kohya',
  'kohya-finetune',
  'ai-toolkit',
  'onetrainer',
  'diffusion-pipe',
  'hf',
  'civitai',
] as const
export type ExportTarget = (typeof EXPORT_TARGETS)[number]

/** `--convert` formats (the file extension written). */
export const CONVERT_FORMATS = ['png', 'jpg', 'webp'] as const
export type ConvertFormat = (typeof CONVERT_FORMATS)[number]

/** CivitAI's trainer reads at most this many files from a zip (images and captions together). */
export const CIVITAI_MAX_FILES = 1000

/** The flags of a target export (README "lora export"), as given; undefined = not given. */
export interface TargetOptions {
  /** `--repeats N`: times each image is seen per epoch (kohya `num_repeats`, OneTrainer `balancing`). */
  repeats?: number
  /** `--class WORD`: kohya class token (folder name and `class_tokens`). */
  classWord?: string
  /** `--resolution N`: the training resolution put in configs, in pixels. */
  resolution?: number
  /** `--max-side N`: resize images to fit inside N × N pixels (never upscaled). */
  maxSide?: number
  convert?: ConvertFormat
  /** `--quality Q` (1–100) for JPEG and WebP output. */
  quality?: number
  keepMetadata?: boolean
  /** `--zip`: one zip file instead of a folder (always for `civitai`). */
  zip?: boolean
  /** `--full-path` (kohya-finetune): metadata keys are the images' absolute paths instead of their stems. */
  fullPath?: boolean
  /**
   * `--link`: images that need no change are hard links to the dataset's files (same file system; else copied)
   * instead of copies. Not with `--zip` (civitai) nor with `--max-side` / `--convert` (which change images).
   */
  link?: boolean
}

/** Which targets each target-specific flag applies to (others refuse it with a usage error). */
const FLAG_TARGETS: Record<'repeats' | 'classWord' | 'resolution' | 'fullPath', readonly ExportTarget[]> = {
  repeats: ['kohya', 'kohya-finetune', 'ai-toolkit', 'onetrainer', 'diffusion-pipe'],
  classWord: ['kohya'],
  resolution: ['kohya', 'kohya-finetune', 'ai-toolkit', 'diffusion-pipe'],
  fullPath: ['kohya-finetune'],
}
const FLAG_NAMES = {repeats: '--repeats', classWord: '--class', resolution: '--resolution', fullPath: '--full-path'}

/** Default `--resolution` in configs (SDXL / Flux). */
export const DEFAULT_RESOLUTION = 1024

/**
 * Checks a target's flags before anything is read or written.
 * @throws UsageError (exit 2) for a flag the target does not use (`--class` outside kohya, `--repeats` for hf or
 *   civitai, `--resolution` for onetrainer, hf, civitai, `--full-path` outside kohya-finetune), `--quality` without
 *   an encoder that takes it (`--convert jpg|webp`, or `--max-side`), `--convert webp` for civitai (png/jpg only),
 *   a value out of range, `--link` with `--zip` (or civitai), `--max-side` or `--convert`, or kohya without a
 *   trigger word or `--class` (its folder needs a name)
 */
export function checkTargetOptions(target: ExportTarget, options: TargetOptions, trigger: string | undefined): void {
  for (const key of Object.keys(FLAG_TARGETS) as (keyof typeof FLAG_TARGETS)[]) {
    const given = key === 'fullPath' ? options.fullPath === true : options[key] !== undefined
    if (given && !FLAG_TARGETS[key].includes(target))
      throw new UsageError(
        `${FLAG_NAMES[key]} does not apply to --target ${target}; nothing was written.`,
        `${FLAG_NAMES[key]} applies to --target ${FLAG_TARGETS[key].join(', ')}. Drop it, or choose one of those.`,
      )
  }
  for (const [name, value, min, max] of [
    ['--repeats', options.repeats, 1, 10_000],
    ['--resolution', options.resolution, 64, 16_384],
    ['--max-side', options.maxSide, 16, 16_384],
    ['--quality', options.quality, 1, 100],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > max))
      throw new UsageError(
        `${name} must be a whole number from ${min} to ${max}, not ${value}.`,
        `For example ${name} ${max === 100 ? 90 : 1024 > max ? min : 1024}.`,
      )
  }
  if (options.quality !== undefined && options.convert === 'png')
    throw new UsageError(
      '--quality applies to JPEG and WebP; --convert png is lossless.',
      'Drop --quality, or use --convert jpg or webp.',
    )
  if (options.quality !== undefined && options.convert === undefined && options.maxSide === undefined)
    throw new UsageError(
      '--quality applies only to images lora re-encodes: give --convert jpg|webp or --max-side too.',
      'For example --convert jpg --quality 90.',
    )
  if (target === 'civitai' && options.convert === 'webp')
    throw new UsageError(
      'CivitAI exports hold PNG and JPEG images only; --convert webp does not apply.',
      'Use --convert png or jpg, or drop --convert.',
    )
  if (options.link === true) {
    const against =
      target === 'civitai' || options.zip === true
        ? '--zip (a zip holds copies; civitai is always a zip)'
        : options.maxSide !== undefined
          ? '--max-side (it changes images)'
          : options.convert !== undefined
            ? '--convert (it changes images)'
            : undefined
    if (against)
      throw new UsageError(
        `--link does not go with ${against}; nothing was written.`,
        'Drop --link (images are then copied), or drop the other option.',
      )
  }
  if (target === 'kohya' && !nonEmpty(trigger) && !nonEmpty(options.classWord))
    throw new UsageError(
      'kohya needs a name for its image folder (`<repeats>_<trigger> <class>`): the dataset has no trigger word and --class is not given.',
      'Add --class WORD (e.g. --class woman), or set a trigger word in the dataset.',
    )
  // The trigger word comes from the dataset's config (a dataset may come from a stranger): in kohya's folder name a
  // path separator would nest or move the image folder, as `--format folder --repeats` refuses too.
  if (target === 'kohya' && nonEmpty(trigger) && /[/\\]/u.test(trigger))
    throw new UsageError(
      `The trigger word "${escapeControls(trigger)}" contains a path separator, so it cannot name kohya's image folder (\`<repeats>_<trigger> <class>\`); nothing was written.`,
      'Set a trigger word without "/" or "\\" (trigger: in .lora-tagger/config.yaml).',
    )
  if (options.classWord !== undefined && /[/\\]/u.test(options.classWord))
    throw new UsageError(`--class "${options.classWord}" contains a path separator.`, 'Use a word without "/" or "\\".')
}

function nonEmpty(s: string | undefined): s is string {
  return s !== undefined && s.trim() !== ''
}

/** Where a target puts things, relative to DEST (`/`-separated). */
export interface TargetLayout {
  /** The folder holding the images (and their `.txt` captions where the target reads them); `.` = DEST itself. */
  imageDir: string
  /** Whether a `<stem>.txt` caption is written beside each image (hf reads captions from metadata.jsonl only). */
  captionFiles: boolean
  /** Image extensions (lower case, no dot) the trainer reads; others are converted to PNG. */
  reads: readonly string[]
  /** `lora validate --target` whose rules check the export (`generic` for trainers it has no rules of its own for). */
  validateTarget: 'generic' | 'kohya' | 'ai-toolkit' | 'civitai'
  /** The folder `lora validate` checks (kohya: the `img/` parent, its train_data_dir). */
  validateDir: string
  /** Always a zip (civitai). */
  zipOnly: boolean
}

/**
 * The layout of `target`: kohya `img/<repeats>_<trigger> <class>/`; `images/` for kohya-finetune, ai-toolkit,
 * onetrainer and diffusion-pipe; `train/` for hf; the root for civitai.
 */
export function targetLayout(target: ExportTarget, options: TargetOptions, trigger: string | undefined): TargetLayout {
  const common = {captionFiles: true, zipOnly: false}
  switch (target) {
    case 'kohya': {
      const name = `${options.repeats ?? 1}_${kohyaClassTokens(trigger, options.classWord)}`
      return {
        ...common,
        imageDir: `img/${name}`,
        reads: ['png', 'jpg', 'jpeg', 'webp', 'bmp'],
        validateTarget: 'kohya',
        validateDir: 'img',
      }
    }
    case 'ai-toolkit':
      return {...common, imageDir: 'images', reads: AITK, validateTarget: 'ai-toolkit', validateDir: 'images'}
    case 'kohya-finetune':
      return {
        ...common,
        imageDir: 'images',
        reads: KOHYA,
        validateTarget: 'generic',
        validateDir: 'images',
        captionFiles: false,
      }
    case 'onetrainer':
    case 'diffusion-pipe':
      return {...common, imageDir: 'images', reads: AITK, validateTarget: 'generic', validateDir: 'images'}
    case 'hf':
      return {
        ...common,
        imageDir: 'train',
        reads: AITK,
        validateTarget: 'generic',
        validateDir: 'train',
        captionFiles: false,
      }
    case 'civitai':
      return {
        imageDir: '.',
        captionFiles: true,
        reads: ['png', 'jpg', 'jpeg'],
        validateTarget: 'civitai',
        validateDir: '.',
        zipOnly: true,
      }
  }
}
const KOHYA = ['png', 'jpg', 'jpeg', 'webp', 'bmp'] as const
const AITK = ['png', 'jpg', 'jpeg', 'webp'] as const

/** kohya class tokens: the trigger word and the class word, space-separated (`ohwx woman`). */
export function kohyaClassTokens(trigger: string | undefined, classWord: string | undefined): string {
  return [trigger, classWord]
    .filter(nonEmpty)
    .map((s) => s.trim())
    .join(' ')
}

/** One exported image, as the config writers see it. */
export interface TargetImage {
  /** File name in the image folder (`img_0001.jpg`). */
  file: string
  /** The caption line (trigger first), without a newline. */
  caption: string
  tags: readonly string[]
  /** Size of the exported image, in pixels. */
  width: number
  height: number
}

/** A config file to write: path relative to DEST (`/`-separated) and its text. */
export interface TargetFile {
  path: string
  content: string
}

/** What the config writers need besides the images. */
export interface ConfigContext {
  /**
   * The absolute path configs name (DEST as resolved), or undefined in a zip, where configs name paths relative to
   * the folder the zip is unpacked into.
   */
  root: string | undefined
  /** Dataset name (its folder's name), for job and concept names. */
  name: string
  trigger: string | undefined
  options: TargetOptions
  layout: TargetLayout
  /**
   * The `yaml` package's `stringify`, passed in by the service (which loads `yaml` when it writes the configs, so
   * that the export command starts without it; test/e2e/startup-imports.test.ts).
   */
  toYaml: typeof import('yaml').stringify
}

/**
 * The config files of `target` for `images` (no images or captions: the service writes those).
 * - kohya: `dataset.toml`; kohya-finetune: `metadata.json` + `dataset.toml`; ai-toolkit: `ai-toolkit.yaml`;
 *   onetrainer: `concepts.json`; diffusion-pipe: `dataset.toml`; hf: `train/metadata.jsonl` + `README.md`;
 *   civitai: none.
 */
export function targetConfigFiles(
  target: ExportTarget,
  images: readonly TargetImage[],
  ctx: ConfigContext,
): TargetFile[] {
  const at = (rel: string) => (ctx.root === undefined ? rel : rel === '.' ? ctx.root : posix.join(ctx.root, rel))
  const imageDir = at(ctx.layout.imageDir)
  const repeats = ctx.options.repeats ?? 1
  const resolution = ctx.options.resolution ?? DEFAULT_RESOLUTION
  const trigger = nonEmpty(ctx.trigger) ? ctx.trigger.trim() : undefined
  switch (target) {
    case 'kohya':
      return [
        {
          path: 'dataset.toml',
          content: kohyaToml(resolution, trigger, {
            image_dir: imageDir,
            num_repeats: repeats,
            class_tokens: kohyaClassTokens(trigger, ctx.options.classWord),
          }),
        },
      ]
    case 'kohya-finetune': {
      // `caption` only, as merge_captions_to_metadata.py writes: sd-scripts' FineTuningDataset (train_util.py)
      // appends `tags` to `caption` when both are there, so the same tags in both would be trained twice.
      const metadata: Record<string, {caption: string}> = {}
      for (const image of images) {
        const key = ctx.options.fullPath ? posix.join(imageDir, image.file) : stemOf(image.file)
        metadata[key] = {caption: image.caption}
      }
      return [
        {path: 'metadata.json', content: JSON.stringify(metadata, null, 2) + '\n'},
        {
          path: 'dataset.toml',
          content: kohyaToml(resolution, trigger, {
            image_dir: imageDir,
            metadata_file: at('metadata.json'),
            num_repeats: repeats,
          }),
        },
      ]
    }
    case 'ai-toolkit': {
      const dataset: Record<string, unknown> = {
        folder_path: imageDir,
        caption_ext: 'txt',
        caption_dropout_rate: 0.05,
        shuffle_tokens: false,
        cache_latents_to_disk: true,
        resolution: aiToolkitBuckets(resolution),
      }
      if (ctx.options.repeats !== undefined) dataset.num_repeats = ctx.options.repeats
      if (trigger) dataset.keep_tokens = 1
      const process: Record<string, unknown> = {type: 'sd_trainer', training_folder: 'output'}
      if (trigger) process.trigger_word = trigger
      process.datasets = [dataset]
      const doc = {job: 'extension', config: {name: ctx.name, process: [process]}}
      return [
        {
          path: 'ai-toolkit.yaml',
          content:
            '# Written by `lora export --target ai-toolkit`: the dataset part of an ai-toolkit job. Merge the\n' +
            "# model, network, train and sample sections from ai-toolkit's config/examples/ before running\n" +
            '# `python run.py ai-toolkit.yaml`.\n' +
            ctx.toYaml(doc, {flowCollectionPadding: false}),
        },
      ]
    }
    case 'onetrainer': {
      const concept = {
        name: ctx.name,
        path: imageDir,
        enabled: true,
        type: 'STANDARD',
        include_subdirectories: false,
        balancing: repeats,
        balancing_strategy: 'REPEATS',
        text: {
          prompt_source: 'sample',
          prompt_path: '',
          enable_tag_shuffling: false,
          tag_delimiter: ',',
          keep_tags_count: trigger ? 1 : 0,
        },
      }
      return [{path: 'concepts.json', content: JSON.stringify([concept], null, 2) + '\n'}]
    }
    case 'diffusion-pipe':
      return [
        {
          path: 'dataset.toml',
          content:
            toToml({
              resolutions: [resolution],
              enable_ar_bucket: true,
              min_ar: 0.5,
              max_ar: 2.0,
              num_ar_buckets: 7,
              directory: [{path: imageDir, num_repeats: repeats}],
            }) + '\n',
        },
      ]
    case 'hf': {
      const lines = images.map((i) => JSON.stringify({file_name: i.file, text: i.caption, tags: i.tags}))
      return [
        {
          path: posix.join(ctx.layout.imageDir, 'metadata.jsonl'),
          content: lines.join('\n') + (lines.length ? '\n' : ''),
        },
        {path: 'README.md', content: datasetCard(ctx.name, images.length, trigger, ctx.toYaml)},
      ]
    }
    case 'civitai':
      return []
  }
}

/**
 * kohya sd-scripts dataset config (`--dataset_config`), one dataset with one subset. `[general]` has
 * `caption_extension` only for a DreamBooth-style subset (no `metadata_file`): sd-scripts' ConfigSanitizer
 * (`library/config_util.py`) allows it in `[general]` only when the script supports DreamBooth datasets, and
 * `fine_tune.py` does not, so it refuses such a file ("extra keys not allowed"); a fine-tuning subset takes its
 * captions from the metadata file anyway.
 */
function kohyaToml(resolution: number, trigger: string | undefined, subset: Record<string, string | number>): string {
  const general: Record<string, unknown> =
    subset.metadata_file === undefined ? {caption_extension: '.txt', shuffle_caption: true} : {shuffle_caption: true}
  if (trigger) general.keep_tokens = 1
  return (
    toToml({
      general,
      datasets: [
        {
          resolution,
          batch_size: 1,
          enable_bucket: true,
          min_bucket_reso: 256,
          max_bucket_reso: Math.max(resolution * 2, 512),
          bucket_reso_steps: 64,
          subsets: [subset],
        },
      ],
    }) + '\n'
  )
}

/** ai-toolkit's bucket resolutions: its example's 512, 768, 1024, up to `resolution` (and `resolution` itself). */
export function aiToolkitBuckets(resolution: number): number[] {
  return [...new Set([...[512, 768, 1024].filter((r) => r < resolution), resolution])]
}

/** The Hub's `size_categories` value for `n` rows. */
export function sizeCategory(n: number): string {
  if (n < 1000) return 'n<1K'
  if (n < 10_000) return '1K<n<10K'
  if (n < 100_000) return '10K<n<100K'
  return '100K<n<1M'
}

/** A Hugging Face dataset card: YAML front matter (configs/data_files, task and size categories) and a line of text. */
function datasetCard(
  name: string,
  count: number,
  trigger: string | undefined,
  toYaml: ConfigContext['toYaml'],
): string {
  const front = toYaml({
    configs: [{config_name: 'default', data_files: [{split: 'train', path: 'train/**'}]}],
    task_categories: ['text-to-image'],
    size_categories: [sizeCategory(count)],
    tags: ['lora'],
  })
  return (
    `---\n${front}---\n\n# ${markdownText(name)}\n\n${counted(count, 'image')} with captions (\`text\`) and tags (\`tags\`) in ` +
    '`train/metadata.jsonl`, written by `lora export --target hf`' +
    (trigger ? `; trigger word ${codeSpan(trigger)}` : '') +
    '.\n\n```python\nfrom datasets import load_dataset\nds = load_dataset("imagefolder", data_dir=".")\n```\n'
  )
}

/**
 * `text` as literal Markdown inline text (the dataset card's heading): control and bidi characters escaped
 * (escapeControls: `\x1b`, `<U+202E>`; a line break becomes `\n`, so the text stays on its line), `&`, `<` and `>`
 * as HTML entities (no tag, such as `<svg onload=...>`, and no entity reaches the page), and the ASCII punctuation
 * that starts Markdown inline syntax (`\` `` ` `` `*` `_` `[` `]` `(` `)` `!` `~` `#` `$` `|`) backslash-escaped, as
 * CommonMark allows for any ASCII punctuation.
 */
export function markdownText(text: string): string {
  return escapeControls(text).replace(/[&<>\\`*_[\]()!~#$|]/gu, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : `\\${c}`,
  )
}

/**
 * `text` as a Markdown code span that shows it exactly (CommonMark "Code spans"): fenced by a run of backticks one
 * longer than the longest run inside it, so that no run inside closes it; padded with a space on each side (one of
 * which CommonMark strips from each) when it starts or ends with a backtick, or starts and ends with a space. Control
 * and bidi characters are escaped first (escapeControls).
 */
export function codeSpan(text: string): string {
  const shown = escapeControls(text)
  const longest = Math.max(0, ...(shown.match(/`+/gu) ?? []).map((run) => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = /^`|`$|^ .*[^ ].* $/u.test(shown) ? ' ' : ''
  return `${fence}${pad}${shown}${pad}${fence}`
}

function stemOf(file: string): string {
  const dot = file.lastIndexOf('.')
  return dot > 0 ? file.slice(0, dot) : file
}
