import {orderBy} from 'natural-orderby'

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

/** Sorts paths in natural order (`img2` before `img10`), the order images get their numbers in. */
export function naturalSort(paths: readonly string[]): string[] {
  return orderBy([...paths], [(p) => p], ['asc'])
}

/** True when a prefix is usable in file names: no path separators, NUL, or leading dot. */
export function isValidPrefix(prefix: string): boolean {
  return !/[/\\\0]/u.test(prefix) && !prefix.startsWith('.') && prefix.length <= 64
}
