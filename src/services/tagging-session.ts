/**
 * `lora next` and `lora resume`: the interactive tagging loop. The service decides which image comes next, what
 * the user is shown and how an answer is saved; the UI (prompt, viewer, messages) is passed in, so the service
 * knows no terminal. Each save is one write transaction (store/transaction.ts): the lock is held only while
 * saving, never while the user types, and the caption is re-read under the lock so a `lora tag` run from another
 * terminal meanwhile is merged, not lost.
 */
import {CancelledError} from '../errors.js'
import {foldTag, parseCaption, mergeTags} from '../core/caption.js'
import type {Dataset} from '../store/dataset.js'
import type {ImageRecord, SessionState} from '../core/state.js'
import {styleTag} from '../core/tag-style.js'
import {Suggester, type Suggestion} from '../core/vocabulary.js'
import type {TagIndex} from '../core/tag-index.js'
import {loadTagIndex} from './references.js'
import {debugLog} from '../adapters/debug.js'
import {tagSubject} from '../core/commit-message.js'
import {applyCaptionEdits} from '../store/caption-files.js'
import {type DatasetSummary, loadSummary} from '../store/summary-cache.js'
import {prepareWrite, type PreparedWrite} from '../store/transaction.js'
import {refuseControlTags, tagControlProblem} from '../core/terminal-text.js'
import {offeredTags, type OfferedTag} from '../core/autotag.js'
import {CoOccurrenceIndex, type CoOccurring} from '../core/co-occurrence.js'
import {PredictionReader} from '../store/models.js'
import {summarizeImages, type ImageCounts} from './status.js'

/** What the user is shown for one image. */
export interface TaggingItem {
  image: ImageRecord
  /** Absolute path of the image file. */
  path: string
  /** The caption's tags now. */
  tags: string[]
  counts: ImageCounts
  trigger?: string
  /** Autocomplete over the vocabulary (and the reference vocabularies once `loadSuggestions` has resolved). */
  suggest: (input: string, exclude: ReadonlySet<string>) => Suggestion[]
  /**
   * Loads the reference vocabularies' index for `suggest`; set while it is not loaded. The prompt calls it once it is
   * drawn (so the prompt shows without waiting for the index) and asks `suggest` again when it resolves. Never
   * rejects: a failure is raised by the session after the answer is saved.
   */
  loadSuggestions?: () => Promise<void>
  /**
   * Reads every caption for `often`; set while they are not read (the first prompt of a run is drawn from the
   * summary cache). The prompt calls it once the reference index is in, and asks `often` again when it resolves.
   * Never rejects: a failure is raised by the session after the answer is saved.
   */
  loadCaptions?: () => Promise<void>
  /** Writes a typed or chosen tag in the dataset's tag style (what will be saved). */
  style: (tag: string) => string
  /**
   * The image's cached `lora autotag` predictions not yet in its caption (core/autotag.ts offeredTags: the model
   * used last, best first); empty when it has none.
   */
  predicted: OfferedTag[]
  /** The tags that often go with `tags` in the dataset's other captions (core/co-occurrence.ts), best first. */
  often: (tags: readonly string[]) => CoOccurring[]
}

/** The user's answer for one image. */
export type TaggingAnswer = {action: 'save'; tags: string[]} | {action: 'skip'} | {action: 'quit'}

/** One handled image. */
export interface HandledImage {
  id: string
  action: 'saved' | 'skipped'
  added: string[]
  removed: string[]
  tags: string[]
}

/** What the UI must do; implemented by the command layer. */
export interface TaggingUi {
  /** Called once before the first image of `resume`. */
  resuming?(image: ImageRecord, counts: ImageCounts): void
  /** Shows the image (its details, and the viewer). */
  present(item: TaggingItem): Promise<void>
  /** Asks for the tags. Throws CancelledError on Ctrl-C (the session then ends with `cancelled: true`). */
  ask(item: TaggingItem): Promise<TaggingAnswer>
  /** Reports what was saved and how many remain. */
  saved(handled: HandledImage, counts: ImageCounts): void
  /** Called once, before the first image, with the pending images passed over because their file is missing. */
  skippedMissing?(skipped: readonly {id: string; reason: string}[]): void
  /** Called once when the run ends, however it ends (done, Esc, Ctrl-C, an error): closes the viewer. Never throws. */
  close?(): Promise<void>
}

/** Result of a session (`--json` shape of next/resume). */
export interface SessionReport {
  handled: HandledImage[]
  /** Images of `handled` saved with tags, and skipped (this run). */
  saved: number
  skipped: number
  /** True when the user quit (Esc) before the end. */
  quit: boolean
  /** True when the user cancelled (Ctrl-C at the prompt); the command then exits 130 after saying what was saved. */
  cancelled: boolean
  /** The image shown when the user quit or cancelled, whose answer was not saved; null otherwise. */
  notSaved: string | null
  /** True when there was no pending image to begin with. */
  nothingPending: boolean
  /** The dataset's counts at the end of the run. */
  images: ImageCounts
}

