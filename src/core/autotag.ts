/**
 * Auto-tagging, the pure part: the label file of WD14-family taggers, choosing tags from a model's scores, the
 * predictions cache record and the commit subject of `lora autotag`.
 *
 * Label file: `selected_tags.csv` of SmilingWolf's `wd-v1-4-*` and `wd-*-tagger-v3` models, header
 * `tag_id,name,category,count`, one row per model output in output order; category 9 = rating (the first 4 rows),
 * 0 = general, 4 = character. Selection follows the model authors' reference (the `wd-tagger` Space, `app.py`):
 * the best rating by argmax, general tags at or above a threshold (0.35; kohya sd-scripts'
 * `tag_images_by_wd14_tagger.py` uses the same default), character tags at or above their own (0.85), or MCut.
 */
import {parse} from 'csv-parse/sync'
import {findSameTag, foldTag} from './caption.js'
import {UsageError} from '../errors.js'

/** Categories of selected_tags.csv. */
export const CATEGORY = {general: 0, character: 4, rating: 9} as const

/** One row of selected_tags.csv. */
export interface Label {
  name: string
  category: number
}

/**
 * Parses selected_tags.csv.
 * @param text the file's content
 * @param source the file, for messages
 * @throws UsageError when the header is not `tag_id,name,category,count` or a row has no name or category
 */
export function parseLabels(text: string, source = 'selected_tags.csv'): Label[] {
  let rows: string[][]
  try {
    const parsed: unknown = parse(text.replace(/^\uFEFF/u, ''), {relax_column_count: true, skip_empty_lines: true})
    rows = parsed as string[][]
  } catch (error) {
    throw new UsageError(`${source} is not CSV: ${(error as Error).message}`, labelHint)
  }
  const header = (rows[0] ?? []).map((c) => c.trim())
  const nameAt = header.indexOf('name')
  const categoryAt = header.indexOf('category')
  if (nameAt < 0 || categoryAt < 0)
    throw new UsageError(`${source} has no name and category columns (header: ${header.join(',')}).`, labelHint)
  return rows.slice(1).map((row, i) => {
    const name = (row[nameAt] ?? '').trim()
    const category = Number(row[categoryAt])
    if (name === '' || !Number.isInteger(category))
      throw new UsageError(`${source} row ${i + 2} has no tag name or category.`, labelHint)
    return {name, category}
  })
}

const labelHint = 'A WD14-family model folder holds selected_tags.csv with the header tag_id,name,category,count.'

/** How tags are chosen from scores (the flags of `lora autotag`). */
export interface SelectOptions {
  /** General tags at or above this (default 0.35). */
  threshold: number
  /** Character tags at or above this (default 0.85). */
  characterThreshold: number
  /** MCut instead of the thresholds (`mcutThreshold`; character tags at least 0.15, as the reference does). */
  mcut: boolean
  /** Add the best rating tag. */
  rating: boolean
  /** At most this many character and general tags (the best scores); undefined: no limit. */
  maxTags?: number
  /** Tags never chosen, compared folded (`long_hair` ~ `Long Hair`: core/caption.ts foldTag). */
  exclude: readonly string[]
}

/** Default thresholds (the model authors' demo). */
export const DEFAULT_THRESHOLD = 0.35
export const DEFAULT_CHARACTER_THRESHOLD = 0.85

/** A chosen tag, as the label file spells it, with its score (0–1). */
export interface ScoredTag {
  tag: string
  score: number
  category: 'rating' | 'character' | 'general'
}

/**
 * MCut (Largeron et al., 2012, as the model authors' reference computes it): the scores sorted descending, the
 * threshold is the midpoint of the largest gap between consecutive scores. Fewer than 2 scores: 1 (nothing passes
 * unless a score is 1).
 */
export function mcutThreshold(scores: readonly number[]): number {
  if (scores.length < 2) return 1
  const sorted = [...scores].sort((a, b) => b - a)
  let best = 0
  for (let i = 1; i < sorted.length - 1; i++) if (sorted[i] - sorted[i + 1] > sorted[best] - sorted[best + 1]) best = i
  return (sorted[best] + sorted[best + 1]) / 2
}

/**
 * Chooses the tags for one image: character tags (best first), then general tags (best first), cut to `maxTags`,
 * and with `rating` the best rating tag first. Excluded tags are never chosen.
 * @param scores one score per label (sparse: a missing index scores 0)
 */
