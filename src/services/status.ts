/** `lora status`: counts, the next image, the vocabulary and problems, all read from the dataset's state. */
import type {Dataset} from '../core/dataset.js'
import type {ImageRecord, SessionState} from '../core/state.js'
import {countTags} from '../core/vocabulary.js'
import {uncommittedCaptions} from './history.js'

/** Image counts by status. */
export interface ImageCounts {
  total: number
  tagged: number
  skipped: number
  pending: number
}

/** Counts images by status. */
export function summarizeImages(images: readonly ImageRecord[]): ImageCounts {
  const counts = {total: images.length, tagged: 0, skipped: 0, pending: 0}
  for (const i of images) counts[i.status]++
  return counts
}

/**
 * The next pending image after the session cursor, wrapping round to the start; undefined when none is pending.
 * The cursor is the id of the image handled last.
 */
export function nextPending(images: readonly ImageRecord[], session: SessionState): ImageRecord | undefined {
  const at = session.cursor ? images.findIndex((i) => i.id === session.cursor) : -1
  for (let k = 1; k <= images.length; k++) {
    const image = images[(at + k) % images.length]
    if (image.status === 'pending') return image
  }
  return undefined
}

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
  /** Files that are not usable images (not imported). */
  problems: {path: string; reason: string}[]
  /** Ids of images marked tagged whose caption has no tags. */
  emptyCaptions: string[]
  /** When set in config, the trigger word. */
  trigger: string | null
  /** With dataset history on: caption files changed since the last commit; null when history is off. */
  git: {uncommitted: string[]} | null
}

/** Builds the status report. */
export async function datasetStatus(dataset: Dataset): Promise<StatusReport> {
  const [state, session, vocabulary] = await Promise.all([dataset.loadState(), dataset.loadSession(), dataset.loadVocabulary()])
  const trigger = dataset.config.trigger
  const counts = countTags(state.images.map((i) => i.tags.filter((t) => t !== trigger)))
  const topTags = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 10)
    .map(([tag, count]) => ({tag, count}))
  const vocab = new Set([...vocabulary, ...counts.keys()])
  const next = nextPending(state.images, session)
  const uncommitted = await uncommittedCaptions(dataset)
  return {
    dataset: dataset.root,
    outputDir: dataset.paths.output,
    images: summarizeImages(state.images),
    duplicates: state.duplicates.map((d) => ({source: d.source, of: d.of})),
    next: next ? {id: next.id, path: dataset.imagePath(next.file)} : null,
    vocabulary: {size: vocab.size},
    topTags,
    problems: state.problems.map((p) => ({path: p.source, reason: p.reason})),
    emptyCaptions: state.images.filter((i) => i.status === 'tagged' && i.tags.every((t) => t === trigger)).map((i) => i.id),
    trigger,
    git: uncommitted === undefined ? null : {uncommitted},
  }
}
