/**
 * The rules of `lora validate`: what each checks, its default severity, the trainer behaviour it guards against
 * (with the source file it was read from), and how to fix a finding. Also the per-target facts (image and caption
 * extensions each trainer reads) and how the effective rule set is resolved from defaults, the config's
 * `validate.rules`, `--rule` and `--ignore`.
 */
import {UsageError} from '../../errors.js'
import {type RuleId, type RuleSetting, VALIDATE_RULE_IDS, type ValidateTarget} from './config.js'

export {VALIDATE_RULE_IDS, type RuleId} from './config.js'

/** How bad a finding is: errors fail the run (exit 4); warnings fail it only with `--strict`. */
export type Severity = 'error' | 'warning'

/** One problem found: the stable shape of `lora validate --format json` findings. */
export interface Finding {
  /** Rule id, e.g. `missing-caption`. */
  rule: RuleId
  severity: Severity
  /** The file or folder concerned, relative to the validated folder, `/`-separated (`.` for the folder itself). */
  path: string
  /** What is wrong, naming the file. */
  message: string
  /** How to fix it. */
  hint: string
}

/** What the catalogue says about a rule. */
export interface RuleInfo {
  id: RuleId
  /** Severity unless the config or `--rule` says otherwise. */
  severity: Severity
  /** Enabled by default? (`unknown-tag` is on only with `validate.vocabulary: closed` or when enabled by name.) */
  enabled: boolean
  /** One line: what the rule checks. */
  summary: string
  /** The trainer behaviour behind it and where that behaviour is read from. */
  source: string
  /** The fix, shown once per rule in human output and with every finding in JSON. */
  hint: string
}

