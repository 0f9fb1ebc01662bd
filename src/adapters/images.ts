/**
 * Reads image headers (sharp metadata: the header only, no pixel decoding) to learn an image's format and its
 * displayed size, and to reject files that are not usable images. BMP, which sharp's prebuilt libvips does not
 * read, is handled by the `image-size` header parser. sharp is imported here only, on first use.
 */
import {createHash} from 'node:crypto'
import {constants as fsConstants} from 'node:fs'
import * as fsp from 'node:fs/promises'
import {extensionOf} from '../core/naming.js'
import {fitInSquare, padToSquare, rgbToBgrFloat} from '../core/tagger-input.js'
import {openRegularForReadSync, readRegularBytesIfExistsSync} from './fs.js'

/** Largest image accepted, in pixels: sharp's own default `limitInputPixels` (0x3FFF × 0x3FFF). */
export const PIXEL_LIMIT = 0x3fff * 0x3fff

/** The image's bytes are not those lora recorded (changed by hand since): nothing is computed or cached from them. */
export class ImageChangedError extends Error {
  constructor(path: string) {
    super(`${path} changed since lora recorded it (run \`lora status --rescan\`)`)
  }
}

/**
 * Reads an output image whose results lora caches under the sha256 the state records (curation measures, aesthetic
 * scores, autotag predictions): the whole file, once, never through a symbolic link and never blocking on a FIFO
 * (fs adapter `readRegularBytesIfExistsSync`), and only if its bytes are still those of `sha256` (a file changed by
 * hand since would put its results under the original's key, served again once the original is back).
 * @returns the bytes (decode them, not the path: a file swapped after this read is never decoded), or undefined when
 *   nothing is there
 * @throws NotRegularFileError (fs adapter) for a symbolic link, FIFO, folder or device; ImageChangedError when the
 *   bytes' sha256 is not `sha256`; the file system's error otherwise (EACCES, EIO)
 */
export function readRecordedImage(path: string, sha256: string): Buffer | undefined {
  const bytes = readRegularBytesIfExistsSync(path)
  if (bytes && createHash('sha256').update(bytes).digest('hex') !== sha256) throw new ImageChangedError(path)
  return bytes
}

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
 * 4. resized to `size × size` (kohya: cv2 INTER_AREA when shrinking, INTER_LANCZOS4 when enlarging);
 * 5. RGB → BGR, as float32 0–255.
 * How steps 3 and 4 are done here: see `taggerPixels`.
 *
 * @param image the image file's path, or its bytes (any format sharp reads)
 * @param size the model's input height and width in pixels (448 for the WD14 family), read from the model
 * @throws Error from sharp when the file is not a decodable image
 */
export async function taggerInput(image: string | Uint8Array, size: number): Promise<Float32Array> {
  return rgbToBgrFloat(await taggerPixels(image, size))
}

/**
 * Steps 1–4 of `taggerInput`: the image upright, on white, padded to a centred square and resized to
 * `size × size`, as 8-bit RGB, `size × size × 3` bytes (NHWC). `rgbToBgrFloat` (core/tagger-input.ts) makes them the
 * model's input; `lora autotag` sends these bytes to its model process, which converts them.
 *
 * Steps 3 and 4 are done the other way round: the image is resized to the size it has inside the square
 * (core/tagger-input.ts `fitInSquare`: each edge where the reference puts it, rounded to a whole output
 * pixel), then padded with white (`padToSquare`). Resizing first lets libvips
 * decode a JPEG or WebP several times larger than `size` at 1/2, 1/4 or 1/8 of its size (shrink-on-load: an average
 * over 2×2 to 8×8 pixel blocks, like kohya's INTER_AREA) and take the rest of the way with Lanczos-3 (antialiased
 * when shrinking; Lanczos when enlarging, like kohya's INTER_LANCZOS4), and no padded full-size copy is made (48 MB
 * for a 12-megapixel photo). Measured (2026-12-02, 2 cores, 448 px) against cv2's INTER_AREA of the padded image,
 * computed in plain JavaScript (what kohya does when shrinking), on the 29 photos of `../shared/data/photos` larger
 * than 448 px: mean absolute difference 1.20 of 255 per value, against 0.89 when the whole image was decoded, padded,
 * then resized with Lanczos-3, which took 4.7× the CPU time (127–160 against 27–33 ms per image over all the
 * decodable photos); a 4,000 × 2,500 JPEG took 24–25 instead of 215–261 ms.
 * @param image the image's bytes (`lora autotag` reads them with `readRecordedImage`: header and pixels come from the
 *   same bytes), or a file's path (tests)
 * @throws Error from sharp when the file is not a decodable image
 */