/**
 * Runs the tagging loop: one image (`loop: false`, `lora next`) or until no image is pending or the user quits
 * (`loop: true`, `lora resume`). Esc ends it with `quit: true`, Ctrl-C with `cancelled: true` (the UI's ask threw
 * CancelledError); either way `notSaved` names the image whose answer was not saved, and what was saved before
 * stays saved and is counted in the report.
 * @throws GitError before the first prompt when history is on and the repository cannot take a commit;
 *   NotCommittedError when an answer was saved but its commit failed; DatasetBusyError when another writer holds
 *   the lock for more than 5 s
 */
export async function runTaggingSession(
  dataset: Dataset,
  ui: TaggingUi,
  options: {loop: boolean; commit?: boolean},
): Promise<SessionReport> {
  try {
    return await taggingLoop(dataset, ui, options)
  } finally {
    // The viewer of the last image is closed however the run ends (README "The viewer").
    await ui.close?.()
  }
}

async function taggingLoop(
  dataset: Dataset,
  ui: TaggingUi,
  options: {loop: boolean; commit?: boolean},
): Promise<SessionReport> {
  // Checked before the first prompt, so a git problem never costs the user their typing. A save waits up to 5 s
  // for the lock: the user's answer must not be lost to a short-lived writer.
  const write = await prepareWrite(dataset, {
    command: options.loop ? 'lora resume' : 'lora next',
    commit: options.commit,
    waitForLockMs: 5000,
  })
  const handled: HandledImage[] = []
  const report = (
    images: ImageCounts,
    end: {quit?: boolean; cancelled?: boolean; notSaved?: string; nothingPending?: boolean} = {},
  ): SessionReport => {
    const saved = handled.filter((h) => h.action === 'saved').length
    return {
      handled,
      saved,
      skipped: handled.length - saved,
      quit: end.quit ?? false,
      cancelled: end.cancelled ?? false,
      notSaved: end.notSaved ?? null,
      nothingPending: end.nothingPending ?? false,
      images,
    }
  }
  let first = true
  // The reference vocabulary index (if any; services/references.ts) is loaded once per run, when the first prompt
  // asks for it (TaggingItem.loadSuggestions): after the prompt is drawn, so that it shows without waiting. A failure
  // to load it is raised once the answer being typed is saved.
  let index: TagIndex | undefined
  let indexFailure: {error: unknown} | undefined
  let indexLoad: Promise<void> | undefined
  const loadIndex = (): Promise<void> =>
    (indexLoad ??= (async () => {
      try {
        const loaded = await loadTagIndex(dataset)
        index = loaded
        // The fuzzy tier (typos) joins a moment later: the prefix, alias and word tiers answer meanwhile.
        void loaded
          ?.prepareFuzzy()
          .catch((error: unknown) =>
            debugLog('lora:cache', 'the fuzzy tier of the reference index could not be prepared', error),
          )
      } catch (error) {
        indexFailure = {error}
      }
    })())
  // Every caption (state.json's records), for the co-occurring tags. The first prompt of a run may be drawn from
  // the summary cache without them (below); they are then read once it is drawn (TaggingItem.loadCaptions), and a
  // failure is raised as the index's is.
  let captions: readonly ImageRecord[] | undefined
  let captionsFailure: {error: unknown} | undefined
  let captionsLoad: Promise<void> | undefined
  const loadCaptions = (): Promise<void> =>
    (captionsLoad ??= (async () => {
      try {
        captions ??= (await dataset.loadState()).images
      } catch (error) {
        captionsFailure = {error}
      }
    })())
  const raiseLoadFailure = async () => {
    await Promise.all([indexLoad, captionsLoad])
    const failure = indexFailure ?? captionsFailure
    if (failure) throw failure.error
  }
  // Pending images whose file is gone (or not a regular file) are passed over, with a warning (README "Safety model"),
  // once per run for each.
  const warned = new Set<string>()
  const currentSummary = async (): Promise<DatasetSummary> => {
    const s = await loadSummary(dataset)
    const missing = s.missing.filter((m) => (m.status === 'pending' || m.status === 'auto') && !warned.has(m.id))
    for (const m of missing) warned.add(m.id)
    if (missing.length > 0) ui.skippedMissing?.(missing.map(({id, reason}) => ({id, reason})))
    return s
  }
  let summary = await currentSummary()
  const predictions = new PredictionReader(dataset)
  // The captions indexed once per run (on first use), each save updated in it; a `lora tag` from another terminal
  // meanwhile is seen by the next run.
  let cooccurrence: CoOccurrenceIndex | undefined
  for (;;) {
    // Each image comes from the summary (store/summary-cache.ts), which holds the next image's record, the counts and
    // every tag's count, and is the state as it is now (its key: state.json, tags.txt, the session, the output
    // folder; each save refreshes it, and a change made meanwhile by another lora makes it be computed again): the
    // prompt then shows without parsing state.json (a tenth of a second for 10,000 images).
    const image = summary.next ?? undefined
    const counts = summary.images
    const usage = new Map(summary.tagCounts)
    if (!image) return report(counts, {nothingPending: first})
    if (first && options.loop) ui.resuming?.(image, counts)
    first = false
    const text = await dataset.readCaption(image.file)
    const tags = text === undefined ? [] : parseCaption(text, dataset.config.separator)
    const trigger = dataset.config.trigger ?? undefined
    const vocabulary = await dataset.loadVocabulary()
    const words = [...new Set([...vocabulary, ...usage.keys()])].filter((t) => t !== trigger)
    let suggester = new Suggester(words, usage, index)
    const style = (tag: string) => styleTag(tag, dataset.config)
    const stored = await predictions.forImage(image.sha256)
    const predicted = stored
      ? offeredTags(stored.info, stored.scores, tags, style, (t) => tagControlProblem(t) !== undefined)
      : []
    const ignore = trigger === undefined ? [] : [trigger]
    const ignoredKeys = new Set(ignore.map(foldTag))
    const hasOwnTags = (current: readonly string[]) =>
      current.some((t) => foldTag(t) !== '' && !ignoredKeys.has(foldTag(t)))
    // An image that has tags already is offered their co-occurring tags as the prompt is drawn: the captions first
    // (a failure to read them is then raised here, before anything is typed).
    if (captions === undefined && hasOwnTags(tags)) captions = (await dataset.loadState()).images
    const item: TaggingItem = {
      image,
      path: dataset.imagePath(image.file),
      tags,
      counts,
      trigger,
      suggest: (input, exclude) => {
        if (index && suggester.index !== index) suggester = suggester.withIndex(index)
        return suggester.suggest(input, exclude)
      },
      ...(index || indexFailure ? {} : {loadSuggestions: loadIndex}),
      ...(captions || captionsFailure ? {} : {loadCaptions}),
      style,
      predicted,
      often: (current) => {
        // Nothing co-occurs with no tag (nor with the trigger alone, which the index ignores): the index (about 40 ms
        // on 10,000 captions) is not built for that, so an untagged image's prompt draws without waiting for it.
        // Until the captions are read (TaggingItem.loadCaptions), none are offered.
        if (!hasOwnTags(current) || captions === undefined) return []
        cooccurrence ??= new CoOccurrenceIndex(
          captions.map((i) => [i.id, i.tags] as const),
          ignore,
        )
        return cooccurrence.suggest(current, {exclude: image.id})
      },
    }
    await ui.present(item)
    let answer: TaggingAnswer
    try {
      answer = await ui.ask(item)
    } catch (error) {
      if (!(error instanceof CancelledError)) throw error
      const after = summarizeImages((await dataset.loadState()).images)
      return report(after, {cancelled: true, notSaved: image.id})
    }
    if (answer.action === 'quit') {
      await raiseLoadFailure()
      const after = summarizeImages((await dataset.loadState()).images)
      return report(after, {quit: true, notSaved: image.id})
    }
    // The prompt refuses such tags as they are typed; this guards every other UI.
    if (answer.action === 'save')
      refuseControlTags(
        answer.tags.filter((t) => !tags.includes(t)),
        `tags for ${image.id}`,
      )
    const done = await saveAnswer(write, dataset, image, tags, answer)
    handled.push(done.handled)
    cooccurrence?.set(done.handled.id, done.handled.tags)
    ui.saved(done.handled, done.counts)
    await raiseLoadFailure()
    if (!options.loop) return report(done.counts)
    summary = await currentSummary()
    // Captions read before this save are out of date for an index not built yet: read again when next needed.
    if (!cooccurrence) {
      captions = undefined
      captionsLoad = undefined
      captionsFailure = undefined
    }
  }
}

