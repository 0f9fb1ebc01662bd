/**
 * `lora repair` (README "Safety model", rule 10): when `.lora-tagger/state.json` is missing or unreadable, rebuilds
 * it from what the dataset still holds: the images in the output folder (named `<prefix><number>.<ext>`), their
 * caption files and tags.txt. A caption with tags makes its image `tagged` (`auto` when dataset history shows it is
 * still as `lora autotag` committed it: services/autotag-evidence.ts), an empty or absent one `pending`.
 * What only the state knew is not recoverable, and the report says so: which images were `skipped`, the originals'
 * names (`source` becomes the image's own path in the output folder), when each was tagged, and the lists of
 * duplicates and problem files found at import.
 */
import {DatasetError} from '../errors.js'
import {listDirEntries, sha256File, statPath} from '../adapters/fs.js'
import {loadQuickProbe} from '../adapters/image-header.js'
import {probeImage} from '../adapters/images.js'
import {parseCaption} from '../core/caption.js'
import {captionEncodingFix} from '../core/caption-encoding.js'
import {extensionOf, IMAGE_EXTENSIONS, stemOf} from '../core/naming.js'
import {type DatasetState, type ImageRecord} from '../core/state.js'
import {summarizeImages, type ImageCounts} from '../core/status.js'
import {captionTagsProblem} from '../core/terminal-text.js'
import {serializeVocabulary, VOCABULARY_FILE} from '../core/vocabulary.js'
import {journalStateChange} from '../store/caption-files.js'
import type {Dataset} from '../store/dataset.js'
import {withWriteTransaction} from '../store/transaction.js'
import {captionsStillAutotagged} from './autotag-evidence.js'

/** `lora repair --json` (stable shape; documented in README). */
export interface RepairReport {
  dataset: string
  /** False when state.json was readable: nothing was done. */
  repaired: boolean
  /** Why it was rebuilt: the state was `missing` or `unreadable` (not JSON, not a lora state); null when not. */
  cause: 'missing' | 'unreadable' | null
  images: ImageCounts
  /** Files in the output folder not taken in (odd names, non-regular files, undecodable images), and captions not read. */
  problems: {source: string; reason: string}[]
  /** What could not be recovered, in words. */
  notRecovered: string[]
  /** The commit recording the rebuilt state, when history is on. */
  commit?: string
}

const NOT_RECOVERED = [
  'which images were skipped (each is tagged or pending again, by its caption)',
  'without dataset history, which captions a model wrote (with it, a caption still as lora autotag committed it is auto again)',
  "the originals' file names (source is now the image's path in the output folder)",
  'when each image was tagged',
  'the lists of duplicates and problem files found by lora init',
]

/**
 * Rebuilds state.json (see the file comment) as one journaled write transaction, committed when history is on.
 * @param options.commit false for `--no-commit`
 * @returns the report; `repaired: false` when state.json is readable (nothing is written)
 * @throws DatasetBusyError when another writer holds the lock; DatasetError when the output folder holds no image
 *   named like this dataset's; GitError / NotCommittedError as withWriteTransaction
 */
export async function repairState(dataset: Dataset, options: {commit?: boolean} = {}): Promise<RepairReport> {
  let cause: RepairReport['cause'] = null
  try {
    const state = await dataset.loadState()
    return {
      dataset: dataset.root,
      repaired: false,
      cause,
      images: summarizeImages(state.images),
      problems: [],
      notRecovered: [],
    }
  } catch (error) {
    if (!(error instanceof DatasetError)) throw error
    cause = error.message.includes('is missing') ? 'missing' : 'unreadable'
  }
  const {result, commit} = await withWriteTransaction(
    dataset,
    {command: 'lora repair', commit: options.commit},
    async (tx) => {
      const {state, problems, vocabulary} = await rebuild(dataset)
      const vocabularyBefore = await dataset.loadVocabulary()
      const words = new Set([...vocabularyBefore, ...vocabulary])
      await journalStateChange(tx, {
        kind: 'repair',
        ops: [],
        state,
        stateChanged: true,
        vocabulary: words,
        vocabularyBefore: serializeVocabulary(vocabularyBefore),
      })
      const report: RepairReport = {
        dataset: dataset.root,
        repaired: true,
        cause,
        images: summarizeImages(state.images),
        problems,
        notRecovered: NOT_RECOVERED,
      }
      return {
        result: report,
        message: {
          subject: `repair: state rebuilt from ${state.images.length} images`,
          kind: 'repair',
          images: state.images.map((i) => i.id),
        },
      }
    },
  )
  return commit === undefined ? result : {...result, commit}
}

