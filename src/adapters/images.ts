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
