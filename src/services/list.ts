/**
 * `lora ls`: the selection language for shell pipelines: images by status, tags, curation finding, or likeness to
 * one image (pHash distance). Read-only; curation data comes from the measures cache (`lora curate` fills it).
 */
import {measureImage} from '../adapters/curation-measure.js'
import {isSystemError, NotRegularFileError} from '../adapters/fs.js'
import {similarImages} from '../core/curation-report.js'
import {CURATION_RULES, type CurationRule} from '../core/curation.js'
import {resolveImageRef} from '../core/image-ref.js'
import type {ImageMeasures} from '../core/curation.js'
import type {ImageRecord, ImageStatus} from '../core/state.js'
import {DatasetError, LoraError, UsageError} from '../errors.js'
import type {Dataset} from '../store/dataset.js'
import {readMeasures} from '../store/curation-cache.js'
import {curationSettings, readCurationAnalysis} from './curate.js'

/** What to list. Every criterion given must hold. */
export interface ListOptions {
  status?: ImageStatus
  /** Images having every one of these tags (as written in the caption). */
  tags: string[]
  /** Images having none of these tags. */
  without: string[]
  /** Images with a finding of this rule (among images not skipped, from the cached analysis). */
  finding?: string
  /** An image reference (number, id, file name, path): images within `distance` of its pHash, nearest first. */
  like?: string
  /** pHash distance for `like` (default: config `curate.distance`). */
  distance?: number
  cwd: string
}

/**
 * `lora ls --json`: `images` in id order (by distance, then id, with `like`; `distance` is then set, and the image
 * named is not listed); `unanalysed` counts the images `--finding` or `--like` could not judge because they have no
 * cached measures yet (`lora curate` measures them; 0 without those flags).
 */
export interface ListReport {
  images: {id: string; path: string; distance?: number}[]
  unanalysed: number
}

/**
 * Lists the images matching every criterion.
 * @throws UsageError for an unknown rule, a distance outside 0–64, or an image reference that matches nothing
 */
export async function listImages(dataset: Dataset, options: ListOptions): Promise<ListReport> {
  const state = await dataset.loadState()
  let selected: {image: ImageRecord; distance?: number}[] = state.images.map((image) => ({image}))
  if (options.status !== undefined) selected = selected.filter((s) => s.image.status === options.status)
  if (options.tags.length > 0) selected = selected.filter((s) => options.tags.every((t) => s.image.tags.includes(t)))
  if (options.without.length > 0)
    selected = selected.filter((s) => !options.without.some((t) => s.image.tags.includes(t)))
  let unanalysed = 0
  if (options.finding !== undefined) {
    const rule = options.finding
    if (rule === 'aesthetic')
      throw new UsageError(
        '`lora ls --finding aesthetic` cannot list images: aesthetic scores need the model.',
        'Use `lora curate --aesthetic-model DIR --min-aesthetic X --json` (its findings list them).',
      )
    if (!(CURATION_RULES as readonly string[]).includes(rule))
      throw new UsageError(`Unknown rule ${JSON.stringify(rule)}.`, `The rules are: ${CURATION_RULES.join(', ')}.`)
    const analysis = await readCurationAnalysis(dataset)
    const found = new Set((analysis?.findings ?? []).filter((f) => f.rule === (rule as CurationRule)).map((f) => f.id))
    const unmeasured = new Set(analysis ? analysis.unmeasured : state.images.map((i) => i.id))
    unanalysed = selected.filter((s) => unmeasured.has(s.image.id) && s.image.status !== 'skipped').length
    selected = selected.filter((s) => found.has(s.image.id))
  }
  if (options.like !== undefined) {
    const distance = curationSettings(dataset, options.distance).distance
    const target = resolveImageRef(state.images, options.like, {
      cwd: options.cwd,
      root: dataset.root,
      outputDir: dataset.paths.output,
    })
    const targetMeasures = readMeasures(dataset, target.sha256) ?? (await measureTarget(dataset, target))
    if (!targetMeasures)
      throw new UsageError(`${target.id}: its file ${target.file} is gone.`, 'Restore it, or name another image.')
    const measured = selected.flatMap((s) => {
      if (s.image.id === target.id) return []
      const measures = readMeasures(dataset, s.image.sha256)
      if (!measures) unanalysed++
      return measures ? [{image: s.image, measures}] : []
    })
    selected = similarImages(targetMeasures, measured, distance)
  }
  return {
    images: selected.map((s) => ({
      id: s.image.id,
      path: dataset.imagePath(s.image.file),
      ...(s.distance === undefined ? {} : {distance: s.distance}),
    })),
    unanalysed,
  }
}

/**
 * Measures the image `lora ls --like` compares with, when curate has not measured it.
 * @returns its measures, or undefined when its file is gone
 * @throws DatasetError when its file is no longer a regular file, is not the one lora recorded, or cannot be decoded
 */
async function measureTarget(dataset: Dataset, target: ImageRecord): Promise<ImageMeasures | undefined> {
  try {
    return await measureImage(dataset.imagePath(target.file), target.sha256)
  } catch (error) {
    // A file system error (EACCES, EIO) and lora's own errors reach the top-level handler as they are; the rest is
    // sharp failing to decode the bytes.
    if (error instanceof LoraError || (isSystemError(error) && !(error instanceof NotRegularFileError))) throw error
    throw new DatasetError(
      `${target.id} cannot be compared with: ${(error as Error).message.split('\n')[0]}.`,
      'Run `lora status --rescan` to take in what changed, or name another image.',
    )
  }
}