/** Saves one answer as one write transaction: the caption (merged with what is on disk now), then the session cursor. */
async function saveAnswer(
  write: PreparedWrite,
  dataset: Dataset,
  image: ImageRecord,
  shown: string[],
  answer: {action: 'save'; tags: string[]} | {action: 'skip'},
) {
  const {result} = await write.run(async (tx) => {
    const state = await dataset.loadState()
    const current = state.images.find((i) => i.id === image.id) ?? image
    const [edited] = await applyCaptionEdits(
      tx,
      state,
      [
        {
          image: current,
          apply: (onDisk) =>
            answer.action === 'skip'
              ? {tags: onDisk, status: 'skipped'}
              : {tags: mergeTags(shown, answer.tags, onDisk)},
        },
      ],
      // The cursor moves with the change, before the status summary is refreshed: the summary is keyed by the
      // session too, and the next run draws its first prompt from it.
      {kind: 'next', session: {cursor: image.id, updatedAt: new Date().toISOString()} satisfies SessionState},
    )
    const handled: HandledImage = {
      id: image.id,
      action: answer.action === 'skip' ? 'skipped' : 'saved',
      added: edited.added,
      removed: edited.removed,
      tags: edited.after,
    }
    return {
      result: {handled, counts: summarizeImages(state.images)},
      message: edited.changed ? {subject: tagSubject([edited]), kind: 'next', images: [image.id]} : undefined,
    }
  })
  return result
}
