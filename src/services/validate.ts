/**
 * `lora validate`: a pre-flight check of a folder of images and caption files against what LoRA trainers read
 * (kohya sd-scripts, ai-toolkit, CivitAI; the sources are cited in core/validate/rules.ts). It works on a lora dataset (its output folder, with its
 * config's caption extension, separator, trigger word, tags.txt and `validate:` section) and on any plain folder
 * made by other tools (defaults, no `.lora-tagger/` needed).
 *
 * How it runs: one listing of the folder (fast-glob, never following a symbolic link: a link is described by where it
 * leads, and its content never read), the name-only rules (scan.ts), then one pass over the
 * images and caption files with bounded concurrency (p-map): each caption file is read once (one of more than 1 MiB
 * is not read: rule oversized-caption)
 * and each image's header is checked (a fast synchronous check for JPEG/PNG/WebP/BMP/GIF, sharp for everything else
 * and for `--deep`, which decodes every image). Memory holds the file names and the findings, never file contents
 * beyond one caption and one image header at a time (plus the images sharp decodes, at most `concurrency`).
 */
import {join, resolve} from 'node:path'
import {setImmediate as yieldToLoop} from 'node:timers/promises'
import {UsageError} from '../errors.js'
import {createHeadReader} from '../adapters/file-head.js'
import {
  linkTargetSync,
  NotRegularFileError,
  readRegularTextIfExists,
  resolveReal,
  statIfExists,
} from '../adapters/fs.js'
import {loadQuickProbe} from '../adapters/image-header.js'
import {type ImageInfo, probeImage, type ProbeResult} from '../adapters/images.js'
import {normalizeTag, splitChar} from '../core/caption.js'
import {oddFileKindText} from '../core/containment.js'
import {escapeControls} from '../core/terminal-text.js'
import {type Dataset, locateDataset, META_DIR, openDataset} from '../store/dataset.js'
import {mapLimit, noProgress, type ProgressFactory} from '../core/progress.js'
import {DEFAULT_VALIDATE, type ValidateTarget} from '../core/validate/config.js'
import {parseVocabulary, VOCABULARY_FILE} from '../core/vocabulary.js'
import {checkCaptionBytes} from '../core/validate/content.js'
import {CAPTION_MAX_BYTES, captionTooLargeProblem} from '../core/caption-encoding.js'
import {
  compareFindings,
  type Finding,
  parseRuleFlags,
  resolveRules,
  type RuleId,
  RULES,
  type Severity,
  VALIDATE_RULE_IDS,
} from '../core/validate/rules.js'
import {checkLayout, type LayoutEntry, SKIPPED_FOLDERS} from '../core/validate/scan.js'
import {isInside} from '../core/containment.js'
import {listFilesBelow} from '../adapters/listing.js'
import {IMAGE_EXTENSIONS} from '../core/naming.js'

export {RULES, TARGETS, VALIDATE_RULE_IDS, type Finding, type RuleId, type Severity} from '../core/validate/rules.js'

/** What to validate and how. Everything optional falls back to the dataset's config, then to the defaults. */
export interface ValidateRequest {
  /** PATH argument: a dataset folder (holding `.lora-tagger/`) or a plain folder. Omitted: the current dataset. */
  path?: string
  /** `-C/--dataset` (only without PATH). */
  datasetFlag?: string
  /** `LORA_DATASET` (only without PATH). */
  datasetEnv?: string
  cwd: string
  target?: ValidateTarget
  /** Caption extension, with or without its dot (sd-scripts adds a missing dot too). */
  captionExtension?: string
  trigger?: string
  minSide?: number
  tokenLimit?: number
  /** `--rule` values: `ID`, `ID:error`, `ID:warning`. */
  rules?: readonly string[]
  /** `--ignore` values: rule ids. */
  ignore?: readonly string[]
  /** Decode every image fully (sharp), not only its header. */
  deep?: boolean
  /** At most this many image probes in flight (default 8; 4 with `deep`, as each holds a decoded image). */
  concurrency?: number
  progress?: ProgressFactory
  /**
   * Sizes of images the caller has just written and knows to be decodable (`lora export --target`), by path
   * relative to the folder validated (`/`-separated): their headers are not read again; `low-resolution` uses these.
   */
  knownImages?: ReadonlyMap<string, ImageInfo>
}

/** `lora validate --format json`: a stable shape, documented in README ("lora validate"). */
export interface ValidateReport {
  /** Version of this shape. */
  version: 1
  /** The folder validated (absolute): a plain folder, or a dataset's output folder. */
  path: string
  /** The dataset folder when a lora dataset was validated, else null. */
  dataset: string | null
  target: ValidateTarget
  captionExtension: string
  /** The rules that ran and their severities. */
  rules: Partial<Record<RuleId, Severity>>
  checked: {images: number; captions: number}
  errors: number
  warnings: number
  /** Sorted by rule (report order), then path. Paths are relative to `path`, `/`-separated. */
  findings: Finding[]
}