export function selectTags(
  labels: readonly Label[],
  scores: ReadonlyMap<number, number>,
  options: SelectOptions,
): ScoredTag[] {
  const excluded = new Set(options.exclude.map(foldTag))
  const of = (category: number, name: ScoredTag['category']) =>
    labels
      .map((label, i) => ({tag: label.name, score: scores.get(i) ?? 0, category: name, c: label.category}))
      .filter((t) => t.c === category && !excluded.has(foldTag(t.tag)))
      .map(({tag, score, category: c}) => ({tag, score, category: c}))
      .sort((a, b) => b.score - a.score)
  const general = of(CATEGORY.general, 'general')
  const character = of(CATEGORY.character, 'character')
  const generalAt = options.mcut ? mcutThreshold(general.map((t) => t.score)) : options.threshold
  const characterAt = options.mcut
    ? Math.max(0.15, mcutThreshold(character.map((t) => t.score)))
    : options.characterThreshold
  let chosen = [...character.filter((t) => t.score >= characterAt), ...general.filter((t) => t.score >= generalAt)]
  if (options.maxTags !== undefined) {
    const keep = new Set([...chosen].sort((a, b) => b.score - a.score).slice(0, options.maxTags))
    chosen = chosen.filter((t) => keep.has(t))
  }
  if (options.rating) {
    const best = of(CATEGORY.rating, 'rating')[0]
    if (best) chosen.unshift(best)
  }
  return chosen
}

/**
 * One cached prediction (`.lora-tagger/cache/autotag/<model sha256>/<image sha256>.json`): the scores at or above
 * SCORE_FLOOR by label index, rounded to 4 decimals. Scores below the floor are read as 0: no threshold worth using
 * is that low, and MCut's largest gap lies above it.
 */
export interface CachedPrediction {
  version: 1
  /** sha256 of model.onnx. */
  model: string
  /** sha256 of the image's bytes. */
  image: string
  /** `[label index, score]` pairs, best first. */
  scores: [number, number][]
}

/** Scores below this are not cached (read back as 0). */
export const SCORE_FLOOR = 0.005

/** The cache record for one image's scores. */
export function toCached(model: string, image: string, scores: Float32Array | readonly number[]): CachedPrediction {
  const kept: [number, number][] = []
  for (let i = 0; i < scores.length; i++)
    if (scores[i] >= SCORE_FLOOR) kept.push([i, Math.round(scores[i] * 10_000) / 10_000])
  kept.sort((a, b) => b[1] - a[1])
  return {version: 1, model, image, scores: kept}
}

/** Reads a cache record; undefined when it is not one for this model and image (it is then predicted again). */
export function fromCached(text: string, model: string, image: string): Map<number, number> | undefined {
  try {
    const doc = JSON.parse(text) as Partial<CachedPrediction>
    if (doc.version !== 1 || doc.model !== model || doc.image !== image || !Array.isArray(doc.scores)) return undefined
    const scores = new Map<number, number>()
    for (const pair of doc.scores) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'number' || typeof pair[1] !== 'number') return undefined
      scores.set(pair[0], pair[1])
    }
    return scores
  } catch {
    return undefined
  }
}

/**
 * The commit subject of a writing run: `autotag 120 images (wd-vit-tagger-v3): +1girl ×80 +solo ×60 …`, the tags
 * most often added first (at most 6 shown).
 * @param added the tags each changed image gained
 */
export function autotagSubject(model: string, added: readonly (readonly string[])[]): string {
  const counts = new Map<string, number>()
  for (const tags of added) for (const t of tags) counts.set(t, (counts.get(t) ?? 0) + 1)
  const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  const parts = top.slice(0, 6).map(([t, n]) => (n > 1 ? `+${t} ×${n}` : `+${t}`))
  if (top.length > 6) parts.push('…')
  const images = added.length === 1 ? '1 image' : `${added.length} images`
  return `autotag ${images} (${model})${parts.length > 0 ? ': ' + parts.join(' ') : ''}`
}

/**
 * The tags `lora autotag --from prompt` chooses from an embedded prompt's tags (in prompt order): those not in
 * `options.exclude` (folded, as `selectTags` compares), one per folded spelling, at most `options.maxTags`.
 */
export function promptPredictions(
  tags: readonly string[],
  options: Pick<SelectOptions, 'exclude' | 'maxTags'>,
): string[] {
  const excluded = new Set(options.exclude.map(foldTag))
  const seen = new Set<string>()
  const chosen = tags.filter((tag) => {
    const folded = foldTag(tag)
    if (excluded.has(folded) || seen.has(folded)) return false
    seen.add(folded)
    return true
  })
  return options.maxTags === undefined ? chosen : chosen.slice(0, options.maxTags)
}

