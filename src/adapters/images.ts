/**
 * Reads image headers (sharp metadata: the header only, no pixel decoding) to learn an image's format and its
 * displayed size, and to reject files that are not usable images. BMP, which sharp's prebuilt libvips does not
 * read, is handled by the `image-size` header parser. sharp is imported here only, on first use.
 */
import {constants as fsConstants} from 'node:fs'
import * as fsp from 'node:fs/promises'
import {extensionOf} from '../core/naming.js'

/** Largest image accepted, in pixels: sharp's own default `limitInputPixels` (0x3FFF × 0x3FFF). */
export const PIXEL_LIMIT = 0x3fff * 0x3fff

/** What a header read learns about an image. */
export interface ImageInfo {
  /** sharp's format name: jpeg, png, webp, gif, tiff, heif (AVIF), bmp. */
  format: string
  /** Width and height in pixels as displayed, i.e. after the EXIF orientation is applied. */
  width: number
  height: number
}

/** Formats each extension may hold. AVIF is reported by libvips as `heif`. */
const FORMATS_FOR_EXTENSION: Record<string, string[]> = {
  jpg: ['jpeg'],
  jpeg: ['jpeg'],
  png: ['png'],
  webp: ['webp'],
  gif: ['gif'],
  tif: ['tiff'],
  tiff: ['tiff'],
  avif: ['heif', 'avif'],
  bmp: ['bmp'],
}

/** Result of probing a file: either its info, or why it is not usable. */
export type ProbeResult = {ok: true; info: ImageInfo} | {ok: false; reason: string}

/**
 * Checks that `path` holds a usable image whose content matches its extension.
 *
 * @param path the file
 * @param options.verify also decode every pixel (slow; catches truncation the header read misses)
 * @returns the image's info, or a reason it is unusable: empty file, unreadable, not an image, content not
 *   matching the extension, or over PIXEL_LIMIT
 */
export async function probeImage(path: string, options: {verify?: boolean} = {}): Promise<ProbeResult> {
  let size: number
  try {
    const st = await fsp.stat(path)
    if (!st.isFile()) return {ok: false, reason: 'not a regular file'}
    size = st.size
  } catch (error) {
    return {ok: false, reason: `unreadable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`}
  }
  if (size === 0) return {ok: false, reason: 'empty file (0 bytes)'}
  try {
    await fsp.access(path, fsConstants.R_OK)
  } catch (error) {
    return {
      ok: false,
      reason: `unreadable: ${(error as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied (EACCES)' : (error as Error).message}`,
    }
  }
  const ext = extensionOf(path)
  let info: ImageInfo
  try {
    info = ext === 'bmp' ? await probeBmp(path) : await probeWithSharp(path)
  } catch (error) {
    return {ok: false, reason: `not a decodable image: ${firstLine((error as Error).message)}`}
  }
  const allowed = FORMATS_FOR_EXTENSION[ext]
  if (allowed && !allowed.includes(info.format)) {
    return {
      ok: false,
      reason: `content is ${info.format}, but the extension is .${ext}; rename it to match its content`,
    }
  }
  if (info.width * info.height > PIXEL_LIMIT) {
    return {
      ok: false,
      reason: `too large: ${info.width}×${info.height} pixels is over the limit of ${PIXEL_LIMIT} pixels`,
    }
  }
  if (options.verify && info.format !== 'bmp') {
    try {
      const {default: sharp} = await import('sharp')
      await sharp(path, {failOn: 'truncated'}).raw().toBuffer()
    } catch (error) {
      return {ok: false, reason: `not decodable: ${firstLine((error as Error).message)}`}
    }
  }
  return {ok: true, info}
}

async function probeWithSharp(path: string): Promise<ImageInfo> {
  const {default: sharp} = await import('sharp')
  const meta = await sharp(path, {limitInputPixels: false}).metadata()
  if (!meta.format || !meta.width || !meta.height) throw new Error('no image size in the header')
  const upright = meta.autoOrient ?? {width: meta.width, height: meta.height}
  return {format: String(meta.format), width: upright.width, height: upright.height}
}

async function probeBmp(path: string): Promise<ImageInfo> {
  const {imageSizeFromFile} = await import('image-size/fromFile')
  const size = await imageSizeFromFile(path)
  if (size.type !== 'bmp' || !size.width || !size.height) throw new Error(`not a BMP image (${size.type ?? 'unknown'})`)
  return {format: 'bmp', width: size.width, height: Math.abs(size.height)}
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim()
}

/** White, the colour transparent pixels and the padding become in tagger input. */
const WHITE = {r: 255, g: 255, b: 255, alpha: 1}

/**
 * Decodes an image into WD14-tagger input: one NHWC image, `size × size × 3` float32 values in BGR order, 0–255
 * (no normalisation). The steps, as kohya sd-scripts `finetune/tag_images_by_wd14_tagger.py` (`preprocess_image`)
 * and SmilingWolf's reference (`wd-tagger` Space, `app.py` `prepare_image`) do them:
 * 1. EXIF orientation applied (the image as displayed);
 * 2. alpha composited onto white (SmilingWolf: `alpha_composite` on a white RGBA canvas);
 * 3. padded to a square of its longer side, centred (left/top pad = ⌊pad/2⌋, numpy `np.pad` in kohya), with white
 *    (255);
 * 4. resized to `size × size` (sharp's Lanczos-3, antialiased when shrinking as cv2 INTER_AREA is, Lanczos when
 *    enlarging as kohya's INTER_LANCZOS4);
 * 5. RGB → BGR, as float32 0–255.
 *
 * @param path the image file (any format sharp reads)
 * @param size the model's input height and width in pixels (448 for the WD14 family), read from the model
 * @throws Error from sharp when the file is not a decodable image
 */
export async function taggerInput(path: string, size: number): Promise<Float32Array> {
  const {default: sharp} = await import('sharp')
  // Each image is read once: libvips' operation cache would only hold on to memory (README "Benchmarks").
  sharp.cache(false)
  // 1-2: upright, alpha onto white, 8-bit sRGB RGB.
  const upright = await sharp(path, {limitInputPixels: PIXEL_LIMIT})
    .rotate()
    .flatten({background: WHITE})
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({resolveWithObject: true})
  const {width, height} = upright.info
  // 3: white padding to a centred square.
  const side = Math.max(width, height)
  const left = Math.floor((side - width) / 2)
  const top = Math.floor((side - height) / 2)
  let square = sharp(upright.data, {raw: {width, height, channels: 3}, limitInputPixels: false})
  if (side !== width || side !== height)
    square = sharp(
      await square
        .extend({top, bottom: side - height - top, left, right: side - width - left, background: WHITE})
        .raw()
        .toBuffer(),
      {raw: {width: side, height: side, channels: 3}, limitInputPixels: false},
    )
  // 4: resize to the model's input size.
  const rgb =
    side === size ? await square.raw().toBuffer() : await square.resize(size, size, {fit: 'fill'}).raw().toBuffer()
  // 5: BGR float32.
  const out = new Float32Array(size * size * 3)
  for (let p = 0; p < size * size * 3; p += 3) {
    out[p] = rgb[p + 2]
    out[p + 1] = rgb[p + 1]
    out[p + 2] = rgb[p]
  }
  return out
}
