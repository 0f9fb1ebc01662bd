/**
 * `lora autotag`: predicts tags for images with a local WD14-family tagger, caches the predictions per model and
 * image, and (modes `add`, `replace`) writes them into the captions as one journaled change and one commit. Images
 * whose captions a model wrote get the status `auto` until a person reviews them.
 *
 * Inference runs outside the writer lock (it can take minutes; other commands stay usable), and its results go to
 * the predictions cache after every batch, so an interrupted run keeps every finished batch; the captions are then
 * edited inside one write transaction, from the captions on disk at that moment.
 */
import {InterruptedError, UsageError} from '../errors.js'
import {
  autotagSubject,
  promptPredictions,
  type ScoredTag,
  selectTags,
  type SelectOptions,
  toCached,
  toCachedModelInfo,
} from '../core/autotag.js'
import {findSameTag, uniqueCaptionTags} from '../core/caption.js'
import {resolveImageRef} from '../core/image-ref.js'
import {mapLimit, noProgress, type ProgressFactory} from '../core/progress.js'
import type {ImageRecord} from '../core/state.js'
import {styleTag} from '../core/tag-style.js'
import {refuseControlTags} from '../core/terminal-text.js'
import {debugLog} from '../adapters/debug.js'
import {readRecordedImage, taggerPixels} from '../adapters/images.js'
import {type Device, openTagger, type TaggerSession} from '../adapters/model-runtime.js'
import {optimizeMinBytes} from '../adapters/optimized-model.js'
import {applyCaptionEdits, type CaptionEdit} from '../store/caption-files.js'
import type {Dataset} from '../store/dataset.js'
import {openModelFolder, optimizedModelsDir, readPrediction, writeModelInfo, writePrediction} from '../store/models.js'
import {pendingStop, stopBetweenUnits} from '../store/interrupts.js'
import {withWriteTransaction} from '../store/transaction.js'
import {imagePromptTags} from './prompt-tags.js'

/** Images decoded at once while the model runs. */
const DECODE_CONCURRENCY = 2

/** What `lora autotag` does with the predictions. */
export type AutotagMode = 'suggest' | 'add' | 'replace'

/** Where `lora autotag` takes its predictions from (`--from`). */
export type AutotagSource = 'model' | 'prompt'

/** The options of `lora autotag`. */
export interface AutotagOptions extends SelectOptions {
  /** Image references as typed; none: the selection below. */
  refs: string[]
  /** Every image but skipped ones (default: pending images only). */
  all: boolean
  /**
   * `--model`: a folder (relative to `cwd`), or a pulled model's name; undefined: the dataset's `autotag.model`
   * (a folder relative to the dataset folder, or a name). Not used with `from: 'prompt'`.
   */
  model?: string
  /** Where predictions come from: the tagger model (default), or the prompts image generators embedded. */
  from?: AutotagSource
  mode: AutotagMode
  /** Images per inference call (default 8). */
  batchSize: number
  /** Where the model runs (`--device`, default `cpu`). */
  device?: Device
  dryRun: boolean
  cwd: string
  commit?: boolean
  progress?: ProgressFactory
}

/** One image's predictions (and, in the writing modes, what happened to its caption). */
export interface AutotagImage {
  id: string
  file: string
  /** The chosen tags as the dataset writes them (tagStyle), best first within their category. */
  tags: {tag: string; score: number; category: ScoredTag['category']}[]
  /** True when the scores came from the cache (no inference for this image in this run). */
  cached: boolean
  /** Writing modes: tags added to and removed from the caption, and the status after. */
  added?: string[]
  removed?: string[]
  status?: string
  changed?: boolean
}

/** `lora autotag --json`. */
export interface AutotagReport {
  /** `model` or `prompt` (`--from`). */
  from: AutotagSource
  /** The model (null with `--from prompt`). */
  model: {name: string; path: string; sha256: string} | null
  mode: AutotagMode
  dryRun: boolean
  images: AutotagImage[]
  /** Images run through the model in this run. */
  inferred: number
  /** Images whose scores came from the cache. */
  cached: number
  /** Images that could not be predicted (not decodable), left out of `images`. */
  problems: {id: string; reason: string}[]
  /** `--from prompt`: images without an embedded prompt (or whose prompt holds no tag), left out of `images`. */
  skipped: {id: string; reason: string}[]
  /** Writing modes: images whose caption or status changed. */
  changed: number
  commit?: string
}

