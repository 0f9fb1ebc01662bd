/**
 * Bringing the state in line with caption files changed outside lora: by another tagger (TagGUI,
 * BooruDatasetTagManager), an editor, a script or `git revert` (`lora undo`). Captions are the source of truth;
 * the state keeps a copy of each caption's tags for `status`, `tags` and `next`, which this refreshes.
 */
import {parseCaption, sameList} from '../core/caption.js'
import {captionEncodingFix} from '../core/caption-encoding.js'
import {serializeVocabulary} from '../core/vocabulary.js'
import {journalStateChange} from '../store/caption-files.js'
import type {WriteTransaction} from '../store/transaction.js'
import {captionTagsProblem} from '../core/terminal-text.js'
import {checkImageFiles} from '../store/image-files.js'
import {probeImage} from '../adapters/images.js'
import {sha256File} from '../adapters/fs.js'
import {captionsStillAutotagged} from './autotag-evidence.js'

/** What a resync did: the images it updated, and the captions it could not take in. */
export interface ResyncResult {
  /** Ids of the images whose tags changed (in state order), then of those whose changed file was taken in. */
  changed: string[]
  /** Captions left out (their image keeps the state's tags): path relative to the dataset folder, and why. */
  problems: {source: string; reason: string}[]
}

/**
 * Re-reads every caption file and, for each image whose tags differ from the state's copy, takes the caption's
 * tags; its status becomes `tagged` when it has a tag besides the trigger word, else stays `skipped` if it was,
 * else `pending`. Every tag read is added to tags.txt. State and tags.txt are written as one journaled change of
 * the write transaction `tx`, only when something differs. A caption with a tag holding a control or bidi
 * character, or that is not UTF-8 or BOM-marked UTF-16 text (core/caption-encoding.ts), is not taken in: it is
 * listed in `problems` and its image keeps its tags (README "Safety model"). An image file changed outside lora
 * (store/image-files.ts) that is still a usable image is taken in: its size, sha256, dimensions, format and mtime.
 */
export async function resyncFromCaptions(tx: WriteTransaction): Promise<ResyncResult> {
  const {dataset} = tx
  const {config} = dataset
  const state = await dataset.loadState()
  const vocabularyBefore = await dataset.loadVocabulary()
  const vocabulary = new Set(vocabularyBefore)
  const changed: string[] = []
  const problems: ResyncResult['problems'] = []
  const now = new Date().toISOString()
  let autotagged: Set<string> | undefined
  for (const [i, image] of state.images.entries()) {
    const read = await dataset.readCaptionChecked(image.file)
    if (read.problem !== undefined) {
      problems.push({
        source: read.path,
        reason: `the caption ${read.problem}; not taken in (${image.id} keeps its tags, and lora will not write this caption): ${captionEncodingFix(read.path, read.problem)}, then run lora status --rescan again`,
      })
      continue
    }
    const tags = parseCaption(read.text ?? '', config.separator)
    const unsafe = captionTagsProblem(tags)
    if (unsafe) {
      const path = dataset.rel(dataset.imagePath(dataset.captionFile(image.file)))
      problems.push({
        source: path,
        reason: `${unsafe}; not taken in (${image.id} keeps its tags): remove that character from the caption, then run lora status --rescan again`,
      })
      continue
    }
    for (const t of tags) if (t !== config.trigger) vocabulary.add(t)
    if (sameList(tags, image.tags)) continue
    const meaningful = tags.filter((t) => t !== config.trigger)
    // A caption still as an autotag commit wrote it (the state was behind it) is a model's, not reviewed.
    autotagged ??= await captionsStillAutotagged(
      dataset,
      state.images.map((i) => i.file),
    )
    const status =
      meaningful.length > 0
        ? autotagged.has(image.file)
          ? 'auto'
          : 'tagged'
        : image.status === 'skipped'
          ? 'skipped'
          : 'pending'
    state.images[i] = {...image, tags, status, updatedAt: now}
    changed.push(image.id)
  }
  // Image files changed behind lora's back (README "Safety model"): a changed image that is still a usable image is
  // taken in (new size, sha256, dimensions, mtime); a missing one stays listed by `lora status`.
  const byId = new Map(state.images.map((image, index) => [image.id, index]))
  for (const found of await checkImageFiles(dataset, state.images, {all: true})) {
    if (found.kind !== 'changed') continue
    const index = byId.get(found.id)!
    const path = dataset.imagePath(found.file)
    const probe = await probeImage(path)
    if (!probe.ok) {
      problems.push({
        source: dataset.rel(path),
        reason: `changed outside lora and ${probe.reason}; not taken in: restore the image`,
      })
      continue
    }
    const {width, height, format} = probe.info
    state.images[index] = {
      ...state.images[index],
      sha256: await sha256File(path),
      bytes: found.bytes!,
      mtimeMs: found.mtimeMs,
      width,
      height,
      format,
    }
    if (!changed.includes(found.id)) changed.push(found.id)
    // Committed with the change (the commit otherwise takes no image lora did not write: store/transaction.ts).
    tx.include([dataset.rel(path)])
  }
  await journalStateChange(tx, {
    kind: 'rescan',
    ops: [],
    state,
    stateChanged: changed.length > 0,
    vocabulary,
    vocabularyBefore: serializeVocabulary(vocabularyBefore),
  })
  return {changed, problems}
}
