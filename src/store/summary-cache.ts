/**
 * The dataset summary `lora status` and `lora next --print` show, cached in `.lora-tagger/cache/summary.json`.
 * Computing it means parsing state.json (about 25 MB and a third of a second for 100,000 images); the cache is
 * keyed by the size and modification time of state.json and tags.txt, the session text and the trigger word, so it
 * is recomputed after any change and reused while nothing changed (e.g. `watch lora status`).
 *
 * The summary also lists output images that are missing or changed (store/image-files.ts: one `lstat` per image,
 * about 1.5 µs each, plus a hash when size matches but mtime does not). That check runs whenever the summary is
 * computed: after every lora write, and when the cache is stale. The key includes the output folder's own stamp,
 * so deleting an image, or putting a symbolic link or FIFO in its place, makes the cache stale at the cost of one
 * `stat`. An image rewritten in place (same name, same inode) leaves the folder as it was: that is found by the
 * next recomputation, or at once by `lora status --check` (which always recomputes).
 */
import {join} from 'node:path'
import {isSystemError, statIfExistsSync} from '../adapters/fs.js'
import {debugLog} from '../adapters/debug.js'
import {type Dataset, parseCheckedState, readCacheTextSync, readOwnedText, writeCacheFile} from './dataset.js'
import {DatasetError} from '../errors.js'
import {checkImageFiles} from './image-files.js'
import {type DatasetState, type ImageRecord, type ImageStatus, parseSession} from '../core/state.js'
import {countTags} from '../core/vocabulary.js'
import {nextPending, summarizeImages, type ImageCounts} from '../core/status.js'

/** What the summary holds (paths relative to the output folder, made absolute by the callers). */
export interface DatasetSummary {
  images: ImageCounts
  duplicates: {source: string; of: string}[]
  /**
   * The next image's whole state record (`lora next --print` and `status` show its id and file; `lora next` shows
   * its prompt from it before parsing state.json, services/tagging-session.ts); checked again when read from the
   * cache, as a state.json record is.
   */
  next: ImageRecord | null
  vocabularySize: number
  topTags: {tag: string; count: number}[]
  /**
   * Every tag of the captions with the number of captions that have it (core/vocabulary.ts `countTags`), the
   * trigger word left out, in the order they first appear in state.json (the order `lora next` would count them in):
   * what `lora next` ranks its suggestions by before state.json is parsed.
   */
  tagCounts: [tag: string, count: number][]
  problems: {source: string; reason: string}[]
  emptyCaptions: string[]
  /** Output images that are gone or no longer regular files (store/image-files.ts), with the reason and status. */
  missing: {id: string; reason: string; status: ImageStatus}[]
  /** Output images whose bytes differ from the state's record, with the reason. */
  changed: {id: string; reason: string}[]
  /** Skipped images whose record says why (`lora curate --apply`), in id order. */
  skipReasons: {id: string; reason: string}[]
}

/** Bumped whenever DatasetSummary changes shape, so that an older cache is recomputed, not misread. */
const VERSION = 7

/**
 * The summary, from the cache when still valid, else computed (and cached, best effort).
 * @param options.check recompute it even when the cache is valid (`lora status --check`): checks every image file
 */
export async function loadSummary(dataset: Dataset, options: {check?: boolean} = {}): Promise<DatasetSummary> {
  const sessionText = readOwnedText(dataset.root, dataset.paths.session, 'session file') ?? ''
  const key = cacheKey(dataset, sessionText)
  try {
    // Never through a link or from a FIFO (README "Safety model", rule 1): such a cache counts as damaged, and any
    // failure to read it only costs the speed-up.
    const cachedText = options.check ? undefined : readCacheTextSync(dataset.paths.meta, cachePath(dataset))
    const cached = JSON.parse(cachedText ?? 'null') as {key: string; summary: DatasetSummary} | null
    if (cached?.key === key && soundLists(cached.summary)) return cached.summary
  } catch (error) {
    if (!isSystemError(error) && !(error instanceof SyntaxError)) throw error
    await debugLog('lora:cache', `${cachePath(dataset)} is damaged or unreadable; recomputing the summary`, error)
  }
  const [state, vocabulary] = await Promise.all([dataset.loadState(), dataset.loadVocabulary()])
  const summary = await summarize(dataset, state, vocabulary, sessionText)
  await writeCache(dataset, key, summary)
  return summary
}