/**
 * Runs `lora autotag`.
 * @throws UsageError for a bad selection, an unknown image, a missing model; ModelRuntimeMissingError when images
 *   need inference and onnxruntime-node is not installed; ModelDeviceError when `device` is `cuda` and the runtime
 *   has no CUDA execution provider; ModelLoadError for a model that does not load;
 *   DatasetBusyError, GitError, NotCommittedError from the write (writing modes)
 */
export async function autotag(dataset: Dataset, options: AutotagOptions): Promise<AutotagReport> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
    throw new UsageError('--batch-size must be a whole number of at least 1.', 'For example --batch-size 8.')
  for (const [name, value] of [
    ['--threshold', options.threshold],
    ['--character-threshold', options.characterThreshold],
  ] as const)
    if (!(value >= 0 && value <= 1))
      throw new UsageError(`${name} must be between 0 and 1.`, `For example ${name} 0.5.`)
  if (options.maxTags !== undefined && (!Number.isInteger(options.maxTags) || options.maxTags < 0))
    throw new UsageError('--max-tags must be a whole number.', 'For example --max-tags 30.')
  const state = await dataset.loadState()
  const selected = selectImages(state.images, options, dataset)
  const report =
    options.from === 'prompt' ? fromPrompts(dataset, selected, options) : await fromModel(dataset, selected, options)
  if (options.mode === 'suggest') return report
  return writeCaptions(dataset, report, options)
}

/** Which model a run uses: `--model` (relative to the working folder), else the dataset's `autotag.model`. */
function modelSpec(dataset: Dataset, options: AutotagOptions): {spec: string; base: string; datasetConfig: boolean} {
  if (options.model !== undefined) return {spec: options.model, base: options.cwd, datasetConfig: false}
  const configured = dataset.config.autotag?.model
  if (configured !== undefined) return {spec: configured, base: dataset.root, datasetConfig: true}
  throw new UsageError(
    'No model: give --model, or set autotag.model in .lora-tagger/config.yaml.',
    'For example --model SmilingWolf/wd-vit-tagger-v3 (after lora models pull), a model folder, or --from prompt.',
  )
}

/** `--from prompt`: each image's embedded generator prompt, as tags, is its prediction (score 1, no model). */
function fromPrompts(dataset: Dataset, selected: readonly ImageRecord[], options: AutotagOptions): AutotagReport {
  const style = dataset.config
  const images: AutotagImage[] = []
  const skipped: AutotagReport['skipped'] = []
  for (const image of selected) {
    const {prompt, tags} = imagePromptTags(dataset, image)
    const chosen = promptPredictions(tags, options).map((tag) => styleTag(tag, style))
    if (chosen.length === 0) {
      skipped.push({id: image.id, reason: prompt ? 'its prompt holds no tag' : 'no embedded prompt'})
      continue
    }
    const scored = chosen.map((tag) => ({tag, score: 1, category: 'general' as const}))
    images.push({id: image.id, file: image.file, tags: dedupe(scored), cached: false})
  }
  return {
    from: 'prompt',
    model: null,
    mode: options.mode,
    dryRun: options.dryRun,
    images,
    inferred: 0,
    cached: 0,
    problems: [],
    skipped,
    changed: 0,
  }
}

/** `--from model`: scores from the predictions cache, else from the model; the tags chosen from them. */
async function fromModel(
  dataset: Dataset,
  selected: readonly ImageRecord[],
  options: AutotagOptions,
): Promise<AutotagReport> {
  const {spec, base, datasetConfig} = modelSpec(dataset, options)
  const model = await openModelFolder(spec, base, {datasetConfig})
  // Scores: from the cache, else predicted (in batches, each cached as soon as it is done).
  const scores = new Map<string, Map<number, number>>()
  const todo: ImageRecord[] = []
  for (const image of selected) {
    const cached = await readPrediction(dataset, model.sha256, image.sha256)
    if (cached) scores.set(image.id, cached)
    else todo.push(image)
  }
  const fromCache = new Set(scores.keys())
  const problems: AutotagReport['problems'] = []
  // What the tag prompt needs to offer this model's predictions (README "lora next": predicted tags).
  if (!options.dryRun)
    await writeModelInfo(dataset, model.sha256, toCachedModelInfo(model.name, model.labels, options, new Date()))
  if (todo.length > 0) await predict(dataset, model, todo, scores, problems, options)
  await debugLog('lora:cache', `autotag: ${todo.length} images inferred, ${fromCache.size} from the cache`)
  const style = dataset.config
  const images: AutotagImage[] = selected
    .filter((image) => scores.has(image.id))
    .map((image) => {
      const chosen = selectTags(model.labels, scores.get(image.id)!, options)
      const tags = chosen.map((t) => ({tag: styleTag(t.tag, style), score: t.score, category: t.category}))
      return {id: image.id, file: image.file, tags: dedupe(tags), cached: fromCache.has(image.id)}
    })
  return {
    from: 'model',
    model: {name: model.name, path: model.dir, sha256: model.sha256},
    mode: options.mode,
    dryRun: options.dryRun,
    images,
    inferred: todo.length - problems.length,
    cached: fromCache.size,
    problems,
    skipped: [],
    changed: 0,
  }
}

