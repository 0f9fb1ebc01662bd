/**
 * `lora curate`: measures every image once (cached by image sha256 and analysis version), reports duplicate groups
 * and technical findings, and with `--apply` skips what it found in one journaled change. `readCurationAnalysis`
 * gives the same groups and findings from the cache alone, without image work (for `status`, `ls` and the gallery).
 */
import {createHash} from 'node:crypto'
import {availableParallelism} from 'node:os'
import {join, resolve} from 'node:path'
import {
  FileTooLargeError,
  isNotRealFolderError,
  NotRegularFileError,
  readRegularTextIfExists,
  sha256File,
  statIfExists,
} from '../adapters/fs.js'
import {openScorer, type ScorerSession} from '../adapters/model-runtime.js'
import {aestheticInput, parsePreprocess} from '../core/curation-aesthetic.js'
import {contactSheet, resizedRgb} from '../adapters/contact-sheet.js'
import {measureImage} from '../adapters/curation-measure.js'
import {ImageChangedError} from '../adapters/images.js'
import {
  analyseMeasures,
  type CurationGroup,
  curationSkips,
  curationSubject,
  type CurationSkip,
} from '../core/curation-report.js'
import {
  CURATION_RULES,
  CURATION_VERSION,
  type CurationFinding,
  type CurationRule,
  type CurationSettings,
  type ImageMeasures,
} from '../core/curation.js'
import {mapLimit, noProgress, type ProgressFactory} from '../core/progress.js'
import type {ImageRecord} from '../core/state.js'
import {UsageError} from '../errors.js'
import {escapeControls} from '../core/terminal-text.js'
import {applyCaptionEdits, type CaptionEdit} from '../store/caption-files.js'
import {
  type CurationSummary,
  readCurationSummary,
  readMeasures,
  writeCurationSummary,
  writeMeasures,
} from '../store/curation-cache.js'
import {HashIndex, hexToHash} from '../core/curation-hash.js'
import {type Dataset, readCacheText, writeCacheFile} from '../store/dataset.js'
import {withWriteTransaction} from '../store/transaction.js'

/** How `lora curate` runs. */
export interface CurateOptions {
  /** `--rule`: the findings to report (all when empty) and, with `apply`, to skip. */
  rules: CurationRule[]
  /** `--threshold`: the near-duplicate distance (default: config `curate.distance`). */
  distance?: number
  /** Skip every non-keeper of each group and every image with a finding of `rules`. */
  apply: boolean
  /** Say what would change; write nothing (not even the measures cache). */
  dryRun: boolean
  /** False for `--no-commit`. */
  commit?: boolean
  progress?: ProgressFactory
  /** Images measured at once (default: the number of cores). */
  concurrency?: number
  /** Where per-image warnings go (an image that does not decode, a file not regular). */
  onWarning?: (text: string) => void
  /**
   * `--review`: decides what to skip instead of `--apply`'s rule (the terminal's reviewer, ui/curate-review.ts). It
   * gets the groups, the findings of `rules` (all findings when none are given), the skips `--apply` would make
   * (its defaults), and `sheet`, which draws one group's contact sheet and returns its path
   * (`.lora-tagger/cache/curate/sheet.png`). What it returns is skipped, in one change as `--apply` does.
   */
  review?: (input: CurateReviewInput) => Promise<CurationSkip[]>
  /** `--aesthetic-model DIR`: a folder holding `model.onnx` and `preprocess.json` (relative to `cwd`). */
  aestheticModel?: string
  /** `--min-aesthetic X`: an aesthetic score below X is an `aesthetic` finding (needs `aestheticModel`). */
  minAesthetic?: number
  /** For `aestheticModel` (default: the process's). */
  cwd?: string
}

/** What a reviewer sees (CurateOptions.review). */
export interface CurateReviewInput {
  groups: CurationGroup[]
  findings: CurationFinding[]
  defaults: CurationSkip[]
  sheet: (group: CurationGroup) => Promise<string>
}