/**
 * `.lora-tagger/cache/autotag/<model sha256>/model.json`, written by every `lora autotag` run that is not a dry
 * run: what reading that model's cached predictions needs without the model folder (the prompt of `lora next` /
 * `lora resume` offers them), and the thresholds of its last run.
 */
export interface CachedModelInfo {
  version: 1
  /** The model's short name (`wd-vit-tagger-v3`). */
  name: string
  /** `[name, category]` per output, in output order (selected_tags.csv). */
  labels: [string, number][]
  /** The general and character thresholds of the last run (MCut runs record the defaults). */
  threshold: number
  characterThreshold: number
  /** ISO 8601 time of the last run that used the model: the newest model wins when several predicted an image. */
  usedAt: string
}

/** The model info record of a run. */
export function toCachedModelInfo(
  name: string,
  labels: readonly Label[],
  options: Pick<SelectOptions, 'threshold' | 'characterThreshold' | 'mcut'>,
  usedAt: Date,
): CachedModelInfo {
  return {
    version: 1,
    name,
    labels: labels.map((l) => [l.name, l.category]),
    threshold: options.mcut ? DEFAULT_THRESHOLD : options.threshold,
    characterThreshold: options.mcut ? DEFAULT_CHARACTER_THRESHOLD : options.characterThreshold,
    usedAt: usedAt.toISOString(),
  }
}

/** Reads a model info record; undefined when the text is not one (damaged, or another version). */
export function parseCachedModelInfo(text: string): CachedModelInfo | undefined {
  try {
    const doc = JSON.parse(text) as Partial<CachedModelInfo>
    if (
      doc.version !== 1 ||
      typeof doc.name !== 'string' ||
      !Array.isArray(doc.labels) ||
      typeof doc.threshold !== 'number' ||
      typeof doc.characterThreshold !== 'number' ||
      typeof doc.usedAt !== 'string' ||
      !doc.labels.every((l) => Array.isArray(l) && typeof l[0] === 'string' && typeof l[1] === 'number')
    )
      return undefined
    return doc as CachedModelInfo
  } catch {
    return undefined
  }
}

/** A model's prediction offered in the tag prompt. */
export interface OfferedTag {
  /** In the dataset's tag style. */
  tag: string
  /** The model's score, 0–1. */
  score: number
  category: 'general' | 'character'
  /** At or above its category's threshold (of the model's last run): the prompt's accept-all key takes it. */
  accepted: boolean
}

/** Predictions scoring below this are not offered (nor below the threshold when that is lower). */
export const OFFER_FLOOR = 0.2

/**
 * The predictions the tag prompt offers for one image: general and character tags (never ratings) scoring at least
 * `min(OFFER_FLOOR, threshold)`, in the dataset's tag style, not already in the caption (`findSameTag`: case and
 * `_`/space ignored), holding no comma and no control characters (`refused`), best first, at most `limit`.
 * @param scores the image's cached scores by label index
 * @param current the caption's tags now
 * @param style writes a tag in the dataset's tag style
 * @param refused true for a tag that must not be offered (control or bidi characters)
 */
export function offeredTags(
  info: CachedModelInfo,
  scores: ReadonlyMap<number, number>,
  current: readonly string[],
  style: (tag: string) => string,
  refused: (tag: string) => boolean = () => false,
  limit = 20,
): OfferedTag[] {
  const offered: OfferedTag[] = []
  const seen: string[] = []
  const sorted = [...scores].sort((a, b) => b[1] - a[1])
  for (const [index, score] of sorted) {
    const label = info.labels[index] as [string, number] | undefined
    if (!label) continue
    const category =
      label[1] === CATEGORY.general ? 'general' : label[1] === CATEGORY.character ? 'character' : undefined
    if (!category) continue
    const threshold = category === 'general' ? info.threshold : info.characterThreshold
    if (score < Math.min(OFFER_FLOOR, threshold)) continue
    const tag = style(label[0])
    // A label holding a comma (a cached model.json is a dataset's file, a stranger's maybe) would be saved as two tags.
    if (
      tag === '' ||
      tag.includes(',') ||
      refused(tag) ||
      findSameTag(current, tag) !== undefined ||
      findSameTag(seen, tag) !== undefined
    )
      continue
    seen.push(tag)
    offered.push({tag, score, category, accepted: score >= threshold})
    if (offered.length >= limit) break
  }
  return offered
}
