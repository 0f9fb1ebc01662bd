import {ConfigError} from '../errors.js'
import {isValidPrefix} from './naming.js'
import {firstNoncharacter, normalizeTag} from './caption.js'
import {checkValidateSection, readValidateSection, type ValidateSettings} from './validate/config.js'
import {CAPTION_EXTENSION_HINT, CAPTION_EXTENSION_RULE, captionExtensionProblem} from './caption-extension.js'
import {escapeControls, hasControls} from './terminal-text.js'
import {checkCurateSection, type CurationSettings, readCurateSection} from './curation.js'

/** How tags are written: as typed, with spaces for underscores, or underscores for spaces (see core/tag-style.ts). */
export type TagStyle = 'keep' | 'spaces' | 'underscores'

/**
 * `.lora-tagger/config.yaml`. Every key is optional in the file; missing keys take the defaults below.
 * Documented in README "Config keys".
 */
export interface DatasetConfig {
  /** Prefix of image ids and file names (`img_` → `img_0001.jpg`). */
  prefix: string
  /** Output folder, relative to the dataset folder. */
  output: string
  /**
   * Caption file extension with its dot: `.txt` (kohya_ss GUI, ai-toolkit, CivitAI) or `.caption` (sd-scripts);
   * never an image extension or one of lora's own (core/caption-extension.ts).
   */
  captionExtension: string
  /** Written between tags in caption files; tags are split on its non-space part. */
  separator: string
  /** Trigger word kept as the first tag of every caption, or null. */
  trigger: string | null
  /**
   * Read for `none` only, which turns the viewer off. A dataset cannot choose a program to run (README "Safety
   * model"): any other value is ignored with a warning (services/viewer-choice.ts); the viewer command comes from
   * `--viewer`, `LORA_VIEWER` or the user's own config (store/user-config.ts). Kept as a key so that datasets
   * written by earlier versions still load.
   */
  viewer: string | null
  /** How tags are written (`keep`: as typed). */
  tagStyle: TagStyle
  /** Write tags in lower case. */
  lowercase: boolean
  /** Settings of `lora validate`. */
  validate: ValidateSettings
  /** Dataset history in git: `autoCommit` makes every writing command commit its change. */
  git: GitSettings
  /** Settings of `lora autotag` (absent: none). */
  autotag?: AutotagSettings
  /** Thresholds of `lora curate` (core/curation.ts; absent keys take the published defaults). */
  curate: CurationSettings
}

/** The `autotag:` section. */
export interface AutotagSettings {
  /**
   * The default of `lora autotag --model`: a model folder (relative to the dataset folder) or a pulled model's
   * name (`OWNER/NAME[@REVISION]`). A model is data read by onnxruntime, never a program lora runs.
   */
  model?: string
}

/** The `git:` section. */
export interface GitSettings {
  autoCommit: boolean
  /**
   * False skips the repository's commit hooks (`git commit --no-verify`); absent or true runs them, as git does.
   * Read from the dataset's config: it can only turn the user's own hooks off, never make lora run a program.
   */
  verify?: boolean
}

/** Defaults for a new dataset. */
export const DEFAULT_CONFIG: DatasetConfig = {
  prefix: 'img_',
  output: 'output',
  captionExtension: '.txt',
  separator: ', ',
  trigger: null,
  viewer: null,
  tagStyle: 'keep',
  lowercase: false,
  validate: readValidateSection(undefined),
  git: {autoCommit: false},
  curate: readCurateSection(undefined),
}

type Check = (value: unknown) => string | undefined

const stringOrNull: Check = (v) =>
  v === null || (typeof v === 'string' && v.trim() !== '') ? undefined : 'a non-empty string or null'