/**
 * `lora curate --json` (README "Curation"): `version` is the analysis version (CURATION_VERSION), `analyzed` the
 * images measured in this run, `cached` those whose measures came from the cache; `groups` and `findings` cover
 * the images not skipped. With `--apply`: `skipped` ({id, reason} of each image skipped, or that would be on a dry
 * run) and `commit` (when one was made).
 */
export interface CurateReport {
  version: number
  analyzed: number
  cached: number
  groups: CurationGroup[]
  findings: CurationFinding[]
  skipped?: {id: string; reason: string}[]
  commit?: string
  /** With `--aesthetic-model`: each analysed image's score, in id order. */
  aesthetic?: {id: string; score: number}[]
}

/**
 * Runs `lora curate`.
 * @throws UsageError for an unknown rule or a distance outside 0–64; with `apply`: DatasetBusyError, GitError,
 *   NotCommittedError as every write (store/transaction.ts)
 */
export async function curate(dataset: Dataset, options: CurateOptions): Promise<CurateReport> {
  const settings = curationSettings(dataset, options.distance)
  const state = await dataset.loadState()
  const candidates = state.images.filter((i) => i.status !== 'skipped')
  const measured = await measureImages(dataset, candidates, options)
  const analysis = analyseMeasures(measured.images, settings, dataset.config.validate.minSide)
  if (options.minAesthetic !== undefined && options.aestheticModel === undefined)
    throw new UsageError('--min-aesthetic needs --aesthetic-model DIR.', 'Give the model folder the scores come from.')
  const aesthetic = options.aestheticModel
    ? await aestheticScores(dataset, options.aestheticModel, measured.images, options)
    : undefined
  if (aesthetic && options.minAesthetic !== undefined) {
    const min = options.minAesthetic
    const order = new Map(measured.images.map((m, k) => [m.image.id, k]))
    const rank = (f: CurationFinding) => order.get(f.id)! * 100 + CURATION_RULES.indexOf(f.rule)
    for (const {id, score} of aesthetic)
      if (score < min)
        analysis.findings.push({
          rule: 'aesthetic',
          id,
          score: Math.round(score * 1000) / 1000,
          threshold: min,
          message: `aesthetic ${Math.round(score * 1000) / 1000} < ${min}`,
        })
    analysis.findings.sort((a, b) => rank(a) - rank(b))
  }
  if (!options.dryRun) {
    const counts: Record<string, number> = {}
    for (const f of analysis.findings) counts[f.rule] = (counts[f.rule] ?? 0) + 1
    const summary = {
      analysedAt: new Date().toISOString(),
      analysed: measured.images.length,
      groups: analysis.groups.length,
      duplicates: analysis.groups.reduce((n, g) => n + g.images.length - 1, 0),
      findings: counts,
    }
    // A rerun that finds what the last one found leaves the file (and its time) as it is: no write, no fsync.
    const last = readCurationSummary(dataset)
    const same = (s: CurationSummary) => JSON.stringify({...s, analysedAt: ''})
    if (last === undefined || same(last) !== same(summary)) await writeCurationSummary(dataset, summary)
  }
  const rules = options.rules
  const report: CurateReport = {
    version: CURATION_VERSION,
    analyzed: measured.analyzed,
    cached: measured.cached,
    groups: analysis.groups,
    findings: rules.length === 0 ? analysis.findings : analysis.findings.filter((f) => rules.includes(f.rule)),
    ...(aesthetic ? {aesthetic} : {}),
  }
  if (!options.apply && !options.review) return report
  const defaults = curationSkips(analysis, rules)
  const skips = options.review
    ? await options.review({
        groups: analysis.groups,
        findings: report.findings,
        defaults,
        sheet: (group) => groupSheet(dataset, group),
      })
    : defaults
  const {result, commit} = await withWriteTransaction(
    dataset,
    {command: 'lora curate', commit: options.commit, dryRun: options.dryRun},
    async (tx) => {
      const current = await dataset.loadState()
      const byId = new Map(current.images.map((i) => [i.id, i]))
      // Skipped since the analysis (by another command): left as they are.
      const todo = skips.filter((s) => byId.get(s.id) !== undefined && byId.get(s.id)!.status !== 'skipped')
      const edits: CaptionEdit[] = todo.map((s) => ({
        image: byId.get(s.id)!,
        apply: (tags) => ({tags, status: 'skipped', skipReason: s.reason}),
      }))
      const results = await applyCaptionEdits(tx, current, edits, {kind: 'curate'})
      const changed = todo.filter((_, k) => results[k].changed)
      return {
        result: changed,
        message:
          changed.length > 0
            ? {subject: curationSubject(changed), kind: 'curate', images: changed.map((s) => s.id)}
            : undefined,
      }
    },
  )
  return {...report, skipped: result.map((s: CurationSkip) => ({id: s.id, reason: s.reason})), commit}
}

