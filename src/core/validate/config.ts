/**
 * The `validate:` section of `.lora-tagger/config.yaml`, read by `lora validate`:
 *
 * ```yaml
 * validate:
 *   target: generic        # generic | kohya | ai-toolkit | civitai
 *   minSide: 512           # low-resolution: shorter side below this many pixels
 *   vocabulary: open       # open | closed (closed: tags not in tags.txt are unknown-tag errors)
 *   tokenLimit: 75         # token-limit: CLIP token budget of a caption
 *   rules:                 # per rule id: error | warning | off
 *     low-resolution: off
 * ```
 */

/** Validation targets: which trainer's rules apply. */
export const VALIDATE_TARGETS = ['generic', 'kohya', 'ai-toolkit', 'civitai'] as const
export type ValidateTarget = (typeof VALIDATE_TARGETS)[number]

/** A rule's configured severity. */
export type RuleSetting = 'error' | 'warning' | 'off'

/**
 * The ids of `lora validate`'s rules, in the order they are reported. What each checks, its default severity and
 * the trainer source it comes from are in src/core/validate/rules.ts (and README "lora validate").
 */
export const VALIDATE_RULE_IDS = [
  'no-images',
  'missing-caption',
  'orphan-caption',
  'empty-caption',
  'oversized-caption',
  'encoding',
  'control-character',
  'multiline-caption',
  'stem-collision',
  'unsupported-format',
  'unreadable-image',
  'not-regular-file',
  'symbolic-link',
  'low-resolution',
  'duplicate-tag',
  'empty-tag',
  'whitespace',
  'unknown-tag',
  'missing-trigger',
  'kohya-folder-name',
  'caption-extension',
  'civitai-limits',
  'token-limit',
] as const
export type RuleId = (typeof VALIDATE_RULE_IDS)[number]

/** The parsed `validate:` section, defaults filled in. */
export interface ValidateSettings {
  target: ValidateTarget
  minSide: number
  vocabulary: 'open' | 'closed'
  tokenLimit: number
  /** Severity overrides by rule id (ids from VALIDATE_RULE_IDS; checked by checkValidateSection). */
  rules: Record<string, RuleSetting>
}

/** Defaults of the `validate:` section. */
export const DEFAULT_VALIDATE: ValidateSettings = {
  target: 'generic',
  minSide: 512,
  vocabulary: 'open',
  tokenLimit: 75,
  rules: {},
}

const KEYS = ['target', 'minSide', 'vocabulary', 'tokenLimit', 'rules']

/**
 * Checks a `validate:` section. Returns undefined when it is valid, else what is wrong (naming the sub-key, e.g.
 * `validate.minSide must be a whole number of at least 1`).
 */
export function checkValidateSection(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined
  if (typeof value !== 'object' || Array.isArray(value))
    return 'validate must be a mapping (target, minSide, vocabulary, tokenLimit, rules)'
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (!KEYS.includes(key)) return `validate.${key} is not a known key (use ${KEYS.join(', ')})`
    if (key === 'target' && !VALIDATE_TARGETS.includes(v as ValidateTarget))
      return `validate.target must be one of ${VALIDATE_TARGETS.join(', ')}`
    if ((key === 'minSide' || key === 'tokenLimit') && !(Number.isInteger(v) && (v as number) >= 1))
      return `validate.${key} must be a whole number of at least 1`
    if (key === 'vocabulary' && v !== 'open' && v !== 'closed') return 'validate.vocabulary must be open or closed'
    if (key === 'rules') {
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        return 'validate.rules must map rule ids to error, warning or off'
      for (const [rule, setting] of Object.entries(v as Record<string, unknown>)) {
        if (!(VALIDATE_RULE_IDS as readonly string[]).includes(rule))
          return `validate.rules.${rule} is not a known rule (use ${VALIDATE_RULE_IDS.join(', ')})`
        if (!['error', 'warning', 'off'].includes(setting as string))
          return `validate.rules.${rule} must be error, warning or off`
      }
    }
  }
  return undefined
}

/** The section with defaults filled in (call after checkValidateSection passed). */
export function readValidateSection(value: unknown): ValidateSettings {
  const v = (value ?? {}) as Partial<ValidateSettings>
  return {...DEFAULT_VALIDATE, ...v, rules: {...(v.rules ?? {})}}
}
