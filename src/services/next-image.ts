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

/** The next pending image after the session cursor, or undefined when none is pending. */
export async function nextImage(dataset: Dataset): Promise<NextImage | undefined> {
  const {next} = await loadSummary(dataset)
  return next ? {id: next.id, path: dataset.imagePath(next.file), source: next.source, width: next.width, height: next.height} : undefined
}
