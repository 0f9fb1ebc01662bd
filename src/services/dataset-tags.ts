/**
 * `lora tags`: the dataset's tags and dataset-wide tag edits (rename/merge, remove, add to the vocabulary,
 * normalise). Every edit is one write transaction (store/transaction.ts) whose caption changes are one journaled
 * change (store/caption-files.ts): after a kill at any instant, recovery leaves either all the old or all the new
 * tags.
 */
import {UsageError} from '../errors.js'
import {normalizeTag, tagKey, uniqueCaptionTags, uniqueTags} from '../core/caption.js'
import type {Dataset} from '../store/dataset.js'
import {styleTag} from '../core/tag-style.js'
import {closeMatches, countTags} from '../core/vocabulary.js'
import {applyCaptionEdits, type EditOutcome, type EditResult} from '../store/caption-files.js'
import type {ImageStatus} from '../core/state.js'
import {withWriteTransaction} from '../store/transaction.js'
import {refuseControlTags} from '../core/terminal-text.js'
import {counted} from '../core/plural.js'

/** One row of `lora tags`. */
export interface TagCount {
  tag: string
  /** Captions using it. */
  count: number
}

/** `lora tags --json`. */
export interface TagList {
  tags: TagCount[]
}

/**
 * The dataset's tags with how many captions use each (the trigger word left out).
 * @param sort `count` (most used first) or `name`
 * @param unused list instead the vocabulary entries (tags.txt) that no caption uses
 */
export async function listTags(dataset: Dataset, options: {sort: 'count' | 'name'; unused: boolean}): Promise<TagList> {
  const [state, vocabulary] = await Promise.all([dataset.loadState(), dataset.loadVocabulary()])
  const trigger = dataset.config.trigger
  const counts = countTags(state.images.map((i) => i.tags.filter((t) => t !== trigger)))
  let rows: TagCount[] = options.unused
    ? vocabulary.filter((t) => !counts.has(t) && t !== trigger).map((tag) => ({tag, count: 0}))
    : [...counts].map(([tag, count]) => ({tag, count}))
  rows = rows.sort(
    (a, b) => (options.sort === 'count' ? b.count - a.count : 0) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0),
  )
  return {tags: rows}
}

/** Result of a dataset-wide edit (`--json` of rename, rm, add, normalize; keys as in `lora tag --json`). */
export interface BulkEditReport {
  action: 'rename' | 'rm' | 'normalize' | 'add'
  dryRun: boolean
  /** Images whose caption changed (or would change). */
  changed: number
  /** Per changed image: what changed in its caption. */
  images: Pick<EditResult, 'id' | 'file' | 'before' | 'after' | 'added' | 'removed'>[]
  /**
   * Entries added to or removed from tags.txt by this edit: what differs between tags.txt before and after, whatever
   * the reason (the new name of a renamed tag, a tag of an edited caption that tags.txt lacked). `added` in the
   * order they were added, `removed` in tags.txt's order.
   */
  vocabulary: {added: string[]; removed: string[]}
  /**
   * `rm` only: the tags asked for that no caption holds and tags.txt lacks (nothing to remove), each with up to 5
   * close matches among the dataset's tags (core/vocabulary.ts closeMatches). Not an error.
   */
  notFound?: {tag: string; closeMatches: string[]}[]
  /** The commit recording the change, when history is on. */
  commit?: string
}

/** How a dataset-wide edit runs (`--dry-run`, `--no-commit`). */
export interface BulkEditOptions {
  /** Report what would change; write nothing. */
  dryRun?: boolean
  /** False for `--no-commit`: write, but do not commit (when history is on). Default true. */
  commit?: boolean
}

/**
 * Renames a tag in every caption and in tags.txt. When a caption already has NEW, the two merge: NEW takes OLD's
 * position and no duplicate remains.
 * @param options.from the tag to rename (OLD), as typed
 * @param options.to its new name (NEW), as typed; written in the configured tag style
 * @throws UsageError for empty or identical names, renaming the trigger word, or a NEW holding a control or bidi
 *   character (OLD may hold one: renaming is how such a tag is cleaned up)
 * @throws DatasetBusyError, GitError, NotCommittedError as withWriteTransaction (store/transaction.ts)
 */
export async function renameTag(
  dataset: Dataset,
  options: {from: string; to: string} & BulkEditOptions,
): Promise<BulkEditReport> {
  const from = normalizeTag(options.from)
  const to = styleTag(options.to, dataset.config)
  if (!from || !to) throw new UsageError('Tag names cannot be empty.', 'lora tags rename OLD NEW')
  refuseControlTags([to], 'lora tags rename')
  if (from === to) throw new UsageError(`"${from}" and "${to}" are the same tag.`, 'Give a different new name.')
  if (from === dataset.config.trigger || to === dataset.config.trigger)
    throw new UsageError(
      'The trigger word is set in config.yaml, not renamed as a tag.',
      'Change "trigger" in .lora-tagger/config.yaml.',
    )
  return bulkEdit(
    dataset,
    'rename',
    options,
    (n) => `tags rename "${from}" \u2192 "${to}" in ${counted(n, 'caption')}`,
    (tags) =>
      tags.includes(from)
        ? uniqueCaptionTags(tags.map((t) => (t === from ? to : tagKey(t) === tagKey(to) ? '' : t)))
        : undefined,
    (vocabulary, _report, changed) => {
      const known = vocabulary.delete(from)
      if (known || changed > 0) vocabulary.add(to)
    },
  )
}

/**
 * Removes tags from every caption and from the vocabulary. A tag that no caption holds and tags.txt lacks is not an
 * error (as `git rm --ignore-unmatch`): the report lists it in `notFound` with close matches, and the others are
 * removed.
 * @throws UsageError for no tag, or the trigger word
 */