/**
 * Rewrites the cache right after a change, from the state and vocabulary the writer already holds, so the next
 * `lora status` does not parse state.json again. Best effort: a file-system failure (read-only, full) only costs
 * that status its speed and is reported with `DEBUG=lora:cache`.
 */
export async function refreshSummary(
  dataset: Dataset,
  state: DatasetState,
  vocabulary: Iterable<string>,
): Promise<void> {
  const sessionText = readOwnedText(dataset.root, dataset.paths.session, 'session file') ?? ''
  await writeCache(
    dataset,
    cacheKey(dataset, sessionText),
    await summarize(dataset, state, [...vocabulary], sessionText),
  )
}

/**
 * Whether a cached summary's record and tag counts hold what state.json's would: the record passes the checks of a
 * state.json record (core/state.ts, core/containment.ts), the counts are tags with numbers. A cache file is no more
 * trusted than state.json; one that fails is recomputed.
 */
function soundLists(summary: DatasetSummary | null): boolean {
  if (!summary || typeof summary !== 'object' || !Array.isArray(summary.tagCounts)) return false
  for (const entry of summary.tagCounts)
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Number.isInteger(entry[1]) || entry[1] < 1)
      return false
  if (summary.next === null) return true
  try {
    parseCheckedState(JSON.stringify({version: 1, nextNumber: 1, images: [summary.next]}), 'summary cache')
    return true
  } catch (error) {
    if (error instanceof DatasetError) return false
    throw error
  }
}

function cacheKey(dataset: Dataset, sessionText: string): string {
  return JSON.stringify([
    VERSION,
    stamp(dataset.paths.state),
    stamp(dataset.paths.vocabulary),
    stamp(dataset.paths.output),
    sessionText,
    dataset.config.trigger,
  ])
}

function cachePath(dataset: Dataset): string {
  return join(dataset.paths.meta, 'cache', 'summary.json')
}

/** Writes the cache; a file-system failure (read-only dataset, full disk) is reported in debug output only. */
async function writeCache(dataset: Dataset, key: string, summary: DatasetSummary): Promise<void> {
  try {
    await writeCacheFile(dataset.paths.meta, cachePath(dataset), JSON.stringify({key, summary}))
  } catch (error) {
    // Still correct, just not cached. Anything but a file-system error is a bug and is not hidden.
    if (!isSystemError(error)) throw error
    await debugLog('lora:cache', `could not write ${cachePath(dataset)}; the summary is recomputed next time`, error)
  }
}

/** Size, mtime and inode of a file, or `missing`; other failures (EACCES, EIO) are thrown, not keyed as missing. */
function stamp(path: string): string {
  const st = statIfExistsSync(path)
  return st ? `${st.size}:${st.mtimeMs}:${st.ino}` : 'missing'
}

async function summarize(
  dataset: Dataset,
  state: DatasetState,
  vocabulary: readonly string[],
  sessionText: string,
): Promise<DatasetSummary> {
  const files = await checkImageFiles(dataset, state.images, {all: true})
  const statusOf = new Map(state.images.map((i) => [i.id, i.status]))
  const missing = files
    .filter((f) => f.kind === 'missing')
    .map(({id, reason}) => ({id, reason, status: statusOf.get(id)!}))
  const changed = files.filter((f) => f.kind === 'changed').map(({id, reason}) => ({id, reason}))
  const trigger = dataset.config.trigger
  const counts = countTags(state.images.map((i) => i.tags.filter((t) => t !== trigger)))
  const tagCounts = [...counts.entries()]
  const topTags = [...tagCounts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 10)
    .map(([tag, count]) => ({tag, count}))
  const vocab = new Set([...vocabulary, ...counts.keys()])
  const next = nextPending(state.images, parseSession(sessionText || undefined), new Set(missing.map((m) => m.id)))
  return {
    images: summarizeImages(state.images),
    duplicates: state.duplicates.map((d) => ({source: d.source, of: d.of})),
    next: next ?? null,
    vocabularySize: vocab.size,
    topTags,
    tagCounts,
    problems: state.problems.map((p) => ({source: p.source, reason: p.reason})),
    emptyCaptions: state.images
      .filter((i) => (i.status === 'tagged' || i.status === 'auto') && i.tags.every((t) => t === trigger))
      .map((i) => i.id),
    missing,
    changed,
    skipReasons: state.images.flatMap((i) =>
      i.status === 'skipped' && i.skipReason !== undefined ? [{id: i.id, reason: i.skipReason}] : [],
    ),
  }
}