const CHECKS: Record<keyof DatasetConfig, Check> = {
  prefix: (v) =>
    typeof v === 'string' && isValidPrefix(v) ? undefined : 'a file-name prefix without "/" or a leading "."',
  output: (v) => {
    const parts = typeof v === 'string' ? v.split(/[/\\]+/u).filter((p) => p !== '' && p !== '.') : []
    const ok =
      typeof v === 'string' &&
      v.trim() !== '' &&
      !/^[/\\]/u.test(v) &&
      parts.length > 0 &&
      !parts.includes('..') &&
      parts[0] !== '.lora-tagger'
    return ok ? undefined : 'a folder inside the dataset folder (not absolute, no "..", not .lora-tagger)'
  },
  captionExtension: (v) => (captionExtensionProblem(v) ? CAPTION_EXTENSION_RULE : undefined),
  separator: (v) =>
    typeof v === 'string' && v.trim().length === 1 && !/[\r\n]/u.test(v)
      ? undefined
      : 'one separator character, optionally with spaces, such as ", "',
  trigger: (v) =>
    stringOrNull(v) ?? (typeof v === 'string' && /[,\r\n]/u.test(v) ? 'a single tag without commas' : undefined),
  viewer: stringOrNull,
  tagStyle: (v) => (v === 'keep' || v === 'spaces' || v === 'underscores' ? undefined : 'keep, spaces or underscores'),
  lowercase: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  validate: checkValidateSection,
  git: (v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'a mapping such as {autoCommit: true}'
    for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
      if (key !== 'autoCommit' && key !== 'verify')
        return `a mapping whose keys are autoCommit and verify (not "${key}")`
      if (typeof value !== 'boolean') return `a mapping with ${key}: true or false`
    }
    return undefined
  },
  autotag: (v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      return 'a mapping such as {model: SmilingWolf/wd-vit-tagger-v3}'
    for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
      if (key !== 'model') return `a mapping whose only key is model (not "${key}")`
      if (typeof value !== 'string' || value.trim() === '') return 'a mapping with model: a model folder or name'
      if (hasControls(value)) return 'a mapping whose model holds no control or bidirectional character'
    }
    return undefined
  },
  curate: checkCurateSection,
}

/** Keys whose text lora prints or writes into names: refused when they hold a control or bidi character. */
const TEXT_KEYS = new Set(['prefix', 'output', 'separator', 'trigger'])

/** The config keys, in the order they are written. */
export const CONFIG_KEYS = Object.keys(CHECKS) as (keyof DatasetConfig)[]

/**
 * Validates a parsed config.yaml document and fills in defaults.
 *
 * @param doc the YAML document (an object, or null/undefined for an empty file)
 * @param source the file name, for messages
 * @throws ConfigError naming the key for unknown keys and bad values (a caption extension that is an image
 *   extension or one of lora's own; prefix, output, separator or trigger holding a control or bidi character; a
 *   trigger holding a Unicode noncharacter). The trigger is returned normalised as a tag (normalizeTag).
 */
export function validateConfig(doc: unknown, source = 'config.yaml'): DatasetConfig {
  if (doc === null || doc === undefined) return {...DEFAULT_CONFIG}
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(
      `${source} must be a mapping of keys to values.`,
      `Fix ${source}; the keys are: ${CONFIG_KEYS.join(', ')}.`,
    )
  }
  const config: DatasetConfig = {...DEFAULT_CONFIG}
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (!Object.hasOwn(CHECKS, key)) {
      throw new ConfigError(`Unknown key "${key}" in ${source}.`, `Remove it or use one of: ${CONFIG_KEYS.join(', ')}.`)
    }
    const problem = CHECKS[key as keyof DatasetConfig](value)
    if (!problem && TEXT_KEYS.has(key) && typeof value === 'string' && hasControls(value)) {
      throw new ConfigError(
        `Bad value for "${key}" in ${source}: "${escapeControls(value)}" holds a control or bidirectional character.`,
        `"${key}" must be free of them: lora prints it in the terminal (README "Safety model").`,
      )
    }
    const noncharacter =
      !problem && key === 'trigger' && typeof value === 'string' ? firstNoncharacter(value) : undefined
    if (noncharacter) {
      throw new ConfigError(
        `Bad value for "trigger" in ${source}: "${escapeControls(value as string)}" holds a Unicode noncharacter (${noncharacter}).`,
        `"trigger" must be free of them: lora writes it into trainers' configs, whose readers (PyYAML) refuse them.`,
      )
    }
    if (problem && key === 'captionExtension') {
      throw new ConfigError(
        `Bad value for "captionExtension" in ${source}: ${captionExtensionProblem(value)}.`,
        `"captionExtension" must be ${problem}. ${CAPTION_EXTENSION_HINT}`,
      )
    }
    if (problem && key === 'validate') throw new ConfigError(`Bad "validate" section in ${source}.`, `${problem}.`)
    if (problem)
      throw new ConfigError(
        `Bad value for "${key}" in ${source}: ${JSON.stringify(value)}.`,
        `"${key}" must be ${problem}.`,
      )
    ;(config as unknown as Record<string, unknown>)[key] =
      key === 'validate'
        ? readValidateSection(value)
        : key === 'git'
          ? {autoCommit: false, ...(value as object)}
          : key === 'curate'
            ? readCurateSection(value)
            : value
  }
  // The trigger as tags are normalised (core/caption.ts normalizeTag): a no-break space, U+2028 or a double space
  // becomes one space, as in the captions, so configs, folder names and captions name one trigger.
  if (config.trigger !== null) config.trigger = normalizeTag(config.trigger)
  // One spelling of the output folder (`./out/` → `out`), so paths and scan exclusions agree.
  config.output = config.output
    .split(/[/\\]+/u)
    .filter((p) => p !== '' && p !== '.')
    .join('/')
  return config
}
