import {compare} from 'natural-orderby'
import {counted, plural} from './plural.js'

/**
 * Extensions of image files lora does not import (lower case): formats the trainers do not read (HEIC/HEIF,
 * JPEG XL, JPEG 2000, camera RAW, Photoshop, SVG, icons) and JPEG under names the trainers do not list (`.jfif`,
 * `.jpe`: rename them to `.jpg`). kohya sd-scripts `train_util.py` IMAGE_EXTENSIONS lists none of them.
 */
export const OTHER_IMAGE_EXTENSIONS = [
  'heic',
  'heif',
  'jfif',
  'jpe',
  'jxl',
  'jp2',
  'dng',
  'cr2',
  'cr3',
  'nef',
  'arw',
  'raf',
  'orf',
  'rw2',
  'psd',
  'svg',
  'ico',
] as const

/** Files of other image formats found, by extension (OTHER_IMAGE_EXTENSIONS), most first. */
export type OtherFormats = {extension: string; files: number}[]

/** `13 files in formats lora does not import (.heic ×12, .jfif ×1) were left out.` (`1 file ... was left out.`) */
export function otherFormatsText(formats: OtherFormats): string {
  const files = formats.reduce((n, f) => n + f.files, 0)
  const list = formats.map((f) => `.${f.extension} ×${f.files}`).join(', ')
  return `${counted(files, 'file')} in formats lora does not import (${list}) ${plural(files, 'was', 'were')} left out.`
}

/** What to do with them (otherFormatsText). */
export const OTHER_FORMATS_ADVICE =
  'Convert them to JPEG or PNG (a .jfif or .jpe file is a JPEG: rename it to .jpg), then run lora init again.'

/** Image file extensions `lora init` imports (lower case, without the dot). */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'bmp', 'gif', 'tif', 'tiff', 'avif'] as const

/**
 * Width the image number is zero-padded to: max(4, digits of the count). Chosen once, when the dataset is first
 * initialised; later numbers keep that width (and simply grow wider past it), so existing ids never change.
 */
export function padWidthFor(count: number): number {
  return Math.max(4, String(Math.max(count, 0)).length)
}

/** The id of image number `n`: `<prefix><n zero-padded to width>`, e.g. `img_0042`. */
export function imageId(prefix: string, n: number, width: number): string {
  return prefix + String(n).padStart(width, '0')
}

/** The lowercased extension of a path, without the dot ('' when none): `a/B.JPG` → `jpg`. */
export function extensionOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase()
}

/** The file name without its last extension: `a/b.c.jpg` → `b.c`. */
export function stemOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  return dot <= 0 ? base : base.slice(0, dot)
}

const naturalCompare = compare({order: 'asc'})

/**
 * Sorts `/`-separated paths in natural order (`img2` before `img10`), folder by folder (`photos/x` before
 * `photos2/x`), with a code-point tie-break so that names differing only in case (`A.jpg`, `a.jpg`) always come
 * out in the same order. This is the order images get their numbers in.
 */
export function naturalSort(paths: readonly string[]): string[] {
  return [...paths].sort(comparePaths)
}

function comparePaths(a: string, b: string): number {
  const as = a.split('/')
  const bs = b.split('/')
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    // Files in a folder come before its subfolders' files.
    const aIsFile = i === as.length - 1
    const bIsFile = i === bs.length - 1
    if (aIsFile !== bIsFile) return aIsFile ? -1 : 1
    const byNature = naturalCompare(as[i], bs[i])
    if (byNature !== 0) return byNature
    if (as[i] !== bs[i]) return as[i] < bs[i] ? -1 : 1
  }
  return as.length - bs.length
}

/** True when a prefix is usable in file names: no path separators, NUL, or leading dot. */
export function isValidPrefix(prefix: string): boolean {
  return !/[/\\\0]/u.test(prefix) && !prefix.startsWith('.') && prefix.length <= 64
}
