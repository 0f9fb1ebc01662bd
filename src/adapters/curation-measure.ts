/**
 * Measures one image for `lora curate` (core/curation.ts defines each measure): the file is read once, never
 * through a symbolic link and never a FIFO (fs adapter `readRegularBytesIfExistsSync`), decoded once by sharp with
 * its EXIF orientation applied (8-bit sRGB, RGBA), and every measure is computed from that decode: the pHash's
 * 32×32 greyscale copy and the blur score's ≤ 64 px greyscale copy are resized from the decoded pixels, not decoded
 * again. EXIF is read from sharp's metadata (the header) with exif-reader.
 */
import {createHash} from 'node:crypto'
import {PIXEL_LIMIT, readRecordedImage} from './images.js'
import {hashToHex, luma601, phash, PHASH_INPUT_SIDE} from '../core/curation-hash.js'
import {
  BLUR_SIDE,
  blurScore,
  CURATION_VERSION,
  type ExifSummary,
  type ImageMeasures,
  pixelStats,
} from '../core/curation.js'

/**
 * Measures the image at `path`.
 * @param sha256 the image's sha256 as the state records it (the cache key written into the record)
 * @returns the measures, or undefined when no file is there
 * @throws NotRegularFileError (fs adapter) when it is a symbolic link, FIFO, folder or device; ImageChangedError
 *   (images.ts) when its sha256 is not `sha256`; Error from sharp when it does not decode
 */
export async function measureImage(path: string, sha256: string): Promise<ImageMeasures | undefined> {
  // Cached under `sha256`: only those bytes are measured.
  const bytes = readRecordedImage(path, sha256)
  if (!bytes) return undefined
  const {default: sharp} = await import('sharp')
  const source = sharp(bytes, {limitInputPixels: PIXEL_LIMIT})
  const meta = await source.metadata()
  const {data, info} = await source
    .rotate()
    .toColourspace('srgb')
    .ensureAlpha()
    .raw({depth: 'uchar'})
    .toBuffer({resolveWithObject: true})
  const {width, height, channels} = info
  // A plain byte view: element reads on it stay fast in every realm (sharp's Buffer is slow to index under Jest's VM).
  const bytesView = new Uint8Array(data.buffer, data.byteOffset, data.length)
  const raw = {raw: {width, height, channels}, limitInputPixels: false} as const
  const stats = pixelStats(bytesView, channels)
  const pixels = createHash('sha256').update(`${width}x${height}x${channels}\n`).update(data).digest('hex')
  // imagededup: RGB (alpha dropped) resized to 32×32 (PIL's antialiased Lanczos; sharp's lanczos3), then luma.
  const small = await sharp(data, raw)
    .removeAlpha()
    .resize(PHASH_INPUT_SIDE, PHASH_INPUT_SIDE, {fit: 'fill', kernel: 'lanczos3'})
    .raw()
    .toBuffer()
  const grey32 = new Uint8Array(PHASH_INPUT_SIDE * PHASH_INPUT_SIDE)
  for (let i = 0; i < grey32.length; i++) grey32[i] = luma601(small[i * 3], small[i * 3 + 1], small[i * 3 + 2])
  // cleanvision: shrunk by ratio = longer side / 64 (integer division of each side), bicubic, then greyscale.
  const ratio = Math.max(width, height) / BLUR_SIDE
  const bw = ratio > 1 ? Math.max(1, Math.floor(width / ratio)) : width
  const bh = ratio > 1 ? Math.max(1, Math.floor(height / ratio)) : height
  const blurCopy = await sharp(data, raw).removeAlpha().resize(bw, bh, {fit: 'fill', kernel: 'cubic'}).raw().toBuffer()
  const greyBlur = new Uint8Array(bw * bh)
  for (let i = 0; i < greyBlur.length; i++)
    greyBlur[i] = luma601(blurCopy[i * 3], blurCopy[i * 3 + 1], blurCopy[i * 3 + 2])
  return {
    version: CURATION_VERSION,
    sha256,
    width,
    height,
    phash: hashToHex(phash(grey32)),
    pixels,
    brightP99: stats.brightP99,
    brightP5: stats.brightP5,
    entropy: stats.entropy,
    blur: blurScore(greyBlur, bw, bh),
    colour: stats.colour,
    exif: await readExif(meta.exif),
  }
}

/** The EXIF parts lora reports (core/curation.ts ExifSummary); all null/false without EXIF or when it is damaged. */
async function readExif(buffer: Buffer | undefined): Promise<ExifSummary> {
  const none: ExifSummary = {gps: false, camera: null, captureDate: null, orientation: null}
  if (!buffer) return none
  try {
    const {default: exifReader} = await import('exif-reader')
    const exif = exifReader(buffer)
    const gps = exif.GPSInfo
    const make = typeof exif.Image?.Make === 'string' ? exif.Image.Make.trim() : ''
    const model = typeof exif.Image?.Model === 'string' ? exif.Image.Model.trim() : ''
    const date = exif.Photo?.DateTimeOriginal ?? exif.Image?.DateTime
    const orientation = exif.Image?.Orientation
    return {
      gps: Array.isArray(gps?.GPSLatitude) && Array.isArray(gps.GPSLongitude),
      camera:
        [make, model.startsWith(make) ? model.slice(make.length).trim() : model].filter(Boolean).join(' ') || null,
      captureDate: date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : null,
      orientation: typeof orientation === 'number' && orientation >= 1 && orientation <= 8 ? orientation : null,
    }
  } catch {
    return none
  }
}
