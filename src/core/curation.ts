/**
 * Curation measures and finding rules for `lora curate` (pure: no I/O). The adapter (adapters/curation-measure.ts)
 * decodes an image once and hands the pixel buffers here; the rules turn the measures into findings.
 *
 * Definitions and default thresholds are cleanvision's (cleanlab/cleanvision, `issue_managers/` and
 * `utils/utils.py`, as summarised in ../shared/FORMATS.md), unless said otherwise:
 * - brightness of a pixel = √(0.241·R² + 0.691·G² + 0.068·B²) / 255;
 * - `dark`: the 99th percentile of brightness < 0.32;
 * - `light`: 1 − the 5th percentile of brightness < 0.05;
 * - `blurry`: cleanvision's edge-strength score, 1 − exp(−σ/100) where σ is the standard deviation of the
 *   FIND_EDGES filter (3×3 kernel: 8 in the centre, −1 around) over a greyscale copy whose longer side is at most
 *   64 px, < 0.29. (Not fastdup's variance of the Laplacian; cleanvision's extra contrast term is left out, so a
 *   flat image is blurry as well as low-information.)
 * - `low-information`: Shannon entropy of the 256-bin greyscale histogram < 3 bits (cleanvision: 0.1 × entropy
 *   < 0.3; computed on greyscale here, where PIL's `entropy()` of an RGB image pools the three channels);
 * - `odd-aspect-ratio`: min(w/h, h/w) < 0.35;
 * - `odd-size`: √(w·h) outside [Q1 − 3·IQR, Q3 + 3·IQR] of this dataset's images (at least 4 images);
 * - `grayscale`: no pixel's channels differ by more than 2 levels (JPEG rounding), i.e. the share of coloured
 *   pixels is 0;
 * - `low-resolution`: shorter side < `validate.minSide` (512 by default);
 * - `gps`: the file's EXIF carries a GPS position (a privacy warning before sharing the dataset);
 * - `aesthetic`: the score of `--aesthetic-model` < `--min-aesthetic` (services/curate.ts; not from these measures).
 */

/** The finding rules, in report order. */
export const CURATION_RULES = [
  'dark',
  'light',
  'blurry',
  'low-information',
  'odd-aspect-ratio',
  'odd-size',
  'grayscale',
  'low-resolution',
  'gps',
  'aesthetic',
] as const

/** A finding rule's id. */
export type CurationRule = (typeof CURATION_RULES)[number]

/** Thresholds of the rules (config `curate:`; README "Curation"). */
export interface CurationSettings {
  /** Near-duplicate pHash distance, 0–64 (imagededup's `max_distance_threshold`: 10). */
  distance: number
  dark: number
  light: number
  blurry: number
  /** Bits of greyscale entropy. */
  lowInformation: number
  oddAspectRatio: number
  /** Multiples of the inter-quartile range. */
  oddSize: number
}

/** The published defaults (module comment). */
export const DEFAULT_CURATION: CurationSettings = {
  distance: 10,
  dark: 0.32,
  light: 0.05,
  blurry: 0.29,
  lowInformation: 3,
  oddAspectRatio: 0.35,
  oddSize: 3,
}

const SETTING_KEYS = Object.keys(DEFAULT_CURATION) as (keyof CurationSettings)[]

/**
 * Checks a `curate:` config section: a mapping of the keys of `CurationSettings` to numbers (distance a whole
 * number 0–64, the others ≥ 0).
 * @returns a description of what it must be, or undefined when it is fine
 */
export function checkCurateSection(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'a mapping such as {distance: 10}'
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (!SETTING_KEYS.includes(key as keyof CurationSettings))
      return `a mapping whose keys are ${SETTING_KEYS.join(', ')} (not "${key}")`
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return `a mapping with ${key}: a number ≥ 0`
    if (key === 'distance' && (!Number.isInteger(v) || v > 64)) return 'a mapping with distance: a whole number 0–64'
  }
  return undefined
}

/** The settings of a checked `curate:` section over the defaults. */
export function readCurateSection(value: unknown): CurationSettings {
  return {...DEFAULT_CURATION, ...((value ?? {}) as Partial<CurationSettings>)}
}

