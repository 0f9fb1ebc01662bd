/**
 * A contact sheet for `lora curate --review`: images side by side, each scaled to one height (EXIF orientation
 * applied) with a label written under it, as one PNG (sharp composite; the label is an SVG text overlay, drawn by
 * libvips' librsvg). Each image is read without following a symbolic link (fs adapter); nothing is written here.
 */
import {readRegularBytesIfExistsSync} from './fs.js'
import {PIXEL_LIMIT, readRecordedImage} from './images.js'
import {escapeControls} from '../core/terminal-text.js'

/** Height of each picture on the sheet, and of the label strip under it, in pixels. */
export const SHEET_HEIGHT = 320
const LABEL_HEIGHT = 32
const GAP = 8
/** Width of the last tile, `+N more`, in pixels. */
const MORE_WIDTH = 160

/** XML-escapes text for the SVG label (control characters shown escaped, as on a terminal). */
function xml(text: string): string {
  return escapeControls(text).replace(/[<>&"']/gu, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * The most pictures a sheet shows: a group of near-duplicates can hold hundreds of images (frames of one video), and a
 * sheet of them all would be hundreds of thousands of pixels wide, each image decoded for it. The others are counted
 * on a last tile (`+12 more`).
 */
export const SHEET_MAX_IMAGES = 8

/**
 * Draws the sheet: the first SHEET_MAX_IMAGES items, then, when there are more, a tile saying how many more.
 * @param items the images (absolute paths) and their labels (`img_0004 keep 2560×1600`), left to right
 * @returns PNG bytes
 * @throws Error from sharp when an image does not decode; NotRegularFileError (fs adapter) for a link or FIFO
 */
export async function contactSheet(items: readonly {path: string; label: string}[]): Promise<Buffer> {
  const {default: sharp} = await import('sharp')
  const tiles: {input: Buffer; left: number; top: number}[] = []
  let left = 0
  for (const item of items.slice(0, SHEET_MAX_IMAGES)) {
    const bytes = readRegularBytesIfExistsSync(item.path)
    if (!bytes) continue
    const {data, info} = await sharp(bytes, {limitInputPixels: PIXEL_LIMIT})
      .rotate()
      .resize({height: SHEET_HEIGHT, width: SHEET_HEIGHT * 3, fit: 'inside'})
      .flatten({background: '#ffffff'})
      .png()
      .toBuffer({resolveWithObject: true})
    const width = Math.max(info.width, 160)
    const label = Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${LABEL_HEIGHT}">` +
        `<rect width="100%" height="100%" fill="#000"/>` +
        `<text x="6" y="22" font-family="sans-serif" font-size="18" fill="#fff">${xml(item.label)}</text></svg>`,
    )
    tiles.push({input: data, left, top: 0}, {input: label, left, top: SHEET_HEIGHT})
    left += width + GAP
  }
  if (items.length > SHEET_MAX_IMAGES) {
    const more = Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${MORE_WIDTH}" height="${SHEET_HEIGHT + LABEL_HEIGHT}">` +
        `<text x="${MORE_WIDTH / 2}" y="${SHEET_HEIGHT / 2}" text-anchor="middle" font-family="sans-serif" font-size="24" fill="#fff">+${items.length - SHEET_MAX_IMAGES} more</text></svg>`,
    )
    tiles.push({input: more, left, top: 0})
    left += MORE_WIDTH + GAP
  }
  return sharp({
    create: {
      width: Math.max(1, left - GAP),
      height: SHEET_HEIGHT + LABEL_HEIGHT,
      channels: 3,
      background: '#202020',
    },
  })
    .composite(tiles)
    .png()
    .toBuffer()
}

/**
 * An image's pixels as an aesthetic model wants them before normalisation: EXIF orientation applied, alpha onto
 * white, resized to `height × width` (`squash`: stretched; `crop`: scaled to cover, centre cropped; `pad`: scaled to
 * fit, centred on black), 8-bit RGB, row-major. Read without following a symbolic link (fs adapter).
 * @returns undefined when no file is there
 * @param sha256 the image's sha256 as the state records it
 * @throws Error from sharp when it does not decode; NotRegularFileError (fs adapter) for a link or FIFO;
 *   ImageChangedError (images.ts) when its bytes are not those of `sha256`
 */
export async function resizedRgb(
  path: string,
  sha256: string,
  size: {height: number; width: number; resize: 'squash' | 'crop' | 'pad'},
): Promise<Uint8Array | undefined> {
  // Its score is cached under `sha256`: only those bytes are scored.
  const bytes = readRecordedImage(path, sha256)
  if (!bytes) return undefined
  const {default: sharp} = await import('sharp')
  const fit = size.resize === 'squash' ? 'fill' : size.resize === 'crop' ? 'cover' : 'contain'
  const data = await sharp(bytes, {limitInputPixels: PIXEL_LIMIT})
    .rotate()
    .flatten({background: '#ffffff'})
    .toColourspace('srgb')
    .resize(size.width, size.height, {fit, position: 'centre', background: '#000000'})
    .removeAlpha()
    .raw()
    .toBuffer()
  return new Uint8Array(data.buffer, data.byteOffset, data.length)
}