/**
 * The aesthetic score of each image under the model in `dir` (`model.onnx`, `preprocess.json`), cached per model
 * sha256 and image sha256 in `.lora-tagger/cache/curate/aesthetic/<model>/<image>.json` (`{score}`); the runtime
 * (the one auto-tagging uses, adapters/model-runtime.ts) is loaded only when an image has no cached score.
 * @throws UsageError for a folder without those regular files or a bad preprocess.json; ModelRuntimeMissingError,
 *   ModelLoadError as `lora autotag`
 */
async function aestheticScores(
  dataset: Dataset,
  dir: string,
  images: readonly {image: ImageRecord; measures: ImageMeasures}[],
  options: CurateOptions,
): Promise<{id: string; score: number}[]> {
  const folder = resolve(options.cwd ?? process.cwd(), dir)
  const modelPath = join(folder, 'model.onnx')
  let text: string | undefined
  try {
    text = await readRegularTextIfExists(join(folder, 'preprocess.json'))
  } catch (error) {
    if (!(error instanceof NotRegularFileError)) throw error
  }
  const model = await statIfExists(modelPath)
  if (text === undefined || !model?.isFile())
    throw new UsageError(
      `${folder} does not hold model.onnx and preprocess.json (regular files).`,
      'Pass a folder holding an image-to-score ONNX model and its preprocess.json (README "lora curate").',
    )
  const pre = parsePreprocess(text, join(folder, 'preprocess.json'))
  const modelSha = await sha256File(modelPath)
  // Keyed by the model and its preprocessing: a corrected preprocess.json scores again.
  const key = createHash('sha256').update(modelSha).update('\n').update(JSON.stringify(pre)).digest('hex')
  const cacheDir = join(dataset.paths.meta, 'cache', 'curate', 'aesthetic', key)
  const scores: {id: string; score: number}[] = []
  let session: ScorerSession | undefined
  try {
    for (const {image} of images) {
      const path = join(cacheDir, `${image.sha256}.json`)
      let score: number | undefined
      try {
        const cached = JSON.parse((await readCacheText(dataset.paths.meta, path)) ?? 'null') as {score?: unknown} | null
        if (typeof cached?.score === 'number' && Number.isFinite(cached.score)) score = cached.score
      } catch {
        score = undefined
      }
      if (score === undefined) {
        let rgb: Uint8Array | undefined
        try {
          rgb = await resizedRgb(dataset.imagePath(image.file), image.sha256, pre)
        } catch (error) {
          if (!(error instanceof ImageChangedError || error instanceof FileTooLargeError)) throw error
          options.onWarning?.(`${escapeControls(image.id)}: not scored: ${escapeControls(error.message)}`)
        }
        if (!rgb) continue
        session ??= await openScorer(modelPath)
        const dims = pre.layout === 'NCHW' ? [3, pre.height, pre.width] : [pre.height, pre.width, 3]
        score = await session.score(aestheticInput(rgb, pre), dims)
        if (!options.dryRun) {
          await writeCacheFile(dataset.paths.meta, path, JSON.stringify({score}) + '\n')
        }
      }
      scores.push({id: image.id, score: Math.round(score * 10000) / 10000})
    }
  } finally {
    await session?.release()
  }
  return scores
}