/** What EXIF says about an image (exif-reader's tags), the parts lora reports. */
export interface ExifSummary {
  /** True when the GPS IFD holds a latitude and longitude. */
  gps: boolean
  /** `Make Model`, or null. */
  camera: string | null
  /** DateTimeOriginal (else DateTime) as ISO 8601, or null. */
  captureDate: string | null
  /** The Orientation tag, 1–8, or null. */
  orientation: number | null
}

/**
 * Everything measured of one image, cached per image sha256 and `CURATION_VERSION` (JSON, one file per image).
 * Sizes are pixels as displayed (EXIF orientation applied); scores as in the module comment.
 */
export interface ImageMeasures {
  version: number
  sha256: string
  width: number
  height: number
  /** pHash, 16 hexadecimal digits (curation-hash.ts). */
  phash: string
  /** sha256 of the decoded RGBA pixels with the size: equal for the same picture in two lossless files. */
  pixels: string
  /** 99th and 5th percentiles of brightness, 0–1. */
  brightP99: number
  brightP5: number
  /** Greyscale entropy in bits, 0–8. */
  entropy: number
  /** Edge-strength score, 0–1 (higher is sharper). */
  blur: number
  /** Share of pixels whose channels differ by more than 2 levels, 0–1 (0: grayscale). */
  colour: number
  exif: ExifSummary
}

/**
 * The version of the measures: a cached record of another version is measured again. Bump it whenever a measure's
 * definition changes.
 */
export const CURATION_VERSION = 2

// Hot loops read these as module bindings, not as properties of the global object: under a VM context (Jest)
// every global lookup in a loop over millions of pixels costs a trip through the context's interceptors.
const {sqrt, round: roundHalfUp, floor, min: minOf, max: maxOf} = Math

/** Brightness of one 8-bit RGB pixel, 0–1 (cleanvision). */
export function brightness(r: number, g: number, b: number): number {
  return sqrt(0.241 * r * r + 0.691 * g * g + 0.068 * b * b) / 255
}

/** Bins of the brightness histogram: percentiles are exact to 1/8190 (half a bin). */
export const BRIGHTNESS_BINS = 4096

/**
 * The p-th percentiles (0–100, numpy's default linear interpolation between ranks) of the brightness of an RGB(A)
 * buffer, from a histogram of `BRIGHTNESS_BINS` bins (one pass, no sort; exact to half a bin).
 * @param rgb interleaved pixels, `channels` values per pixel (3 or 4; alpha ignored)
 */
export function brightnessPercentiles(rgb: ArrayLike<number>, channels: number, ps: readonly number[]): number[] {
  const histogram = new Float64Array(BRIGHTNESS_BINS)
  const count = Math.floor(rgb.length / channels)
  for (let i = 0; i < count; i++)
    histogram[brightnessBin(rgb[i * channels], rgb[i * channels + 1], rgb[i * channels + 2])]++
  return percentilesOfHistogram(histogram, count, ps)
}

function brightnessBin(r: number, g: number, b: number): number {
  return minOf(BRIGHTNESS_BINS - 1, roundHalfUp(brightness(r, g, b) * (BRIGHTNESS_BINS - 1)))
}

function percentilesOfHistogram(histogram: Float64Array, count: number, ps: readonly number[]): number[] {
  const valueAtRank = (rank: number) => {
    let seen = 0
    for (let bin = 0; bin < histogram.length; bin++) {
      seen += histogram[bin]
      if (seen > rank) return bin / (histogram.length - 1)
    }
    return 1
  }
  return ps.map((p) => {
    if (count === 0) return 0
    const at = ((count - 1) * p) / 100
    const low = Math.floor(at)
    const lowValue = valueAtRank(low)
    const highValue = valueAtRank(Math.min(low + 1, count - 1))
    return lowValue + (highValue - lowValue) * (at - low)
  })
}

/** What one pass over the decoded pixels gives (`pixelStats`). */
export interface PixelStats {
  brightP99: number
  brightP5: number
  /** Greyscale (ITU-R 601 luma) entropy, bits. */
  entropy: number
  /** Share of pixels whose channels differ by more than 2 levels. */
  colour: number
}

/**
 * One pass over an RGB(A) buffer: brightness percentiles 99 and 5, greyscale entropy and the share of coloured
 * pixels (the module comment defines each).
 * @param rgb interleaved 8-bit pixels, `channels` values per pixel (3 or 4; alpha ignored)
 */
