/** Counting and picking images from the state: shared by status, next and the summary cache. */
import type {ImageRecord, SessionState} from './state.js'

/** Image counts by status. */
export interface ImageCounts {
  total: number
  tagged: number
  skipped: number
  pending: number
  /** Captions written by a model, not yet reviewed (`lora autotag`). */
  auto: number
}

/** Counts images by status. */
export function summarizeImages(images: readonly ImageRecord[]): ImageCounts {
  const counts = {total: images.length, tagged: 0, skipped: 0, pending: 0, auto: 0}
  for (const i of images) counts[i.status]++
  return counts
}

/**
 * The next image to review after the session cursor, wrapping round to the start: a pending image when there is
 * one, else an `auto` image (captioned by a model, not reviewed); undefined when there is neither. The cursor is the
 * id of the image handled last. Images whose id is in `exclude` (their file is missing) are passed over.
 */
export function nextPending(
  images: readonly ImageRecord[],
  session: SessionState,
  exclude?: ReadonlySet<string>,
): ImageRecord | undefined {
  const at = session.cursor ? images.findIndex((i) => i.id === session.cursor) : -1
  for (const status of ['pending', 'auto'] as const)
    for (let k = 1; k <= images.length; k++) {
      const image = images[(at + k) % images.length]
      if (image.status === status && !exclude?.has(image.id)) return image
    }
  return undefined
}