/** The rules, in report order. */
export const RULES: Record<RuleId, RuleInfo> = {
  'no-images': {
    id: 'no-images',
    severity: 'error',
    enabled: true,
    summary: 'the folder holds no image the target reads (in the folders it reads)',
    source:
      'kohya_ss stops with "No data found" (bmaltais/kohya_ss#3374: its folder check is never called); sd-scripts finds 0 train images when every folder lacks a <repeats>_ prefix',
    hint: 'Point lora validate (and the trainer) at the folder that holds the images, or fix the findings above.',
  },
  'missing-caption': {
    id: 'missing-caption',
    severity: 'error',
    enabled: true,
    summary: 'an image has no caption file (same stem, the caption extension)',
    source:
      "sd-scripts `library/train_util.py` read_caption: `os.path.splitext(image)[0] + caption_extension`; without one the image trains on the folder's class tokens or an empty caption",
    hint: 'Write the caption file next to the image (`lora tag` in a dataset), or remove the image.',
  },
  'orphan-caption': {
    id: 'orphan-caption',
    severity: 'warning',
    enabled: true,
    summary: 'a caption file has no image of the same stem beside it',
    source:
      'every trainer looks captions up from images (sd-scripts read_caption, ai-toolkit load_caption); an orphan is never read',
    hint: 'Remove it, or restore or rename its image so the stems match.',
  },
  'empty-caption': {
    id: 'empty-caption',
    severity: 'error',
    enabled: true,
    summary: 'a caption file is empty or its first line has no tags',
    source:
      'sd-scripts `library/train_util.py` read_caption: `assert len(lines) > 0, "caption file is empty"`; an empty first line trains with an empty caption',
    hint: 'Tag the image (`lora tag <image> --add ...`), or remove the image and its caption.',
  },
  'oversized-caption': {
    id: 'oversized-caption',
    severity: 'error',
    enabled: true,
    summary:
      'a caption file is larger than 1 MiB: not a caption (one of 8,000 tags is about 100 KB); lora does not read it, and no lora command takes it in',
    source:
      'sd-scripts `library/train_util.py` read_caption reads the whole file (`f.readlines()`) for every image it loads; lora refuses to read a caption file of more than 1 MiB (README "Safety model")',
    hint: "Look at what it holds (`head -c 300 FILE`), then replace it with the image's tags (one line) or remove it.",
  },
  encoding: {
    id: 'encoding',
    severity: 'error',
    enabled: true,
    summary:
      'a caption file is neither UTF-8 nor UTF-16 with a byte-order mark (or holds NUL or U+FFFD), or is UTF-16, or starts with a UTF-8 byte-order mark',
    source:
      'sd-scripts opens captions with `encoding="utf-8"` and stops on UnicodeDecodeError ("illegal char in file (not UTF-8)"); a BOM becomes part of the first tag (U+FEFF), so the trigger word no longer matches',
    hint: "Re-save the file as UTF-8 without BOM, by what its finding says: a UTF-8 byte-order mark: `sed -i '1s/^\\xEF\\xBB\\xBF//' FILE`; UTF-16: `iconv -f utf-16 -t utf-8 FILE > FILE.new && mv FILE.new FILE`; NUL bytes (UTF-16 without a BOM): the same with `-f utf-16le` or `-f utf-16be` as the finding says; anything else (Latin-1 or another legacy encoding): the same with `-f latin1`, or the file's real encoding.",
  },
  'control-character': {
    id: 'control-character',
    severity: 'error',
    enabled: true,
    summary:
      'a caption holds a control character (U+0000–U+001F other than tab and line breaks, U+007F–U+009F) or a bidirectional control (U+202A–U+202E, U+2066–U+2069)',
    source:
      'terminal escape injection: an ESC sequence in a caption runs in the terminal of whoever prints it (cat, training logs: a screen clear, an OSC 52 clipboard write); bidi controls reorder what is shown (Trojan Source, CVE-2021-42574). lora refuses such tags (README "Safety model")',
    hint: 'Remove the character (`lora tag <image> --set "..."` rewrites the caption; `cat -v` shows where it is).',
  },
  'multiline-caption': {
    id: 'multiline-caption',
    severity: 'warning',
    enabled: true,
    summary: 'a caption file has text after its first line',
    source:
      'sd-scripts `library/train_util.py` read_caption: `caption = lines[0].strip()` unless `enable_wildcard` (then a random line)',
    hint: 'Join the lines with the separator into one line (`lora tag <image> --set "..."`), unless you use enable_wildcard on purpose.',
  },
  'stem-collision': {
    id: 'stem-collision',
    severity: 'error',
    enabled: true,
    summary: 'two images in one folder share a stem, so they share one caption file',
    source:
      'caption = image path minus its extension + caption extension (sd-scripts read_caption, ai-toolkit load_caption, CivitAI handleZip): `a.png` and `a.jpg` both read `a.txt`',
    hint: 'Rename one of the images (and write its own caption).',
  },
  'unsupported-format': {
    id: 'unsupported-format',
    severity: 'error',
    enabled: true,
    summary: 'an image has an extension the target trainer does not read',
    source:
      'sd-scripts `library/train_util.py` IMAGE_EXTENSIONS (png jpg jpeg webp bmp, lower or upper case only); ai-toolkit and CivitAI read jpg jpeg png webp',
    hint: 'In a lora dataset, leave it: `lora export --target` converts it (a GIF or TIFF becomes PNG). In a folder for a trainer, convert it to PNG, JPEG or WebP (e.g. `convert in.gif out.png`), or remove it.',
  },
  'unreadable-image': {
    id: 'unreadable-image',
    severity: 'error',
    enabled: true,
    summary:
      'an image is empty, not decodable, or its content does not match its extension (header check; --deep decodes fully)',
    source: 'trainers open every image with Pillow while caching latents or buckets; one bad file stops the run',
    hint: 'Re-export the image from its original, or remove it. Run with --deep to decode every image fully.',
  },
  'not-regular-file': {
    id: 'not-regular-file',
    severity: 'error',
    enabled: true,
    summary:
      'an image or caption file is a FIFO, device or socket, or a symbolic link leading outside the folder checked, nowhere (dangling, a loop) or to something other than a regular file; or a folder link leads outside the folder checked. lora does not read it',
    source:
      'trainers open every image and caption path they list (sd-scripts `glob` + Pillow / `open`): a FIFO blocks the run for good, a dangling link stops it, and a link leading out of the folder trains on (or ships) a file that is not part of the dataset',
    hint: 'Replace it with the regular file itself (`cp --remove-destination "$(readlink -f F)" F` for a link whose target is yours to copy), or remove it. lora never follows links nor opens pipes and devices.',
  },
  'symbolic-link': {
    id: 'symbolic-link',
    severity: 'warning',
    enabled: true,
    summary:
      'an image or caption file is a symbolic link to a regular file inside the folder checked, or a folder is a link to a folder inside it: lora does not follow links, so its content is not checked through the link',
    source:
      'sd-scripts and kohya_ss follow links (`glob`, `open`), so the link trains on its target; lora validates the folder without following them',
    hint: 'Replace the link with a copy of the file (`cp --remove-destination "$(readlink -f F)" F`) so that it is checked, or ignore the rule (--ignore symbolic-link) if the link is meant.',
  },
  'low-resolution': {
    id: 'low-resolution',
    severity: 'warning',
    enabled: true,
    summary: "an image's shorter side is below validate.minSide (default 512 pixels)",
    source:
      'bucketing upscales small images (sd-scripts BucketManager) or, with bucket_no_upscale, trains them at their own small size: blurry results',
    hint: 'Use a larger original, or lower validate.minSide in .lora-tagger/config.yaml (or --min-side) if small images are intended.',
  },
  'duplicate-tag': {
    id: 'duplicate-tag',
    severity: 'warning',
    enabled: true,
    summary: 'a caption repeats a tag (compared ignoring case, which CLIP ignores too)',
    source:
      'sd-scripts shuffles and keeps every token (`caption.split(caption_separator)`), so a repeated tag is weighted twice; CLIP lower-cases text',
    hint: 'Remove the repeat (`lora tag <image> --set "..."` rewrites the caption without repeats).',
  },
  'empty-tag': {
    id: 'empty-tag',
    severity: 'warning',
    enabled: true,
    summary: 'a caption has an empty tag (`a,,b`, or a separator at the start or end)',
    source:
      'sd-scripts splits on caption_separator and strips, keeping empty tokens, so shuffled captions get `, ,` holes',
    hint: 'Remove the extra separator.',
  },
  whitespace: {
    id: 'whitespace',
    severity: 'warning',
    enabled: true,
    summary: 'a caption has leading or trailing spaces, tabs or other odd white space, or doubled spaces in a tag',
    source:
      'tags are compared as written by ai-toolkit (`inject_trigger_into_prompt`), CivitAI and tag tools; stray white space makes the same tag look different',
    hint: 'Trim the tags; `lora tag <image> --set "..."` writes them cleanly.',
  },
  'unknown-tag': {
    id: 'unknown-tag',
    severity: 'error',
    enabled: false,
    summary:
      'a caption uses a tag that is not in tags.txt (on with `validate.vocabulary: closed`, or when enabled by name)',
    source: 'a closed vocabulary keeps tags consistent across images (a typo is a different token sequence to CLIP)',
    hint: "Fix the tag's spelling, or add it to tags.txt if it is meant.",
  },
  'missing-trigger': {
    id: 'missing-trigger',
    severity: 'error',
    enabled: true,
    summary:
      "the trigger word is absent from a caption or not its first tag (needs a trigger: the dataset's, or --trigger)",
    source:
      'sd-scripts `keep_tokens = 1` keeps the first tag in place when shuffling; ai-toolkit `inject_trigger_into_prompt` prepends the trigger when absent',
    hint: 'Put the trigger word first (`lora tag --all --add <trigger>` keeps it first in a dataset).',
  },
  'kohya-folder-name': {
    id: 'kohya-folder-name',
    severity: 'error',
    enabled: true,
    summary:
      'a kohya image folder is not named `<repeats>_<name>` with a whole number of repeats of at least 1, or images sit where kohya does not read them',
    source:
      'sd-scripts `library/config_util.py` generate_dreambooth_subsets_config_by_subdirs: `int(name.split("_")[0])` or "ignore directory without repeats"; only subfolders of train_data_dir are read, not nested ones',
    hint: 'Rename the folder to `<repeats>_<name>`, e.g. `10_ohwx woman` (`lora export DEST --repeats 10 --class woman` does this).',
  },
  'caption-extension': {
    id: 'caption-extension',
    severity: 'error',
    enabled: true,
    summary: 'a caption file has an extension the target does not read (`.caption` vs `.txt`)',
    source:
      'sd-scripts `--caption_extension` defaults to `.caption` (`library/config_util.py`), kohya_ss GUI and ai-toolkit `caption_ext` to `.txt`, CivitAI accepts `.txt` only',
    hint: 'Rename the caption files to the extension the trainer reads, or tell lora which one you use (--caption-ext, or captionExtension in config.yaml).',
  },
  'civitai-limits': {
    id: 'civitai-limits',
    severity: 'error',
    enabled: true,
    summary: 'a CivitAI export has more than 1,000 files or has folders (target civitai)',
    source: "CivitAI's trainer takes a zip of image/caption pairs at its root (no parent folder), at most 1,000 files",
    hint: 'Flatten the folder and keep at most 1,000 files (500 image/caption pairs).',
  },
  'token-limit': {
    id: 'token-limit',
    severity: 'warning',
    enabled: true,
    summary: 'a caption is longer than validate.tokenLimit CLIP tokens (default 75; an estimate, see README)',
    source:
      'CLIP encodes 77 tokens including start and end, so 75 for the caption; sd-scripts truncates the rest unless `--max_token_length` is 150 or 225',
    hint: 'Drop the least useful tags, or raise validate.tokenLimit if you train with --max_token_length 150/225.',
  },
}