export function pixelStats(rgb: ArrayLike<number>, channels: number): PixelStats {
  const bright = new Float64Array(BRIGHTNESS_BINS)
  const grey = new Float64Array(256)
  const count = Math.floor(rgb.length / channels)
  let coloured = 0
  for (let i = 0, at = 0; i < count; i++, at += channels) {
    const r = rgb[at]
    const g = rgb[at + 1]
    const b = rgb[at + 2]
    bright[brightnessBin(r, g, b)]++
    grey[floor((r * 299 + g * 587 + b * 114 + 500) / 1000)]++
    if (maxOf(r, g, b) - minOf(r, g, b) > 2) coloured++
  }
  const [brightP99, brightP5] = percentilesOfHistogram(bright, count, [99, 5])
  return {brightP99, brightP5, entropy: entropyOfHistogram(grey, count), colour: count === 0 ? 0 : coloured / count}
}

function entropyOfHistogram(histogram: Float64Array, count: number): number {
  let entropy = 0
  for (const n of histogram) {
    if (n === 0) continue
    const p = n / count
    entropy -= p * Math.log2(p)
  }
  return entropy === 0 ? 0 : entropy
}

/** Shannon entropy (bits) of the 256-bin histogram of 8-bit greyscale values. */
export function greyEntropy(grey: ArrayLike<number>): number {
  const histogram = new Float64Array(256)
  for (let i = 0; i < grey.length; i++) histogram[grey[i]]++
  return entropyOfHistogram(histogram, grey.length)
}

/**
 * cleanvision's edge-strength score of a small greyscale image: 1 − exp(−σ/100), σ the standard deviation over
 * every pixel of PIL's `ImageFilter.FIND_EDGES` image: 8·centre − the 8 neighbours, clamped to 0–255 as PIL stores
 * it, inside; the 1-pixel border keeps the source's own values, as PIL's 3×3 filter leaves it (`ImageStat.Stat`
 * then takes the whole image). So a flat image is not 0 but 1 − exp(−σ/100) of its border against a zero interior.
 * @param grey row-major 8-bit values, `width × height` (the longer side at most 64 px: `BLUR_SIDE`)
 */
export function blurScore(grey: ArrayLike<number>, width: number, height: number): number {
  if (width < 3 || height < 3) return 0
  let sum = 0
  let sumSq = 0
  const count = width * height
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const c = y * width + x
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) {
        sum += grey[c]
        sumSq += grey[c] * grey[c]
        continue
      }
      let v =
        8 * grey[c] -
        grey[c - width - 1] -
        grey[c - width] -
        grey[c - width + 1] -
        grey[c - 1] -
        grey[c + 1] -
        grey[c + width - 1] -
        grey[c + width] -
        grey[c + width + 1]
      v = v < 0 ? 0 : v > 255 ? 255 : v
      sum += v
      sumSq += v * v
    }
  const mean = sum / count
  const sigma = Math.sqrt(Math.max(0, sumSq / count - mean * mean))
  return 1 - Math.exp(-sigma / 100)
}

/** Longer side of the greyscale copy the blur score reads (cleanvision's `max_resolution_for_blurry_detection`). */
export const BLUR_SIDE = 64

/** Share of pixels of an RGB(A) buffer whose channels differ by more than 2 levels (0 for a grayscale image). */
export function colourShare(rgb: ArrayLike<number>, channels: number): number {
  const count = Math.floor(rgb.length / channels)
  if (count === 0) return 0
  let coloured = 0
  for (let i = 0; i < count; i++) {
    const r = rgb[i * channels]
    const g = rgb[i * channels + 1]
    const b = rgb[i * channels + 2]
    if (maxOf(r, g, b) - minOf(r, g, b) > 2) coloured++
  }
  return coloured / count
}

/** One finding: a rule an image breaks, with the measured score and the threshold it crossed. */
export interface CurationFinding {
  rule: CurationRule
  id: string
  score: number
  threshold: number
  /** One line for a person: `blurry 0.21 < 0.29`. */
  message: string
}

/** An image as the rules see it. */
export interface MeasuredImage {
  id: string
  measures: ImageMeasures
}

const round = (v: number) => Math.round(v * 1000) / 1000