export async function removeTags(
  dataset: Dataset,
  options: {tags: string[]} & BulkEditOptions,
): Promise<BulkEditReport> {
  const drop = new Set(options.tags.map(normalizeTag).filter(Boolean))
  if (drop.size === 0) throw new UsageError('No tag to remove.', 'lora tags rm TAG...')
  if (dataset.config.trigger && drop.has(dataset.config.trigger))
    throw new UsageError(
      'The trigger word is set in config.yaml, not removed as a tag.',
      'Change "trigger" in .lora-tagger/config.yaml.',
    )
  return bulkEdit(
    dataset,
    'rm',
    options,
    (n) => `tags rm ${[...drop].map((t) => `"${t}"`).join(' ')} from ${counted(n, 'caption')}`,
    (current) => (current.some((t) => drop.has(t)) ? current.filter((t) => !drop.has(t)) : undefined),
    (vocabulary) => {
      for (const t of drop) vocabulary.delete(t)
    },
    async (report, seen) => {
      report.notFound = []
      for (const tag of drop) {
        if (seen.has(tag)) continue
        report.notFound.push({tag, closeMatches: await closeMatches(tag, seen)})
      }
    },
  )
}

/** Rewrites every caption in the configured tag style (config `tagStyle`, `lowercase`). */
export async function normalizeCaptions(dataset: Dataset, options: BulkEditOptions = {}): Promise<BulkEditReport> {
  return bulkEdit(
    dataset,
    'normalize',
    options,
    (n) =>
      `tags normalize to ${dataset.config.tagStyle}${dataset.config.lowercase ? ', lower case' : ''}: ${counted(n, 'caption')}`,
    (tags) => tags,
    (vocabulary) => {
      for (const t of [...vocabulary]) {
        const styled = styleTag(t, dataset.config)
        if (styled === t) continue
        vocabulary.delete(t)
        vocabulary.add(styled)
      }
    },
  )
}

/**
 * Adds tags to the vocabulary (tags.txt) only.
 * @throws UsageError for no tag, or a tag holding a control or bidi character
 */
export async function addToVocabulary(
  dataset: Dataset,
  options: {tags: string[]} & BulkEditOptions,
): Promise<BulkEditReport> {
  const add = uniqueTags(options.tags.map((t) => styleTag(t, dataset.config)))
  if (add.length === 0) throw new UsageError('No tag to add.', 'lora tags add TAG...')
  refuseControlTags(add, 'lora tags add')
  return bulkEdit(
    dataset,
    'add',
    options,
    () => `tags add ${add.map((t) => `"${t}"`).join(' ')} to the vocabulary`,
    undefined,
    (vocabulary) => {
      for (const t of add) vocabulary.add(t)
    },
  )
}

async function bulkEdit(
  dataset: Dataset,
  action: BulkEditReport['action'],
  options: BulkEditOptions,
  subject: (captions: number) => string,
  /** The new tags of one caption; undefined leaves it untouched (rename and rm touch only captions holding the tag). */
  edit: ((tags: string[]) => string[] | undefined) | undefined,
  /** Changes tags.txt beyond adding the tags of edited captions; the report's `vocabulary` is the difference. */
  vocabularyEdit: (vocabulary: Set<string>, report: BulkEditReport, changedCaptions: number) => void,
  /** Completes the report, given every tag that was in a caption or in tags.txt before the edit. */
  finish?: (report: BulkEditReport, seen: ReadonlySet<string>) => Promise<void>,
): Promise<BulkEditReport> {
  const dryRun = options.dryRun === true
  const {result: report, commit} = await withWriteTransaction(
    dataset,
    {command: `lora tags ${action}`, dryRun, commit: options.commit},
    async (tx) => {
      const state = await dataset.loadState()
      const report: BulkEditReport = {action, dryRun, changed: 0, images: [], vocabulary: {added: [], removed: []}}
      // Keep each image's status: a dataset-wide edit is not the user judging that image.
      const edits = edit
        ? state.images.map((image) => ({image, apply: (tags: string[]) => withStatus(edit(tags), image.status)}))
        : []
      const vocabularyBefore = new Set(await dataset.loadVocabulary())
      const results = await applyCaptionEdits(tx, state, edits, {
        kind: `tags ${action}`,
        editVocabulary: (vocabulary, sofar) => {
          vocabularyEdit(vocabulary, report, sofar.filter((r) => r.changed).length)
          report.vocabulary = {
            added: [...vocabulary].filter((t) => !vocabularyBefore.has(t)),
            removed: [...vocabularyBefore].filter((t) => !vocabulary.has(t)),
          }
        },
      })
      if (finish) {
        // Tags as the captions held them before the edit (read from the files by applyCaptionEdits), and tags.txt.
        const seen = new Set(vocabularyBefore)
        for (const r of results) for (const t of r.before) seen.add(t)
        for (const image of state.images) for (const t of image.tags) seen.add(t)
        await finish(report, seen)
      }
      const changed = results.filter((r) => r.changed)
      report.changed = changed.length
      report.images = changed.map(({id, file, before, after, added, removed}) => ({
        id,
        file,
        before,
        after,
        added,
        removed,
      }))
      const any = changed.length > 0 || report.vocabulary.added.length > 0 || report.vocabulary.removed.length > 0
      return {
        result: report,
        message: any
          ? {subject: subject(changed.length), kind: `tags ${action}`, images: changed.map((r) => r.id)}
          : undefined,
      }
    },
  )
  if (commit !== undefined) report.commit = commit
  return report
}

/** An edit outcome keeping the image's status, or undefined (caption untouched) when there are no new tags. */
function withStatus(tags: string[] | undefined, status: ImageStatus): EditOutcome | undefined {
  return tags && {tags, status}
}
