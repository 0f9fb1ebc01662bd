/**
 * Output images changed behind lora's back (README "Safety model", rule 9): an image file that is gone, is no
 * longer a regular file (a symbolic link, FIFO, folder or device put in its place), or whose bytes differ from the
 * state's record. The check is cheap: one `lstat` per image (size, and modification time when the state recorded
 * one); the file is hashed only when its size is the same but its modification time is not.
 */
import {lstatIfExistsSync, sha256File} from '../adapters/fs.js'
import type {Dataset} from './dataset.js'
import type {ImageRecord} from '../core/state.js'

/** One image whose file is not as the state says. */
export interface ImageFileProblem {
  id: string
  file: string
  /** `missing`: gone, or not a regular file any more; `changed`: a regular file whose bytes differ. */
  kind: 'missing' | 'changed'
  /** For people: `gone`, `a symbolic link`, `a FIFO`, `a folder`, `not a regular file`, `size 123 → 456 bytes`, `content changed`. */
  reason: string
  /** For `changed`: the file's size and modification time now. */
  bytes?: number
  mtimeMs?: number
}

/**
 * Checks every given image's file in the output folder (see the file comment). Never follows a symbolic link and
 * never opens anything but a regular file (so a FIFO cannot block it).
 * @returns the images whose file is missing or changed, in the given order
 * @throws the file system's error for anything but a missing file (EACCES, EIO)
 */
export async function checkImageFiles(dataset: Dataset, images: readonly ImageRecord[]): Promise<ImageFileProblem[]> {
  const found: ImageFileProblem[] = []
  for (const image of images) {
    const path = dataset.imagePath(image.file)
    const st = lstatIfExistsSync(path)
    if (!st) {
      found.push({id: image.id, file: image.file, kind: 'missing', reason: 'gone'})
      continue
    }
    if (!st.isFile()) {
      const what = st.isSymbolicLink()
        ? 'a symbolic link'
        : st.isFIFO()
          ? 'a FIFO'
          : st.isDirectory()
            ? 'a folder'
            : 'not a regular file'
      found.push({id: image.id, file: image.file, kind: 'missing', reason: `${what} now, not the image`})
      continue
    }
    if (st.size !== image.bytes) {
      found.push({
        id: image.id,
        file: image.file,
        kind: 'changed',
        reason: `size ${image.bytes} → ${st.size} bytes`,
        bytes: st.size,
        mtimeMs: st.mtimeMs,
      })
      continue
    }
    if (image.mtimeMs === undefined || image.mtimeMs === st.mtimeMs) continue
    if ((await sha256File(path)) !== image.sha256)
      found.push({
        id: image.id,
        file: image.file,
        kind: 'changed',
        reason: 'content changed',
        bytes: st.size,
        mtimeMs: st.mtimeMs,
      })
  }
  return found
}
