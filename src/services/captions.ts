/**
 * Caption edits, shared by `lora tag`, `lora next` and `lora resume`: reads each caption from disk (the source of
 * truth), computes the new tags, and writes captions, tags.txt and state.json as one journaled change.
 */
import {join} from 'node:path'
import {diffTags, parseCaption, serializeCaption, withTrigger} from '../core/caption.js'
import type {Dataset} from '../core/dataset.js'
import {type JournalOp, runJournal} from '../core/journal.js'
import type {DatasetState, ImageRecord, ImageStatus} from '../core/state.js'
import {serializeState} from '../core/state.js'
import {serializeVocabulary, VOCABULARY_FILE} from '../core/vocabulary.js'

/** The new tags and status of one image, computed from its current tags. */
export interface EditOutcome {
  tags: string[]
  /** Explicit new status; when omitted: tagged if any tag besides the trigger, else pending. */
  status?: ImageStatus
}

/** An edit: an image and a function of its current tags. */
export interface CaptionEdit {
  image: ImageRecord
  apply(current: string[]): EditOutcome
}

/** What an edit did to one image (`lora tag --json` reports these). */
export interface EditResult {
  id: string
  file: string
  before: string[]
  after: string[]
  added: string[]
  removed: string[]
  statusBefore: ImageStatus
  status: ImageStatus
  changed: boolean
}

/**
 * Applies caption edits. The caller holds the dataset lock and passes the state it loaded under that lock.
 *
 * @param dryRun compute and return the results without writing anything
 * @returns one result per edit, in order
 */
export async function applyCaptionEdits(dataset: Dataset, state: DatasetState, edits: readonly CaptionEdit[], options: {dryRun?: boolean; kind: string}): Promise<EditResult[]> {
  const {config} = dataset
  const trigger = config.trigger ?? undefined
  const results: EditResult[] = []
  const ops: JournalOp[] = []
  const vocabulary = new Set(await dataset.loadVocabulary())
  const now = new Date().toISOString()
  const byId = new Map(state.images.map((i, index) => [i.id, index]))
  for (const edit of edits) {
    const text = await dataset.readCaption(edit.image.file)
    const before = text === undefined ? [] : parseCaption(text, config.separator)
    const outcome = edit.apply([...before])
    const after = withTrigger(outcome.tags, trigger)
    const meaningful = after.filter((t) => t !== trigger)
    const status: ImageStatus = outcome.status ?? (meaningful.length > 0 ? 'tagged' : 'pending')
    const newText = serializeCaption(after, config.separator)
    const {added, removed} = diffTags(before, after)
    const changed = newText !== text || status !== edit.image.status
    results.push({id: edit.image.id, file: edit.image.file, before, after, added, removed, statusBefore: edit.image.status, status, changed})
    if (!changed) continue
    if (newText !== text) ops.push({op: 'write', path: dataset.rel(join(dataset.paths.output, dataset.captionFile(edit.image.file))), text: newText})
    for (const tag of meaningful) vocabulary.add(tag)
    const index = byId.get(edit.image.id)!
    state.images[index] = {...state.images[index], tags: after, status, updatedAt: now}
  }
  if (options.dryRun || !results.some((r) => r.changed)) return results
  ops.push({op: 'write', path: dataset.rel(join(dataset.paths.output, VOCABULARY_FILE)), text: serializeVocabulary(vocabulary)})
  ops.push({op: 'write', path: dataset.rel(dataset.paths.state), text: serializeState(state)})
  await runJournal(dataset.root, dataset.paths.meta, {version: 1, kind: options.kind, createdAt: now, ops})
  return results
}
