/** `lora status`: counts, the next image, the vocabulary and problems, all read from the dataset's state. */
import type {Dataset} from '../store/dataset.js'
import {History, uncommittedCaptions} from './history.js'
import {resyncFromCaptions, type ResyncResult} from './rescan.js'
import {type ImageCounts} from '../core/status.js'
import {loadSummary} from '../store/summary-cache.js'

export {nextPending, summarizeImages, type ImageCounts} from '../core/status.js'

/** `lora status --json` (stable shape; documented in README). */
export interface StatusReport {
  dataset: string
  outputDir: string
  images: ImageCounts
  /** Files not imported because they duplicate an imported image. */
  duplicates: {source: string; of: string}[]
  next: {id: string; path: string} | null
  vocabulary: {size: number}
  topTags: {tag: string; count: number}[]
  /** Files that are not usable images (not imported); with `--rescan`, also captions it could not take in. */
  problems: {path: string; reason: string}[]
  /** Ids of images marked tagged whose caption has no tags. */
  emptyCaptions: string[]
  /** When set in config, the trigger word. */
  trigger: string | null
  /** With dataset history on: caption files changed since the last commit; null when history is off. */
  git: {uncommitted: string[]} | null
  /** With `--rescan`: ids of the images whose tags were re-read from changed caption files; else null. */
  rescanned: string[] | null
}

/**
 * Builds the status report (from the cached summary when nothing changed; see services/summary.ts).
 * @param options.rescan first re-read every caption file (rescanCaptions), for captions edited outside lora
 * @param options.commit with `rescan` and dataset history on: commit what the rescan took in (default true)
 * @throws DatasetBusyError with `rescan` when another writer holds the lock; GitError when history is on and the
 *   repository cannot take a commit (nothing changed then)
 */
export async function datasetStatus(dataset: Dataset, options: {rescan?: boolean; commit?: boolean} = {}): Promise<StatusReport> {
  const rescan = options.rescan ? await rescanCaptions(dataset, options.commit ?? true) : null
  const summary = await loadSummary(dataset)
  const uncommitted = await uncommittedCaptions(dataset)
  return {
    dataset: dataset.root,
    outputDir: dataset.paths.output,
    images: summary.images,
    duplicates: summary.duplicates,
    next: summary.next ? {id: summary.next.id, path: dataset.imagePath(summary.next.file)} : null,
    vocabulary: {size: summary.vocabularySize},
    topTags: summary.topTags,
    problems: [...summary.problems, ...(rescan?.problems ?? [])],
    emptyCaptions: summary.emptyCaptions,
    trigger: dataset.config.trigger,
    git: uncommitted === undefined ? null : {uncommitted},
    rescanned: rescan?.changed ?? null,
  }
}

/**
 * `lora status --rescan`: under the writer lock, brings the state and tags.txt in line with the caption files
 * (services/resync.ts). With dataset history on (and `commit`), the captions edited outside lora are committed
 * with them: `rescan: N caption(s) edited outside lora`.
 * @returns ids of the images whose tags changed, and the captions not taken in (services/rescan.ts)
 * @throws DatasetBusyError when another writer holds the lock
 */
export async function rescanCaptions(dataset: Dataset, commit = true): Promise<ResyncResult> {
  const history = await History.open(dataset, commit)
  const lock = await dataset.lock('lora status --rescan')
  try {
    const result = await resyncFromCaptions(dataset)
    const {changed} = result
    if (changed.length > 0) await history.record(`rescan: ${changed.length} caption(s) edited outside lora`, 'rescan', changed)
    return result
  } finally {
    await lock.release()
  }
}