/** The writing modes: the predicted tags into the captions, one journaled change and one commit. */
async function writeCaptions(dataset: Dataset, report: AutotagReport, options: AutotagOptions): Promise<AutotagReport> {
  const {images} = report
  const source = report.model?.name ?? 'prompt'
  const predicted = new Map(images.map((i) => [i.id, i.tags.map((t) => t.tag)]))
  for (const tags of predicted.values()) refuseControlTags(tags, report.model?.path ?? 'the embedded prompts')
  const {result, commit} = await withWriteTransaction(
    dataset,
    {command: 'lora autotag', commit: options.commit, dryRun: options.dryRun},
    async (tx) => {
      const current = await dataset.loadState()
      const byId = new Map(current.images.map((i) => [i.id, i]))
      const edits: CaptionEdit[] = []
      for (const image of images) {
        const record = byId.get(image.id)
        const tags = predicted.get(image.id)!
        if (!record || tags.length === 0) continue
        edits.push({
          image: record,
          apply(existing) {
            if (options.mode === 'replace') return {tags, status: 'auto'}
            const fresh = tags.filter((t) => findSameTag(existing, t) === undefined)
            // Nothing new: the caption and its status stay as they are.
            if (fresh.length === 0) return undefined
            return {tags: uniqueCaptionTags([...existing, ...fresh]), status: 'auto'}
          },
        })
      }
      const results = await applyCaptionEdits(tx, current, edits, {kind: 'autotag'})
      const changed = results.filter((r) => r.changed)
      return {
        result: results,
        message:
          changed.length > 0
            ? {
                subject: autotagSubject(
                  source,
                  changed.map((r) => r.added),
                ),
                kind: 'autotag',
                images: changed.map((r) => r.id),
              }
            : undefined,
      }
    },
  )
  const byId = new Map(result.map((r) => [r.id, r]))
  for (const image of images) {
    const r = byId.get(image.id)
    if (!r) continue
    Object.assign(image, {added: r.added, removed: r.removed, status: r.status, changed: r.changed})
  }
  report.changed = result.filter((r) => r.changed).length
  if (commit) report.commit = commit
  return report
}

/** The images a run covers: those named, or every pending image (default), or every image but skipped ones. */
function selectImages(images: readonly ImageRecord[], options: AutotagOptions, dataset: Dataset): ImageRecord[] {
  if (options.refs.length > 0) {
    if (options.all) throw new UsageError('Name images or give --all, not both.', 'Drop the image arguments or --all.')
    const ctx = {cwd: options.cwd, root: dataset.root, outputDir: dataset.paths.output}
    return [...new Map(options.refs.map((r) => resolveImageRef(images, r, ctx)).map((i) => [i.id, i])).values()]
  }
  return images.filter((i) => (options.all ? i.status !== 'skipped' : i.status === 'pending'))
}

