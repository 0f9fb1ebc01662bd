/** `lora next --print`: the next pending image, for scripts. */
import type {Dataset} from '../core/dataset.js'
import {nextPending} from './status.js'

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
  const [state, session] = await Promise.all([dataset.loadState(), dataset.loadSession()])
  const image = nextPending(state.images, session)
  return image && {id: image.id, path: dataset.imagePath(image.file), source: image.source, width: image.width, height: image.height}
}