export async function taggerPixels(image: string | Uint8Array, size: number): Promise<Uint8Array> {
  const {default: sharp} = await import('sharp')
  // Each image is read once: libvips' operation cache would only hold on to memory (README "Benchmarks").
  sharp.cache(false)
  const source = sharp(image, {limitInputPixels: PIXEL_LIMIT})
  // The size as displayed (EXIF orientation applied), from the header.
  const header = await source.metadata()
  const {width, height} = header.autoOrient ?? header
  if (!width || !height) throw new Error('no image size in its header')
  const fit = fitInSquare(width, height, size)
  // 1-2 and the resize of 4: upright, alpha onto white, 8-bit sRGB RGB, at its size in the square.
  const pixels = await source
    .rotate()
    .flatten({background: WHITE})
    .toColourspace('srgb')
    .resize(fit.width, fit.height, {fit: 'fill', kernel: 'lanczos3'})
    .removeAlpha()
    .raw()
    .toBuffer()
  // 3: white padding to the centred square.
  return padToSquare(pixels, fit, size)
}

/** What `lora export` needs to know of an image to decide whether to copy it as is or re-encode it. */
export interface ExportImageFacts {
  /** sharp's format name (`jpeg`, `png`, `webp`, `gif`, `tiff`, `heif`, `bmp`). */
  format: string
  /** Size as displayed (EXIF orientation applied), in pixels. */
  width: number
  height: number
  /** EXIF orientation (1 = upright or no tag; 2–8 need a transform). */
  orientation: number
  /** Holds EXIF, XMP, IPTC, PNG text chunks (generation prompts), or an ICC profile other than sRGB. */
  metadata: boolean
  /** More than 8 bits per channel. */
  deep: boolean
}

/**
 * Reads an image's header (sharp metadata; BMP by its header parser) for `lora export`.
 * @throws Error when the file is not a readable image
 */
export async function exportImageFacts(path: string): Promise<ExportImageFacts> {
  const quick = plainHeaderFacts(path)
  if (quick) return quick
  if (extensionOf(path) === 'bmp') {
    const info = await probeBmp(path)
    return {...info, orientation: 1, metadata: false, deep: false}
  }
  const {default: sharp} = await import('sharp')
  const meta = await sharp(path, {limitInputPixels: false}).metadata()
  if (!meta.format || !meta.width || !meta.height) throw new Error('no image size in the header')
  const upright = meta.autoOrient ?? {width: meta.width, height: meta.height}
  return {
    format: String(meta.format),
    width: upright.width,
    height: upright.height,
    orientation: meta.orientation ?? 1,
    metadata:
      Boolean(meta.exif ?? meta.xmp ?? meta.iptc) ||
      (meta.comments?.length ?? 0) > 0 ||
      (meta.icc !== undefined && !isSrgbProfile(meta.icc)),
    deep: !['uchar', 'char', undefined].includes(meta.depth),
  }
}

/**
 * Whether an ICC profile is an sRGB one (its description names sRGB, as `sRGB IEC61966-2.1` and the compact sRGB
 * profiles do, in ASCII or UTF-16BE): such an image is already what trainers assume (Pillow ignores ICC profiles), so it needs no
 * conversion.
 */
function isSrgbProfile(icc: Buffer): boolean {
  // `desc` tags hold ASCII; ICC v4 `mluc` tags hold UTF-16BE text.
  return icc.includes('sRGB', 0, 'latin1') || icc.includes(Buffer.from('\0s\0R\0G\0B', 'latin1'))
}

/** How `lora export` re-encodes an image. */
export interface ReencodeSpec {
  /** Fit inside `maxSide × maxSide` pixels (Lanczos-3), never enlarging. */
  maxSide?: number
  format: 'png' | 'jpeg' | 'webp'
  /** 1–100 for JPEG and WebP (default 90). */
  quality?: number
  /** Keep EXIF/XMP/IPTC/ICC (the orientation tag reset to 1, as the pixels are turned). Default: strip all. */
  keepMetadata: boolean
}

/**
 * Re-encodes one image for an export: the EXIF orientation applied to the pixels, resized to fit `maxSide`,
 * converted to 8-bit sRGB (an ICC profile converted, 16-bit reduced), alpha flattened onto white for JPEG, and
 * every metadata block dropped unless `keepMetadata` (sharp writes none by default). Animated or multi-page files
 * give their first frame.
 * @returns the encoded bytes and the output size in pixels
 * @throws Error from sharp when the file cannot be decoded (BMP is not decoded by sharp's libvips)
 */
export async function reencodeImage(
  path: string,
  spec: ReencodeSpec,
): Promise<{data: Buffer; width: number; height: number}> {
  const {default: sharp} = await import('sharp')
  let image = sharp(path, {limitInputPixels: PIXEL_LIMIT}).rotate()
  if (spec.maxSide !== undefined)
    image = image.resize({
      width: spec.maxSide,
      height: spec.maxSide,
      fit: 'inside',
      withoutEnlargement: true,
      kernel: 'lanczos3',
    })
  image = image.toColourspace('srgb')
  if (spec.format === 'jpeg') image = image.flatten({background: WHITE}).jpeg({quality: spec.quality ?? 90})
  else if (spec.format === 'webp') image = image.webp({quality: spec.quality ?? 90})
  else image = image.png()
  if (spec.keepMetadata) image = image.keepMetadata()
  const {data, info} = await image.toBuffer({resolveWithObject: true})
  return {data, width: info.width, height: info.height}
}

