/**
 * The pixels of a terminal preview (README "Images in the terminal"): an image read as a regular file (never
 * through a symbolic link, never a FIFO: adapters/fs.ts), turned upright by its EXIF orientation and resized once
 * by sharp to the size the caller chooses from its displayed size. sharp is imported on first use.
 */
import {readRegularBytesIfExistsSync} from './fs.js'
import {PIXEL_LIMIT} from './images.js'

/**
 * The largest image file a preview reads (512 MiB): far above any photo or render (a 268-megapixel PNG, sharp's
 * limit, compresses well below it), so that a file padded to gigabytes is not read into memory for a thumbnail.
 */
export const PREVIEW_MAX_BYTES = 512 * 2 ** 20

/** A preview's pixels: a PNG (kitty, iTerm2) or raw RGB, 3 bytes a pixel (sixel, half blocks). */
export interface PreviewPixels {
  data: Uint8Array
  width: number
  height: number
}

/**
 * Reads `path` and resizes it once (sharp's default Lanczos-3, `fit: fill` into the size `size` returns for the
 * displayed width and height, EXIF orientation applied), as PNG (transparency kept) or as RGB (transparency
 * flattened onto black, the usual terminal background).
 * @param size the pixels wanted for the image's displayed size; undefined: no preview
 * @returns undefined when the file is gone or `size` gave nothing
 * @throws NotRegularFileError for anything but a regular file; FileTooLargeError past PREVIEW_MAX_BYTES; Error from
 *   sharp for a file it cannot decode
 */
export async function previewPixels(
  path: string,
  format: 'png' | 'rgb',
  size: (displayed: {width: number; height: number}) => {width: number; height: number} | undefined,
): Promise<PreviewPixels | undefined> {
  const bytes = readRegularBytesIfExistsSync(path, {maxBytes: PREVIEW_MAX_BYTES})
  if (!bytes) return undefined
  const {default: sharp} = await import('sharp')
  const meta = await sharp(bytes, {limitInputPixels: PIXEL_LIMIT}).metadata()
  const displayed = meta.autoOrient ?? {width: meta.width, height: meta.height}
  const want = size({width: displayed.width ?? 0, height: displayed.height ?? 0})
  if (!want) return undefined
  const resized = sharp(bytes, {limitInputPixels: PIXEL_LIMIT})
    .rotate()
    .resize(want.width, want.height, {fit: 'fill'})
    .toColourspace('srgb')
  const out =
    format === 'png'
      ? await resized.png({compressionLevel: 3}).toBuffer({resolveWithObject: true})
      : await resized.flatten({background: '#000000'}).removeAlpha().raw().toBuffer({resolveWithObject: true})
  return {data: out.data, width: out.info.width, height: out.info.height}
}