/** Runs the model over `todo` in batches, decoding the next batch while the current one runs; caches each batch. */
async function predict(
  dataset: Dataset,
  model: Awaited<ReturnType<typeof openModelFolder>>,
  todo: readonly ImageRecord[],
  scores: Map<string, Map<number, number>>,
  problems: AutotagReport['problems'],
  options: AutotagOptions,
): Promise<void> {
  const session: TaggerSession = await openTagger(model.modelPath, options.device ?? 'cpu', {
    dir: optimizedModelsDir(),
    modelSha256: model.sha256,
    minBytes: optimizeMinBytes(),
  })
  if (session.outputs !== undefined && session.outputs !== model.labels.length) {
    await session.release()
    throw new UsageError(
      `${model.modelPath} gives ${session.outputs} scores but ${model.dir}/selected_tags.csv has ${model.labels.length} tags.`,
      'The two files come from different models: pull the model again, or put the matching selected_tags.csv beside it.',
    )
  }
  const size = session.height
  if (session.width !== size) {
    await session.release()
    throw new UsageError(
      `${model.modelPath}: its input is not square (${session.width}×${size}).`,
      'Use a WD14-family tagger.',
    )
  }
  const progress = await (options.progress ?? noProgress)('Tagging', todo.length)
  const batches: ImageRecord[][] = []
  for (let i = 0; i < todo.length; i += options.batchSize) batches.push(todo.slice(i, i + options.batchSize))
  // Decodes a batch; an image that does not decode is left out of it (and reported), the others go on.
  const decode = async (batch: ImageRecord[]) => {
    // Two images at a time: enough to keep the decoder busy while the model runs in its worker, and a bounded
    // number of images being decoded (libvips holds a strip of each, more for a PNG) in memory (README
    // "Benchmarks": peak RSS).
    const inputs = await mapLimit(batch, DECODE_CONCURRENCY, async (image) => {
      const leaveOut = (reason: string) => {
        problems.push({id: image.id, reason})
        progress.tick(image.id)
      }
      // The recorded bytes only: never through a link, never blocking on a FIFO, and never bytes changed since
      // they were recorded (their predictions would be cached under the recorded image's sha256).
      let bytes: Buffer | undefined
      try {
        bytes = readRecordedImage(dataset.imagePath(image.file), image.sha256)
      } catch (error) {
        // NotRegularFileError, ImageChangedError, or the file system's (EACCES): this image only.
        leaveOut(`not read: ${(error as Error).message.split('\n')[0]}`)
        return undefined
      }
      if (bytes === undefined) {
        leaveOut(`${image.file} is gone (run \`lora status --rescan\`)`)
        return undefined
      }
      try {
        return await taggerPixels(bytes, size)
      } catch (error) {
        leaveOut(`not decodable: ${(error as Error).message.split('\n')[0]}`)
        return undefined
      }
    })
    const ok = batch.filter((_, k) => inputs[k] !== undefined)
    const pixels = new Uint8Array(ok.length * size * size * 3)
    let at = 0
    for (const input of inputs) {
      if (input === undefined) continue
      pixels.set(input, at)
      at += input.length
    }
    return {ok, pixels}
  }
  // A stop signal (Ctrl-C) ends the run after the current batch, whose predictions are cached first; with a
  // writing mode no caption is changed (the rerun finds the finished batches in the cache).
  let finished = 0
  const kept = () =>
    options.dryRun
      ? `${finished} of ${todo.length} images were run through the model; nothing was kept (dry run)`
      : `the predictions of ${finished} of ${todo.length} images are kept in the cache, and no caption was changed; ` +
        `run the same command again to go on (only the ${todo.length - finished} images left are run through the model)`
  const endStoppable = stopBetweenUnits('the current batch', kept)
  try {
    let next = decode(batches[0])
    for (const b of batches.keys()) {
      const signal = pendingStop()
      if (signal) throw new InterruptedError(signal, `Interrupted: ${kept()}.`)
      const {ok, pixels} = await next
      if (b + 1 < batches.length) {
        next = decode(batches[b + 1])
        // Handled when awaited; this keeps a failure of the model run below from leaving it unhandled.
        next.catch(() => undefined)
      }
      if (ok.length === 0) continue
      const out = await session.run(pixels, ok.length)
      for (const [k, image] of ok.entries()) {
        const record = toCached(model.sha256, image.sha256, out[k])
        scores.set(image.id, new Map(record.scores))
        if (!options.dryRun) await writePrediction(dataset, record)
        finished++
        progress.tick(image.id)
      }
    }
    const signal = pendingStop()
    if (signal) throw new InterruptedError(signal, `Interrupted: ${kept()}.`)
  } finally {
    progress.done()
    // Still stoppable while the model process shuts down: a second Ctrl-C then stops at once with the same account
    // of what was kept.
    try {
      await session.release()
    } finally {
      endStoppable()
    }
  }
}

/** Drops tags the styling made the same (`long_hair`, `long hair`), keeping the best-scored one. */
function dedupe(tags: AutotagImage['tags']): AutotagImage['tags'] {
  const kept = uniqueCaptionTags(tags.map((t) => t.tag))
  const seen = new Set<string>()
  return tags.filter((t) => kept.includes(t.tag) && !seen.has(t.tag) && seen.add(t.tag))
}