/** Reads the output folder into a state (in number order), the problems met, and every tag read. */
async function rebuild(
  dataset: Dataset,
): Promise<{state: DatasetState; problems: RepairReport['problems']; vocabulary: Set<string>}> {
  const {config} = dataset
  const problems: RepairReport['problems'] = []
  const vocabulary = new Set<string>()
  const pattern = new RegExp(`^${config.prefix.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')}(\\d+)$`, 'u')
  const found: {file: string; n: number; digits: number}[] = []
  const images = new Set<string>(IMAGE_EXTENSIONS)
  const imageStems = new Set<string>()
  const captions: string[] = []
  for (const entry of await listDirEntries(dataset.paths.output)) {
    if (entry.name.endsWith(config.captionExtension) && entry.name !== VOCABULARY_FILE) captions.push(entry.name)
    if (!images.has(extensionOf(entry.name))) continue
    imageStems.add(stemOf(entry.name))
    const source = dataset.rel(dataset.imagePath(entry.name))
    const match = pattern.exec(stemOf(entry.name))
    if (!match) {
      problems.push({source, reason: `not named like this dataset's images (${config.prefix}<number>); not taken in`})
      continue
    }
    if (!entry.isFile()) {
      problems.push({source, reason: 'not a regular file (a symbolic link, FIFO or folder); not taken in'})
      continue
    }
    found.push({file: entry.name, n: Number(match[1]), digits: match[1].length})
  }
  // A caption whose image is gone (deleted by hand before the state was lost) is said, not silently left behind.
  for (const name of captions.sort()) {
    if (imageStems.has(name.slice(0, -config.captionExtension.length))) continue
    problems.push({
      source: dataset.rel(dataset.imagePath(name)),
      reason: 'a caption with no image of its name beside it (was the image deleted?); left as it is',
    })
  }
  found.sort((a, b) => a.n - b.n || (a.file < b.file ? -1 : 1))
  const quick = await loadQuickProbe()
  // Captions still as an autotag commit wrote them keep the status auto (needs dataset history).
  const autotagged = await captionsStillAutotagged(
    dataset,
    found.map((f) => f.file),
  )
  const records: ImageRecord[] = []
  const seen = new Set<number>()
  for (const {file, n} of found) {
    const path = dataset.imagePath(file)
    const source = dataset.rel(path)
    if (seen.has(n)) {
      problems.push({
        source,
        reason: `a second image numbered ${n}; not taken in (rename or remove it, then run lora repair again)`,
      })
      continue
    }
    const probe = quick(path)
    const checked = probe ? {ok: true as const, info: probe} : await probeImage(path)
    if (!checked.ok) {
      problems.push({source, reason: `${checked.reason}; not taken in`})
      continue
    }
    const {info} = checked
    seen.add(n)
    const st = await statPath(path)
    const read = await dataset.readCaptionChecked(file)
    let tags: string[] = []
    if (read.problem !== undefined)
      problems.push({
        source: read.path,
        reason: `the caption ${read.problem}; its image is pending until it is fixed: ${captionEncodingFix(read.path, read.problem)}, then run lora status --rescan`,
      })
    else {
      tags = parseCaption(read.text ?? '', config.separator)
      const unsafe = captionTagsProblem(tags)
      if (unsafe) {
        problems.push({
          source: read.path,
          reason: `${unsafe}; its image is pending until the caption is fixed, then run lora status --rescan`,
        })
        tags = []
      }
    }
    const meaningful = tags.filter((t) => t !== config.trigger)
    for (const t of meaningful) vocabulary.add(t)
    records.push({
      id: stemOf(file),
      n,
      file,
      source,
      sha256: await sha256File(path),
      bytes: st.size,
      mtimeMs: st.mtimeMs,
      width: info.width,
      height: info.height,
      format: info.format,
      status: meaningful.length > 0 ? (autotagged.has(file) ? 'auto' : 'tagged') : 'pending',
      tags,
      updatedAt: null,
    })
  }
  if (records.length === 0 && found.length === 0) {
    throw new DatasetError(
      `${dataset.rel(dataset.paths.output)}/ holds no image named like this dataset's (${config.prefix}<number>); there is nothing to rebuild the state from.`,
      'Restore .lora-tagger/state.json from git or a backup, or start again with lora init on the originals.',
    )
  }
  const padWidth = found.length > 0 ? Math.min(...found.map((f) => f.digits)) : 4
  const nextNumber = Math.max(0, ...records.map((r) => r.n)) + 1
  return {
    state: {version: 1, nextNumber, padWidth, images: records, duplicates: [], problems: []},
    problems,
    vocabulary,
  }
}