/** Draws a group's contact sheet (ids, sizes, distances written under the pictures) into the cache; returns its path. */
async function groupSheet(dataset: Dataset, group: CurationGroup): Promise<string> {
  const png = await contactSheet(
    group.images.map((i) => ({
      path: dataset.imagePath(i.file),
      label: `${i.id} ${i.width}×${i.height} ${i.id === group.keep ? 'keep' : `d=${i.distance}`}`,
    })),
  )
  const path = join(dataset.paths.meta, 'cache', 'curate', 'sheet.png')
  await writeCacheFile(dataset.paths.meta, path, png)
  return path
}

/**
 * The thresholds in force: config `curate:` with `distance` overridden.
 * @throws UsageError for a distance that is not a whole number 0–64
 */
export function curationSettings(dataset: Dataset, distance?: number): CurationSettings {
  if (distance !== undefined && !(Number.isInteger(distance) && distance >= 0 && distance <= 64))
    throw new UsageError(
      `The distance must be a whole number from 0 to 64, not ${distance}.`,
      "For example --threshold 10 (imagededup's default).",
    )
  return {...dataset.config.curate, ...(distance === undefined ? {} : {distance})}
}

/**
 * Parses `--rule` values (repeatable, comma-separated).
 * @throws UsageError naming the rules for an unknown one
 */
export function parseRules(values: readonly string[]): CurationRule[] {
  const rules = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '')
  for (const rule of rules)
    if (!(CURATION_RULES as readonly string[]).includes(rule))
      throw new UsageError(`Unknown rule ${JSON.stringify(rule)}.`, `The rules are: ${CURATION_RULES.join(', ')}.`)
  return [...new Set(rules)] as CurationRule[]
}

/**
 * Measures (or reads from the cache) each image; images that cannot be measured are warned about and left out.
 * Each image's measures are cached as soon as they are taken, so a stop signal (which ends a command at once when no
 * change is in flight, store/interrupts.ts) keeps every image finished before it.
 */
async function measureImages(
  dataset: Dataset,
  images: readonly ImageRecord[],
  options: CurateOptions,
): Promise<{images: {image: ImageRecord; measures: ImageMeasures}[]; analyzed: number; cached: number}> {
  const found: ({image: ImageRecord; measures: ImageMeasures} | undefined)[] = images.map((image) => {
    const measures = readMeasures(dataset, image.sha256)
    return measures ? {image, measures} : undefined
  })
  const cached = found.filter(Boolean).length
  const todo = images.flatMap((image, k) => (found[k] ? [] : [k]))
  let analyzed = 0
  if (todo.length > 0) {
    const progress = await (options.progress ?? noProgress)('Analysing images', todo.length)
    try {
      await mapLimit(todo, options.concurrency ?? Math.max(1, availableParallelism()), async (k) => {
        const image = images[k]
        try {
          const measures = await measureImage(dataset.imagePath(image.file), image.sha256)
          if (!measures)
            options.onWarning?.(`${escapeControls(image.id)}: ${escapeControls(image.file)} is gone; not analysed.`)
          else {
            if (!options.dryRun) await writeMeasures(dataset, measures)
            found[k] = {image, measures}
            analyzed++
          }
        } catch (error) {
          // The measures' cache folder is a link or a file: every image would fail the same way; the command stops.
          if (isNotRealFolderError(error)) throw error
          const reason = error instanceof NotRegularFileError ? error.message : (error as Error).message.split('\n')[0]
          options.onWarning?.(`${escapeControls(image.id)}: not analysed: ${escapeControls(reason)}`)
        }
        progress.tick(image.id)
      })
    } finally {
      progress.done()
    }
  }
  return {images: found.filter((f) => f !== undefined), analyzed, cached}
}

