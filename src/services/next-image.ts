/** `lora next --print`: the next pending image, for scripts. */
import type {Dataset} from '../store/dataset.js'
import {loadSummary} from '../store/summary-cache.js'

/** `lora next --print --json` shape. */
export interface NextImage {
  id: string
  path: string
  /** The original's path relative to the dataset folder. */
  source: string
  width: number
  height: number
}

/** What `lora next --print` found: the next image, and the pending images passed over because their file is missing. */
export interface NextPick {
  next: NextImage | undefined
  /** Pending images skipped because their output file is gone or not a regular file (warned about on stderr). */
  skippedMissing: {id: string; reason: string}[]
}

/**
 * The next pending image after the session cursor whose file is in the output folder, or undefined when none is
 * pending. Pending images whose file is missing are passed over and listed (README "Safety model").
 */
export async function nextImage(dataset: Dataset): Promise<NextPick> {
  const {next, missing} = await loadSummary(dataset)
  const skippedMissing = missing
    .filter((m) => m.status === 'pending' || m.status === 'auto')
    .map(({id, reason}) => ({id, reason}))
  return {
    next: next
      ? {id: next.id, path: dataset.imagePath(next.file), source: next.source, width: next.width, height: next.height}
      : undefined,
    skippedMissing,
  }
}