/** What each target trainer reads. Lower-case extensions without the dot unless noted. */
export interface TargetInfo {
  /** Image extensions the trainer reads. */
  imageExtensions: readonly string[]
  /** When true, only all-lower or all-upper case spellings of them are read (sd-scripts globs `*.png`, `*.PNG`). */
  caseExact: boolean
  /** Caption extensions (with dot) the trainer can read. */
  captionExtensions: readonly string[]
  /** Whether ai-toolkit's `default.txt` folder fallback caption applies. */
  defaultCaption: boolean
}

/**
 * Per-target facts, from the trainers' sources: kohya sd-scripts `library/train_util.py` IMAGE_EXTENSIONS (avif/jxl only with
 * optional plugins, so not counted); ai-toolkit `toolkit/dataloader_mixins.py`; CivitAI's trainer (`handleZip`) png/jpg/jpeg/webp
 * and `.txt`. `generic` is what every one of them reads.
 */
export const TARGETS: Record<ValidateTarget, TargetInfo> = {
  generic: {
    imageExtensions: ['jpg', 'jpeg', 'png', 'webp'],
    caseExact: false,
    captionExtensions: ['.txt', '.caption'],
    defaultCaption: false,
  },
  kohya: {
    imageExtensions: ['png', 'jpg', 'jpeg', 'webp', 'bmp'],
    caseExact: true,
    captionExtensions: ['.txt', '.caption'],
    defaultCaption: false,
  },
  'ai-toolkit': {
    imageExtensions: ['jpg', 'jpeg', 'png', 'webp'],
    caseExact: false,
    captionExtensions: ['.txt'],
    defaultCaption: true,
  },
  civitai: {
    imageExtensions: ['png', 'jpg', 'jpeg', 'webp'],
    caseExact: false,
    captionExtensions: ['.txt'],
    defaultCaption: false,
  },
}