/**
 * The curation analysis from the cache alone, without image work (for `status`, `ls --finding`, and the gallery
 * page): the groups and findings of the images not skipped whose measures are cached, under the config's
 * thresholds (`distance` overrides the near-duplicate distance).
 * @returns `{version, measured, unmeasured, groups, findings, measures}`: `measured` counts the images with cached
 *   measures, `unmeasured` lists the ids of the others (not analysed yet: `lora curate` measures them); `groups`
 *   ({kind: exact|near, keep, images: [{id, file, distance, width, height}]}) and `findings` ({rule, id, score,
 *   threshold, message}) as `lora curate --json` gives them; `measures` maps each measured id (skipped images
 *   included) to its ImageMeasures (core/curation.ts). `undefined` when no image of the dataset has been measured.
 */
export async function readCurationAnalysis(
  dataset: Dataset,
  options: {distance?: number} = {},
): Promise<
  | {
      version: number
      measured: number
      unmeasured: string[]
      groups: CurationGroup[]
      findings: CurationFinding[]
      measures: Map<string, {image: ImageRecord; measures: ImageMeasures}>
    }
  | undefined
> {
  const settings = curationSettings(dataset, options.distance)
  const state = await dataset.loadState()
  const measures = new Map<string, {image: ImageRecord; measures: ImageMeasures}>()
  const unmeasured: string[] = []
  for (const image of state.images) {
    const m = readMeasures(dataset, image.sha256)
    if (m) measures.set(image.id, {image, measures: m})
    else if (image.status !== 'skipped') unmeasured.push(image.id)
  }
  if (measures.size === 0) return undefined
  const active = [...measures.values()].filter((m) => m.image.status !== 'skipped')
  const analysis = analyseMeasures(active, settings, dataset.config.validate.minSide)
  return {version: CURATION_VERSION, measured: active.length, unmeasured, ...analysis, measures}
}

/** A new image that is a near-duplicate of an image already in the dataset (`lora init`'s `nearDuplicates`). */
export interface NewNearDuplicate {
  id: string
  /** The existing image nearest to it. */
  of: string
  /** pHash distance, 0 to the configured `curate.distance`. */
  distance: number
}

/**
 * After `lora init` added `added` to a dataset that `lora curate` has analysed before (its summary exists): measures
 * the new images (caching the measures, so the next `lora curate` does no work for them) and names each one whose
 * pHash lies within `curate.distance` of an image already there and not skipped (the nearest; ties by number).
 * Returns `[]` without image work when the dataset was never analysed. Images that cannot be measured are left out.
 */
export async function newNearDuplicates(dataset: Dataset, added: readonly string[]): Promise<NewNearDuplicate[]> {
  if (added.length === 0 || readCurationSummary(dataset) === undefined) return []
  const settings = curationSettings(dataset)
  const state = await dataset.loadState()
  const fresh = new Set(added)
  const existing = state.images.flatMap((image) => {
    if (fresh.has(image.id) || image.status === 'skipped') return []
    const measures = readMeasures(dataset, image.sha256)
    return measures ? [{image, hash: hexToHash(measures.phash)}] : []
  })
  if (existing.length === 0) return []
  const index = new HashIndex(existing.map((e) => e.hash))
  const measured = await measureImages(
    dataset,
    state.images.filter((i) => fresh.has(i.id)),
    {rules: [], apply: false, dryRun: false},
  )
  const found: NewNearDuplicate[] = []
  for (const {image, measures} of measured.images) {
    const near = index
      .within(hexToHash(measures.phash), settings.distance)
      .sort((a, b) => a.distance - b.distance || existing[a.index].image.n - existing[b.index].image.n)[0]
    if (near) found.push({id: image.id, of: existing[near.index].image.id, distance: near.distance})
  }
  return found
}
