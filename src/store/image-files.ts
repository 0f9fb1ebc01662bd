/**
 * Output images changed behind lora's back (README "Safety model", rule 9): an image file that is gone, is no
 * longer a regular file (a symbolic link, FIFO, folder or device put in its place), or whose bytes differ from the
 * state's record. The check is cheap: one `lstat` per image (size, and modification time when the state recorded
 * one); the file is hashed only when its size is the same but its modification time is not. A file hashed and found
 * as recorded is remembered with its `lstat` stamp in `.lora-tagger/cache/image-stamps.json`, so that it is not
 * hashed again while that stamp holds (a clone, a copy or a `touch` gives every image a new modification time, and
 * every summary after every save would otherwise read every image again).
 */
import {join} from 'node:path'
import {isSystemError, lstatIfExistsSync, sha256File} from '../adapters/fs.js'
import {debugLog} from '../adapters/debug.js'
import {type Dataset, readCacheTextSync, writeCacheFile} from './dataset.js'
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
 * @param options `all`: `images` are every image of the state (the summary, a rescan), so the image stamps kept are
 *   those of these images only (an image no longer in the state loses its entry when the file is next written)
 * @returns the images whose file is missing or changed, in the given order
 * @throws the file system's error for anything but a missing file (EACCES, EIO)
 */
export async function checkImageFiles(
  dataset: Dataset,
  images: readonly ImageRecord[],
  options: {all?: boolean} = {},
): Promise<ImageFileProblem[]> {
  const found: ImageFileProblem[] = []
  let verified: Map<string, string> | undefined
  let learned = false
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
    const seal = `${image.sha256} ${stamp(st)}`
    verified ??= readVerified(dataset)
    if (verified.get(image.file) === seal) continue
    if ((await sha256File(path)) !== image.sha256)
      found.push({
        id: image.id,
        file: image.file,
        kind: 'changed',
        reason: 'content changed',
        bytes: st.size,
        mtimeMs: st.mtimeMs,
      })
    else {
      verified.set(image.file, seal)
      learned = true
    }
  }
  if (learned && verified) {
    if (options.all) {
      const files = new Set(images.map((i) => i.file))
      for (const file of verified.keys()) if (!files.has(file)) verified.delete(file)
    }
    await writeVerified(dataset, verified)
  }
  return found
}

/** Version of `image-stamps.json`; another version is read as empty. */
const STAMPS_VERSION = 1

function stampsPath(dataset: Dataset): string {
  return join(dataset.paths.meta, 'cache', 'image-stamps.json')
}

/**
 * What `lstat` says of a file that changes when its bytes can have: size, modification and change times (a write
 * always moves the change time, which no program can set back), inode.
 */
function stamp(st: NonNullable<ReturnType<typeof lstatIfExistsSync>>): string {
  return `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`
}

/**
 * The images found as recorded: file name → `<sha256> <stamp>`. A cache file that is missing, damaged, of another
 * version, a link or not a regular file reads as empty (it only costs hashing again); the values are only ever
 * compared with what this run computed, so a crafted entry can only match a file that lora itself would hash to the
 * recorded sha256 under that very stamp.
 */
function readVerified(dataset: Dataset): Map<string, string> {
  try {
    const doc = JSON.parse(readCacheTextSync(dataset.paths.meta, stampsPath(dataset)) ?? 'null') as {
      version?: unknown
      images?: unknown
    } | null
    if (doc?.version !== STAMPS_VERSION || typeof doc.images !== 'object' || doc.images === null) return new Map()
    return new Map(Object.entries(doc.images).filter((e): e is [string, string] => typeof e[1] === 'string'))
  } catch (error) {
    if (!isSystemError(error) && !(error instanceof SyntaxError)) throw error
    return new Map()
  }
}

/** Writes the images found as recorded (best effort: a failure only costs hashing them again next time). */
async function writeVerified(dataset: Dataset, verified: ReadonlyMap<string, string>): Promise<void> {
  try {
    await writeCacheFile(
      dataset.paths.meta,
      stampsPath(dataset),
      JSON.stringify({version: STAMPS_VERSION, images: Object.fromEntries(verified)}),
    )
  } catch (error) {
    if (!isSystemError(error)) throw error
    await debugLog(
      'lora:cache',
      `could not write ${stampsPath(dataset)}; those images are hashed again next time`,
      error,
    )
  }
}