/** How much of a file the header scan reads: the segments and chunks before the pixel data (else sharp reads it). */
const HEADER_BYTES = 16 * 1024

/**
 * The facts of a plain JPEG or PNG (no metadata of any kind, 8 bits per channel) from a scan of its header, without
 * sharp: JPEG segments up to the start of scan (no APP1 Exif/XMP, APP2 ICC, APP13 IPTC or COM; an 8-bit SOF), PNG
 * chunks up to the first IDAT (no tEXt, zTXt, iTXt, eXIf or iCCP; bit depth 8 or less). Anything else, or anything
 * not understood, returns undefined and sharp reads the file. For an export that changes nothing this halves the
 * time spent deciding so (bench/export.bench.js).
 */
function plainHeaderFacts(path: string): ExportImageFacts | undefined {
  let head: Buffer
  try {
    const reader = openRegularForReadSync(path)
    if (!reader) return undefined
    try {
      head = reader.read(0, HEADER_BYTES)
    } finally {
      reader.close()
    }
  } catch {
    return undefined
  }
  if (head.length > 3 && head[0] === 0xff && head[1] === 0xd8) return plainJpeg(head)
  if (head.length > 33 && head.readUInt32BE(0) === 0x89504e47 && head.readUInt32BE(4) === 0x0d0a1a0a)
    return plainPng(head)
  return undefined
}

function plainJpeg(b: Buffer): ExportImageFacts | undefined {
  let size: {width: number; height: number} | undefined
  let at = 2
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return undefined
    const marker = b[at + 1]
    if (marker === 0xff) {
      at++
      continue
    }
    if (marker === 0xda) return size && {format: 'jpeg', ...size, orientation: 1, metadata: false, deep: false}
    if (marker >= 0xd0 && marker <= 0xd9) {
      at += 2
      continue
    }
    const length = b.readUInt16BE(at + 2)
    // APP1 (Exif, XMP), APP2 (ICC), APP13 (IPTC), APP3-APP12/APP14-15 other vendors' data, COM (comments).
    if ((marker >= 0xe1 && marker <= 0xef) || marker === 0xfe) return undefined
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > b.length || b[at + 4] !== 8) return undefined
      size = {height: b.readUInt16BE(at + 5), width: b.readUInt16BE(at + 7)}
      if (!size.width || !size.height) return undefined
    }
    at += 2 + length
  }
  return undefined
}

function plainPng(b: Buffer): ExportImageFacts | undefined {
  if (b.toString('latin1', 12, 16) !== 'IHDR') return undefined
  const width = b.readUInt32BE(16)
  const height = b.readUInt32BE(20)
  if (b[24] > 8 || !width || !height) return undefined
  let at = 8
  while (at + 8 <= b.length) {
    const length = b.readUInt32BE(at)
    const type = b.toString('latin1', at + 4, at + 8)
    if (type === 'IDAT') return {format: 'png', width, height, orientation: 1, metadata: false, deep: false}
    if (['tEXt', 'zTXt', 'iTXt', 'eXIf', 'iCCP', 'acTL'].includes(type)) return undefined
    at += 12 + length
  }
  return undefined
}

/** A thumbnail made by `webpThumbnail`: WebP bytes and the thumbnail's size in pixels. */
export interface Thumbnail {
  data: Buffer
  width: number
  height: number
}

/**
 * A WebP thumbnail of an image (the gallery's, README "lora gallery"): EXIF orientation applied, then scaled so that
 * its longer side is `size` pixels (never enlarged; the aspect ratio kept), WebP quality 80. sharp decodes JPEG and
 * WebP shrunk on load, as vipsthumbnail does. GIF: its first frame.
 * @param bytes the image file's bytes (read by the caller without following links: adapters/fs.ts)
 * @param size the longer side in pixels (≥ 1)
 * @throws Error from sharp when the bytes are not an image it decodes (BMP, which sharp does not read, included)
 */
export async function webpThumbnail(bytes: Uint8Array, size: number): Promise<Thumbnail> {
  const {default: sharp} = await import('sharp')
  const {data, info} = await sharp(bytes, {limitInputPixels: PIXEL_LIMIT})
    .rotate()
    .resize(size, size, {fit: 'inside', withoutEnlargement: true})
    .webp({quality: 80})
    .toBuffer({resolveWithObject: true})
  return {data, width: info.width, height: info.height}
}