/**
 * Validates a dataset or a plain folder.
 *
 * @returns the report; the caller decides the exit code (see `failed`)
 * @throws UsageError (exit 2) for PATH together with -C, a PATH that is not a folder, a bad caption extension or
 *   trigger, an unknown rule in `rules`/`ignore`, or `unknown-tag` on a plain folder without a tags.txt
 * @throws NoDatasetError (exit 3) when PATH is omitted and no dataset is found
 * @throws ConfigError (exit 1) for a bad `.lora-tagger/config.yaml`
 */
export async function validateFolder(request: ValidateRequest): Promise<ValidateReport> {
  const dataset = await openSubject(request)
  const root = dataset ? dataset.paths.output : resolve(request.cwd, request.path!)
  const settings = dataset?.config.validate ?? DEFAULT_VALIDATE
  const target = request.target ?? settings.target
  const captionExtension =
    request.captionExtension === undefined
      ? (dataset?.config.captionExtension ?? '.txt')
      : checkExtension(request.captionExtension)
  const configured = dataset?.config.trigger ? normalizeTag(dataset.config.trigger) : null
  const trigger = request.trigger === undefined ? configured : checkTrigger(request.trigger)
  const minSide = request.minSide ?? settings.minSide
  const tokenLimit = request.tokenLimit ?? settings.tokenLimit
  const {enable, ignore} = parseRuleFlags(request.rules ?? [], request.ignore ?? [])
  const severities = resolveRules({
    config: settings.rules,
    enable,
    ignore,
    vocabularyClosed: settings.vocabulary === 'closed',
  })
  const active = new Set(severities.keys())
  const vocabulary = active.has('unknown-tag') ? await loadVocabulary(dataset, root, request.path) : null

  const findings: Finding[] = []
  const add = (rule: RuleId, path: string, message: string) =>
    findings.push({rule, severity: severities.get(rule)!, path, message, hint: RULES[rule].hint})
  const layout = checkLayout(await listEntries(root), {
    target,
    captionExtension,
    notCaptions: new Set([VOCABULARY_FILE]),
    active,
  })
  for (const p of layout.problems) add(p.rule, p.path, p.message)

  const deep = request.deep ?? false
  const imagesOn = active.has('unreadable-image') || active.has('low-resolution')
  const quick = imagesOn && !deep ? await loadQuickProbe() : undefined
  // A caption file of more than 1 MiB is not read at all (rule oversized-caption), as every lora command refuses it.
  const readHead = createHeadReader(CAPTION_MAX_BYTES, {refuseLarger: true})
  const ctx = {splitChar: splitChar(dataset?.config.separator), trigger, vocabulary, tokenLimit, active}
  const progress = await (request.progress ?? noProgress)('Validating', layout.work.length)
  try {
    await mapLimit(layout.work, request.concurrency ?? (deep ? 4 : 8), async (item, index) => {
      if (item.caption) {
        const head = readHead(`${root}/${item.caption}`)
        if (!head.ok && head.size !== undefined)
          add('oversized-caption', item.caption, `${item.caption} ${captionTooLargeProblem(head.size)}; not read.`)
        else if (!head.ok) add('encoding', item.caption, `${item.caption} could not be read (${head.code}).`)
        else
          for (const p of checkCaptionBytes(head.bytes, item.caption, ctx, head.complete))
            add(p.rule, item.caption, p.message)
      }
      if (item.image && imagesOn) {
        const abs = `${root}/${item.image}`
        const info = request.knownImages?.get(item.image) ?? quick?.(abs)
        const result: ProbeResult = info ? {ok: true, info} : await probeImage(abs, {verify: deep})
        if (!result.ok) add('unreadable-image', item.image, `${item.image} is not usable: ${result.reason}.`)
        else if (Math.min(result.info.width, result.info.height) < minSide) {
          add(
            'low-resolution',
            item.image,
            `${item.image} is ${result.info.width}×${result.info.height}; its shorter side is below ${minSide} pixels.`,
          )
        }
      }
      progress.tick()
      if (index % 256 === 255) await yieldToLoop() // let the spinner draw between runs of synchronous reads
    })
  } finally {
    progress.done()
  }

  const shown = findings.filter((f) => active.has(f.rule)).sort(compareFindings)
  const errors = shown.filter((f) => f.severity === 'error').length
  return {
    version: 1,
    path: root,
    dataset: dataset?.root ?? null,
    target,
    captionExtension,
    rules: Object.fromEntries(
      VALIDATE_RULE_IDS.filter((id) => severities.has(id)).map((id) => [id, severities.get(id)!]),
    ),
    checked: {images: layout.images, captions: layout.captions},
    errors,
    warnings: shown.length - errors,
    findings: shown,
  }
}

