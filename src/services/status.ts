/** `lora status`: counts, the next image, the vocabulary and problems, all read from the dataset's state. */
import type {Dataset} from '../store/dataset.js'
import {uncommittedCaptions} from './history.js'
import {resyncFromCaptions, type ResyncResult} from './rescan.js'
import {type ImageCounts} from '../core/status.js'
import {loadSummary} from '../store/summary-cache.js'
import {type CurationSummary, readCurationSummary} from '../store/curation-cache.js'
import {withWriteTransaction} from '../store/transaction.js'
import {counted} from '../core/plural.js'

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
  /**
   * Files that are not usable images (not imported), path relative to the dataset folder (as in state.json); with
   * `--rescan`, also captions it could not take in.
   */
  problems: {source: string; reason: string}[]
  /** Ids of images marked tagged whose caption has no tags. */
  emptyCaptions: string[]
  /** When set in config, the trigger word. */
  trigger: string | null
  /** With dataset history on: caption files changed since the last commit; null when history is off. */
  git: {uncommitted: string[]} | null
  /** With `--rescan`: ids of the images whose tags were re-read from changed caption files, or whose changed file was taken in; else null. */
  rescanned: string[] | null
  /** Ids of images whose file in the output folder is gone, or is no longer a regular file (symlink, FIFO, folder). */
  missing: string[]
  /**
   * Ids of images whose file differs from the state (another size, or another mtime and sha256). `--rescan` takes
   * them in (new size, sha256, dimensions), so they are no longer listed after it.
   */
  changed: string[]
  /**
   * Skipped images whose record says why they were skipped (`lora curate --apply`: `near-duplicate of img_0004
   * (distance 3)`, `blurry 0.21 < 0.29`), in id order; a skip by hand has no reason and is not listed.
   */
  skipReasons: {id: string; reason: string}[]
  /**
   * What the last `lora curate` found (as of `analysedAt`, under the thresholds of that run): images analysed,
   * duplicate groups, the images in them beside their keepers, and findings per rule; null before any analysis.
   */
  curation: CurationSummary | null
}

/**
 * Builds the status report (from the cached summary when nothing changed; see store/summary-cache.ts).
 * @param options.rescan first re-read every caption file (rescanCaptions), for captions edited outside lora
 * @param options.check check every image file now (`--check`), even when the cached summary is still valid
 * @param options.commit with `rescan` and dataset history on: commit what the rescan took in (default true)
 * @throws DatasetBusyError with `rescan` when another writer holds the lock; GitError when history is on and the
 *   repository cannot take a commit (nothing changed then)
 */
export async function datasetStatus(
  dataset: Dataset,
  options: {rescan?: boolean; commit?: boolean; check?: boolean} = {},
): Promise<StatusReport> {
  const rescan = options.rescan ? await rescanCaptions(dataset, {commit: options.commit}) : null
  const summary = await loadSummary(dataset, {check: options.check})
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
    missing: summary.missing.map((m) => m.id),
    changed: summary.changed.map((m) => m.id),
    skipReasons: summary.skipReasons,
    curation: readCurationSummary(dataset) ?? null,
  }
}

/**
 * `lora status --rescan`: in one write transaction (store/transaction.ts), brings the state and tags.txt in line
 * with the caption files (services/rescan.ts). With dataset history on (and `commit`), the captions edited outside
 * lora are committed with them: `rescan: N captions edited outside lora`.
 * @param options.commit false for `--no-commit` (default true)
 * @returns ids of the images whose tags changed, and the captions not taken in (services/rescan.ts)
 * @throws DatasetBusyError when another writer holds the lock; GitError, NotCommittedError as withWriteTransaction
 */
export async function rescanCaptions(dataset: Dataset, options: {commit?: boolean} = {}): Promise<ResyncResult> {
  const {result} = await withWriteTransaction(
    dataset,
    {command: 'lora status --rescan', commit: options.commit},
    async (tx) => {
      const resync = await resyncFromCaptions(tx)
      const {changed} = resync
      return {
        result: resync,
        message:
          changed.length > 0
            ? {
                subject: `rescan: ${counted(changed.length, 'caption')} edited outside lora`,
                kind: 'rescan',
                images: changed,
              }
            : undefined,
      }
    },
  )
  return result
}