/** Human name of a target, for messages. */
export const TARGET_NAMES: Record<ValidateTarget, string> = {
  generic: 'every trainer',
  kohya: 'kohya sd-scripts',
  'ai-toolkit': 'ai-toolkit',
  civitai: 'CivitAI',
}

/** A `--rule` flag value: `ID` or `ID:error` / `ID:warning`. */
export interface RuleRequest {
  id: RuleId
  severity?: Severity
}

/**
 * Parses `--rule` values (`ID`, `ID:error`, `ID:warning`) and `--ignore` values (`ID`).
 * @throws UsageError (exit 2) for an unknown id or severity, listing the valid ones
 */
export function parseRuleFlags(
  rule: readonly string[],
  ignore: readonly string[],
): {enable: RuleRequest[]; ignore: RuleId[]} {
  const known = (id: string, flag: string): RuleId => {
    if ((VALIDATE_RULE_IDS as readonly string[]).includes(id)) return id as RuleId
    throw new UsageError(`${flag} ${id}: no such rule.`, `Rules: ${VALIDATE_RULE_IDS.join(', ')}.`)
  }
  const enable = rule.map((value) => {
    const [id, severity, extra] = value.split(':')
    if (extra !== undefined || (severity !== undefined && severity !== 'error' && severity !== 'warning')) {
      throw new UsageError(
        `--rule ${value}: expected ID, ID:error or ID:warning.`,
        'For example --rule low-resolution:error.',
      )
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it (severity: string here)
    return {id: known(id, '--rule'), severity: severity as Severity | undefined}
  })
  return {enable, ignore: ignore.map((id) => known(id, '--ignore'))}
}

/**
 * The rules that run and their severities. Order of precedence: the catalogue's defaults, then `unknown-tag` on
 * when the vocabulary is closed, then the config's `validate.rules` (`off` disables; `error`/`warning` enables with
 * that severity), then `--rule`, then `--ignore` (which always wins).
 */
export function resolveRules(options: {
  config: Readonly<Record<string, RuleSetting>>
  enable: readonly RuleRequest[]
  ignore: readonly RuleId[]
  vocabularyClosed: boolean
}): Map<RuleId, Severity> {
  const active = new Map<RuleId, Severity>()
  for (const id of VALIDATE_RULE_IDS) {
    const info = RULES[id]
    if (info.enabled || (id === 'unknown-tag' && options.vocabularyClosed)) active.set(id, info.severity)
  }
  for (const [id, setting] of Object.entries(options.config)) {
    if (!(VALIDATE_RULE_IDS as readonly string[]).includes(id)) continue
    if (setting === 'off') active.delete(id as RuleId)
    else active.set(id as RuleId, setting)
  }
  for (const {id, severity} of options.enable) active.set(id, severity ?? active.get(id) ?? RULES[id].severity)
  for (const id of options.ignore) active.delete(id)
  return active
}

/** Report order of findings: by rule (catalogue order), then by path (code-point order). */
export function compareFindings(a: Finding, b: Finding): number {
  const byRule = VALIDATE_RULE_IDS.indexOf(a.rule) - VALIDATE_RULE_IDS.indexOf(b.rule)
  if (byRule !== 0) return byRule
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0
}