/**
 * The entries below `root`, never following a symbolic link (README "Safety model", rule 1): a link is described by
 * where it leads (inside `root` or not, and what is there), found without opening or reading anything through it.
 */
async function listEntries(root: string): Promise<LayoutEntry[]> {
  const entries = await listFilesBelow(root, SKIPPED_FOLDERS)
  if (!entries.some((e) => e.kind === 'symlink')) return entries
  const realRoot = resolveReal(root)
  return entries.map((entry) => {
    if (entry.kind !== 'symlink') return entry
    const target = linkTargetSync(`${root}/${entry.path}`)
    return target ? {...entry, link: {inside: isInside(target.real, realRoot), kind: target.kind}} : entry
  })
}

/** True when the run should fail: errors were found, or (with `strict`) warnings. */
export function failed(report: ValidateReport, strict: boolean): boolean {
  return report.errors > 0 || (strict && report.warnings > 0)
}

/** The dataset to validate, or undefined for a plain folder. */
async function openSubject(request: ValidateRequest): Promise<Dataset | undefined> {
  if (request.path === undefined) {
    return openDataset(await locateDataset({explicit: request.datasetFlag, env: request.datasetEnv, cwd: request.cwd}))
  }
  if (request.datasetFlag !== undefined)
    throw new UsageError(
      'Give either PATH or -C/--dataset, not both.',
      'PATH may be a dataset folder or any folder of images and captions.',
    )
  const abs = resolve(request.cwd, request.path)
  // Missing is a usage error; any other failure (EACCES, ELOOP, EIO) reaches the top-level handler as it is.
  const st = await statIfExists(abs)
  if (!st)
    throw new UsageError(
      `${request.path} does not exist.`,
      'Give a folder of images and caption files, or a lora dataset folder.',
    )
  if (!st.isDirectory())
    throw new UsageError(`${request.path} is not a folder.`, 'Give the folder that holds the images and caption files.')
  const meta = await statIfExists(join(abs, META_DIR))
  return meta?.isDirectory() ? openDataset(abs) : undefined
}

function checkExtension(value: string): string {
  const ext = value.startsWith('.') ? value : '.' + value
  if (!/^\.[A-Za-z0-9_-]{1,16}$/u.test(ext))
    throw new UsageError(
      `--caption-ext ${value}: not a file extension.`,
      'For example --caption-ext .txt or --caption-ext .caption.',
    )
  // Captions named like images would make every image a caption (README "Safety model", caption extension).
  if ((IMAGE_EXTENSIONS as readonly string[]).includes(ext.slice(1).toLowerCase()))
    throw new UsageError(
      `--caption-ext ${value}: ${ext} is an image extension.`,
      'For example --caption-ext .txt or --caption-ext .caption.',
    )
  return ext
}

function checkTrigger(value: string): string {
  const trigger = normalizeTag(value)
  if (trigger === '' || /[,\r\n]/u.test(trigger))
    throw new UsageError(
      `--trigger "${value}": a trigger word is one tag, without commas.`,
      'For example --trigger ohwx.',
    )
  return trigger
}

/** tags.txt: the dataset's, or the one at the top of a plain folder. */
async function loadVocabulary(
  dataset: Dataset | undefined,
  root: string,
  given: string | undefined,
): Promise<Set<string>> {
  if (dataset) return new Set(await dataset.loadVocabulary())
  let text: string | undefined
  try {
    // Never through a symbolic link, never a FIFO or device (README "Safety model", rule 1).
    text = await readRegularTextIfExists(join(root, VOCABULARY_FILE))
  } catch (error) {
    if (!(error instanceof NotRegularFileError)) throw error
    throw new UsageError(
      `${escapeControls(join(given ?? root, VOCABULARY_FILE))} is ${oddFileKindText(error.kind)}, not a regular file; lora does not read through it.`,
      `Replace it with a regular ${VOCABULARY_FILE} (one tag a line), or drop --rule unknown-tag.`,
    )
  }
  if (text === undefined) {
    throw new UsageError(
      `unknown-tag needs a vocabulary, and ${given ?? root} has no ${VOCABULARY_FILE}.`,
      `Put a ${VOCABULARY_FILE} (one tag a line) at the top of the folder, or drop --rule unknown-tag.`,
    )
  }
  return new Set(parseVocabulary(text))
}
