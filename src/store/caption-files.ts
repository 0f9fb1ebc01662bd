/**
 * Caption edits, shared by `lora tag`, `lora next` and `lora resume`: reads each caption from disk (the source of
 * truth), computes the new tags, and writes captions, tags.txt and state.json as one journaled change.
 */
import {join} from 'node:path'
import {
  diffTags,
  parseCaption,
  sameList,
  serializeCaption,
  splitCaption,
  uniqueCaptionTags,
  withTrigger,
} from '../core/caption.js'
import {styleTags} from '../core/tag-style.js'
import {type UndecodableCaption, undecodableCaptionsError} from '../core/caption-encoding.js'
import {captionTagsProblem, type ControlCaption, controlCaptionsError} from '../core/terminal-text.js'
import {refreshSummary} from './summary-cache.js'
import type {Dataset} from './dataset.js'
import type {JournalOp} from './journal.js'
import type {CommitRequest, WriteTransaction} from './transaction.js'
import type {DatasetState, ImageRecord, ImageStatus, SessionState} from '../core/state.js'
import {serializeState} from '../core/state.js'
import {serializeVocabulary, VOCABULARY_FILE} from '../core/vocabulary.js'

/** The new tags and status of one image, computed from its current tags. */
export interface EditOutcome {
  tags: string[]
  /** Explicit new status; when omitted: tagged if any tag besides the trigger, else pending. */
  status?: ImageStatus
  /**
   * With status `skipped`: why (core/state.ts ImageRecord.skipReason, `lora curate --apply`). A skip without one
   * (a person's) drops an earlier reason, and so does any other status.
   */
  skipReason?: string
}

/** An edit: an image and a function of its current tags. */
export interface CaptionEdit {
  image: ImageRecord
  /** The new tags; undefined leaves the caption exactly as it is (not restyled, no trigger word added). */
  apply(current: string[]): EditOutcome | undefined
}

/** What an edit did to one image (`lora tag --json` reports these). */
export interface EditResult {
  id: string
  file: string
  /** The caption's tags before; for an edited caption, as the file held them (a repeat such as `sky, SKY` included). */
  before: string[]
  after: string[]
  added: string[]
  removed: string[]
  statusBefore: ImageStatus
  status: ImageStatus
  changed: boolean
}

/** How an edit run behaves. */
export interface EditOptions {
  /** Journal kind, for messages (`tag`, `next`, `tags rename`, ...). */
  kind: string
  /** Changes to the vocabulary beyond adding new tags (rename, remove). */
  editVocabulary?: (vocabulary: Set<string>, results: readonly EditResult[]) => void
  /** The session (where `lora next` continues) to write once the change is applied (StateChange.session). */
  session?: SessionState
}

/**
 * Applies caption edits as one journaled change of the write transaction `tx` (nothing is written on a dry run:
 * the results say what would change). The caller passes the state it loaded inside `tx`. Tags are written in the configured style (tagStyle, lowercase) with the trigger word first. A
 * caption file is rewritten only when its tags change; the state's copy of every caption read is refreshed.
 *
 * @throws LoraError `caption-encoding` (exit 1, nothing written) when any edited image's caption is not UTF-8 or
 *   BOM-marked UTF-16 text (core/caption-encoding.ts): the whole change is refused, naming every such image
 * @throws LoraError `caption-control` (exit 1, nothing written) when the tags an edit would save hold a control or
 *   bidi character (core/terminal-text.ts captionTagsProblem, the rule `status --rescan` applies; a hand-edited
 *   caption's tag the edit keeps): the whole change is refused, naming every such image and caption. A caption the
 *   edits leave untouched that holds one is not taken in either: its image keeps the state's copy of its tags.
 *
 * @returns one result per edit, in order
 */