/**
 * The findings of every image under `settings` (and `minSide` for `low-resolution`), in image order, then rule
 * order. `odd-size` compares each image with the quartiles of all `images`.
 */
export function findings(
  images: readonly MeasuredImage[],
  settings: CurationSettings,
  minSide: number,
): CurationFinding[] {
  const sizes = images.map((i) => Math.sqrt(i.measures.width * i.measures.height))
  const bounds = sizeBounds(sizes, settings.oddSize)
  const out: CurationFinding[] = []
  images.forEach((image, index) => {
    const m = image.measures
    const add = (rule: CurationRule, score: number, threshold: number, message: string) =>
      out.push({rule, id: image.id, score: round(score), threshold: round(threshold), message})
    if (m.brightP99 < settings.dark)
      add('dark', m.brightP99, settings.dark, `dark ${f(m.brightP99)} < ${f(settings.dark)}`)
    const light = 1 - m.brightP5
    if (light < settings.light) add('light', light, settings.light, `light ${f(light)} < ${f(settings.light)}`)
    if (m.blur < settings.blurry) add('blurry', m.blur, settings.blurry, `blurry ${f(m.blur)} < ${f(settings.blurry)}`)
    if (m.entropy < settings.lowInformation)
      add(
        'low-information',
        m.entropy,
        settings.lowInformation,
        `low-information ${f(m.entropy)} < ${f(settings.lowInformation)} bits`,
      )
    const aspect = Math.min(m.width / m.height, m.height / m.width)
    if (aspect < settings.oddAspectRatio)
      add(
        'odd-aspect-ratio',
        aspect,
        settings.oddAspectRatio,
        `odd-aspect-ratio ${f(aspect)} < ${f(settings.oddAspectRatio)}`,
      )
    if (bounds) {
      const size = sizes[index]
      if (size < bounds.low)
        add('odd-size', size, bounds.low, `odd-size √(w·h) ${Math.round(size)} < ${Math.round(bounds.low)}`)
      else if (size > bounds.high)
        add('odd-size', size, bounds.high, `odd-size √(w·h) ${Math.round(size)} > ${Math.round(bounds.high)}`)
    }
    if (m.colour === 0) add('grayscale', 0, 0, 'grayscale (no coloured pixel)')
    const side = Math.min(m.width, m.height)
    if (side < minSide) add('low-resolution', side, minSide, `low-resolution ${side} px < ${minSide} px`)
    if (m.exif.gps) add('gps', 1, 0, 'gps: the file carries a location')
  })
  return out
}

function f(v: number): string {
  return String(round(v))
}

/**
 * The odd-size bounds of a list of sizes: [Q1 − k·IQR, Q3 + k·IQR] (numpy's linear percentiles), or undefined for
 * fewer than 4 sizes (no meaningful quartiles).
 */
export function sizeBounds(sizes: readonly number[], k: number): {low: number; high: number} | undefined {
  if (sizes.length < 4) return undefined
  const sorted = [...sizes].sort((a, b) => a - b)
  const q = (p: number) => {
    const at = (sorted.length - 1) * p
    const low = Math.floor(at)
    const high = Math.min(low + 1, sorted.length - 1)
    return sorted[low] + (sorted[high] - sorted[low]) * (at - low)
  }
  const q1 = q(0.25)
  const q3 = q(0.75)
  return {low: q1 - k * (q3 - q1), high: q3 + k * (q3 - q1)}
}

/**
 * Parses a cached measures record.
 * @returns the record, or undefined when it is not one of this version for this image (then it is measured again)
 */
export function parseMeasures(text: string, sha256: string): ImageMeasures | undefined {
  try {
    const m = JSON.parse(text) as Partial<ImageMeasures>
    if (m.version !== CURATION_VERSION || m.sha256 !== sha256) return undefined
    const numbers = [m.width, m.height, m.brightP99, m.brightP5, m.entropy, m.blur, m.colour]
    if (!numbers.every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined
    if (typeof m.phash !== 'string' || !/^[0-9a-f]{16}$/u.test(m.phash) || typeof m.pixels !== 'string')
      return undefined
    if (!m.exif || typeof m.exif !== 'object' || typeof m.exif.gps !== 'boolean') return undefined
    return m as ImageMeasures
  } catch {
    return undefined
  }
}
