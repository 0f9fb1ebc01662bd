/**
 * Aesthetic scoring for `lora curate --aesthetic-model DIR` (pure): the `preprocess.json` that says how any model
 * mapping one image to one score wants its input, and the conversion of resized RGB pixels to that input.
 *
 * `preprocess.json`: `{"size": 224 | [H, W], "resize": "squash" | "crop" | "pad", "channels": "RGB" | "BGR",
 * "mean": [r, g, b], "std": [r, g, b], "layout": "NCHW" | "NHWC", "range": 1 | 255}`; `range` (default 1) is what
 * 8-bit 255 becomes before the mean is subtracted and the result divided by std (CLIP-based predictors: range 1,
 * mean [0.4815, 0.4578, 0.4082], std [0.2686, 0.2613, 0.2758]).
 */
import {UsageError} from '../errors.js'

/** A parsed preprocess.json. */
export interface AestheticPreprocess {
  height: number
  width: number
  /** squash: stretched to the size; crop: scaled to cover, centre cropped; pad: scaled to fit, padded with black. */
  resize: 'squash' | 'crop' | 'pad'
  channels: 'RGB' | 'BGR'
  mean: [number, number, number]
  std: [number, number, number]
  layout: 'NCHW' | 'NHWC'
  range: number
}

/**
 * Parses preprocess.json.
 * @throws UsageError naming the file and the field that is missing or wrong
 */
export function parsePreprocess(text: string, source: string): AestheticPreprocess {
  const fail = (what: string): never => {
    throw new UsageError(
      `${source}: ${what}.`,
      'It must be {"size": 224, "resize": "squash|crop|pad", "channels": "RGB|BGR", "mean": [r, g, b], "std": [r, g, b], "layout": "NCHW|NHWC"} (README "lora curate").',
    )
  }
  let doc: Record<string, unknown> = {}
  try {
    const parsed = JSON.parse(text) as unknown
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) fail('not a JSON object')
    doc = parsed as Record<string, unknown>
  } catch (error) {
    if (error instanceof UsageError) throw error
    fail(`not JSON (${(error as Error).message})`)
  }
  const positive = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 4096
  const size = doc.size
  const [height, width] = positive(size)
    ? [size as number, size as number]
    : Array.isArray(size) && size.length === 2 && size.every(positive)
      ? (size as [number, number])
      : fail('"size" is not a whole number of pixels or [height, width]')
  const oneOf = <T extends string>(key: string, values: readonly T[]): T =>
    values.includes(doc[key] as T) ? (doc[key] as T) : fail(`"${key}" is not one of ${values.join(', ')}`)
  const triple = (key: string, nonZero: boolean): [number, number, number] => {
    const v = doc[key]
    return Array.isArray(v) &&
      v.length === 3 &&
      v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!nonZero || x !== 0))
      ? (v as [number, number, number])
      : fail(`"${key}" is not three numbers${nonZero ? ' other than 0' : ''}`)
  }
  const range = doc.range ?? 1
  if (range !== 1 && range !== 255) fail('"range" is not 1 or 255')
  return {
    height,
    width,
    resize: oneOf('resize', ['squash', 'crop', 'pad'] as const),
    channels: oneOf('channels', ['RGB', 'BGR'] as const),
    mean: triple('mean', false),
    std: triple('std', true),
    layout: oneOf('layout', ['NCHW', 'NHWC'] as const),
    range: range as number,
  }
}

/**
 * The model input of one image: `rgb` (8-bit RGB, `height × width` of `pre`, row-major) scaled to `range`,
 * normalised per channel ((v − mean) / std), in `channels` order and `layout`.
 */
export function aestheticInput(rgb: ArrayLike<number>, pre: AestheticPreprocess): Float32Array {
  const pixels = pre.height * pre.width
  const out = new Float32Array(pixels * 3)
  const order = pre.channels === 'RGB' ? [0, 1, 2] : [2, 1, 0]
  for (let p = 0; p < pixels; p++)
    for (let c = 0; c < 3; c++) {
      const source = order[c]
      const v = ((rgb[p * 3 + source] / 255) * pre.range - pre.mean[source]) / pre.std[source]
      out[pre.layout === 'NHWC' ? p * 3 + c : c * pixels + p] = v
    }
  return out
}