export async function applyCaptionEdits(
  tx: WriteTransaction,
  state: DatasetState,
  edits: readonly CaptionEdit[],
  options: EditOptions,
): Promise<EditResult[]> {
  const {dataset} = tx
  const {config} = dataset
  const trigger = config.trigger ?? undefined
  const results: EditResult[] = []
  const ops: JournalOp[] = []
  const vocabulary = new Set(await dataset.loadVocabulary())
  const vocabularyBefore = serializeVocabulary(vocabulary)
  const now = new Date().toISOString()
  const byId = new Map(state.images.map((i, index) => [i.id, index]))
  let stateChanged = false
  // Every caption is read (and decoded) before anything is decided: one that is not UTF-8/UTF-16 text refuses the
  // whole change, naming every such image, so nothing is written over bytes lora cannot read (README "Safety model").
  const texts: (string | undefined)[] = []
  const paths: string[] = []
  const undecodable: UndecodableCaption[] = []
  for (const edit of edits) {
    const read = await dataset.readCaptionChecked(edit.image.file)
    if (read.problem !== undefined) undecodable.push({id: edit.image.id, path: read.path, problem: read.problem})
    texts.push(read.text)
    paths.push(read.path)
  }
  if (undecodable.length > 0) throw undecodableCaptionsError(undecodable)
  // Tags holding a control or bidi character (a caption edited by hand) are never taken in: an edit that would save
  // one refuses the whole change, as the encoding does (README "Safety model").
  const unsafe: ControlCaption[] = []
  for (const [e, edit] of edits.entries()) {
    const text = texts[e]
    // What the file holds, repeats included (`sky, SKY`), and its tags (one spelling each: uniqueCaptionTags).
    const written = text === undefined ? [] : splitCaption(text, config.separator)
    const tags = uniqueCaptionTags(written)
    const outcome = edit.apply([...tags])
    // No outcome: the caption stays exactly as it is (and so does the image's status). An edited caption that held a
    // tag twice is rewritten with one spelling even when its tags stay the same (validate's duplicate-tag fix).
    const before = outcome ? written : tags
    const after = outcome ? savedTags(outcome.tags, config) : tags
    const meaningful = after.filter((t) => t !== trigger)
    const status: ImageStatus = outcome
      ? (outcome.status ?? (meaningful.length > 0 ? 'tagged' : 'pending'))
      : edit.image.status
    const tagsChanged = !sameList(before, after)
    // A skipped image keeps its reason (lora curate's) unless the edit gives another: `tag --skip` again keeps it.
    const skipReason = status !== 'skipped' ? undefined : (outcome?.skipReason ?? edit.image.skipReason)
    const changed = tagsChanged || status !== edit.image.status || skipReason !== edit.image.skipReason
    const {added, removed} = diffTags(before, after)
    results.push({
      id: edit.image.id,
      file: edit.image.file,
      before,
      after,
      added,
      removed,
      statusBefore: edit.image.status,
      status,
      changed,
    })
    const index = byId.get(edit.image.id)!
    const problem = captionTagsProblem(outcome ? after : tags)
    if (problem !== undefined) {
      // An edited caption is refused below; one left untouched keeps the state's copy of its tags (as a rescan).
      if (outcome) unsafe.push({id: edit.image.id, path: paths[e], problem})
      continue
    }
    if (!changed) {
      stateChanged = refreshStateTags(state, index, tags) || stateChanged
      continue
    }
    if (tagsChanged)
      ops.push({
        op: 'write',
        path: dataset.rel(join(dataset.paths.output, dataset.captionFile(edit.image.file))),
        text: serializeCaption(after, config.separator),
      })
    for (const tag of meaningful) vocabulary.add(tag)
    const record: ImageRecord = {...state.images[index], tags: after, status, updatedAt: now}
    if (skipReason === undefined) delete record.skipReason
    else record.skipReason = skipReason
    state.images[index] = record
    stateChanged = true
  }
  if (unsafe.length > 0) throw controlCaptionsError(unsafe)
  options.editVocabulary?.(vocabulary, results)
  await journalStateChange(tx, {
    kind: options.kind,
    ops,
    state,
    stateChanged,
    vocabulary,
    vocabularyBefore,
    session: options.session,
  })
  return results
}

/**
 * The tags a caption gets for `tags`: in the configured style, with the trigger word first, round-tripped through
 * the caption format so that a tag holding the separator character is saved as the tags it will be read back as
 * (what is saved is what is read).
 */
function savedTags(tags: string[], config: Dataset['config']): string[] {
  const trigger = config.trigger ?? undefined
  const styled = withTrigger(
    styleTags(
      tags.filter((t) => t !== trigger),
      config,
    ),
    trigger,
  )
  return withTrigger(parseCaption(serializeCaption(styled, config.separator), config.separator), trigger)
}

/** Sets the state's copy of an image's tags to what its caption file holds; true when that changed the state. */
function refreshStateTags(state: DatasetState, index: number, onDisk: string[]): boolean {
  if (sameList(state.images[index].tags, onDisk)) return false
  state.images[index] = {...state.images[index], tags: onDisk}
  return true
}

/** A change to the dataset's state and vocabulary, with the caption writes that go with it. */
export interface StateChange {
  /** Journal kind (`tag`, `rescan`, ...). */
  kind: string
  /** Caption writes, applied before tags.txt and state.json. */
  ops: JournalOp[]
  state: DatasetState
  /** state.json is written only when set. */
  stateChanged: boolean
  vocabulary: Set<string>
  /** tags.txt's text before the change (serializeVocabulary); tags.txt is written only when it differs. */
  vocabularyBefore: string
  /** The commit the edit will ask for, when known before the change (WriteTransaction.journal `options.commit`). */
  commit?: CommitRequest
  /**
   * session.json to write after the change (not journaled: not part of the dataset's history), before the status
   * summary is refreshed, which is keyed by the session too (store/summary-cache.ts).
   */
  session?: SessionState
}

/**
 * Writes a StateChange as one journaled change of `tx` (captions, then tags.txt, then state.json), then its session
 * when it has one, then refreshes the status summary. Writes nothing when there is nothing to write, or on a dry run.
 */
export async function journalStateChange(tx: WriteTransaction, change: StateChange): Promise<void> {
  if (tx.dryRun) return
  const {dataset} = tx
  const ops = [...change.ops]
  const vocabularyText = serializeVocabulary(change.vocabulary)
  if (vocabularyText !== change.vocabularyBefore)
    ops.push({op: 'write', path: dataset.rel(join(dataset.paths.output, VOCABULARY_FILE)), text: vocabularyText})
  if (change.stateChanged)
    ops.push({op: 'write', path: dataset.rel(dataset.paths.state), text: serializeState(change.state)})
  if (ops.length === 0 && !change.session) return
  if (ops.length > 0) await tx.journal(change.kind, ops, undefined, {commit: change.commit})
  if (change.session) await dataset.saveSession(change.session)
  await refreshSummary(dataset, change.state, change.vocabulary)
}
