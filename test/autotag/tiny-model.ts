/**
 * Tiny WD14-shaped tagger models, built in the test with onnx-proto (nothing downloaded): input `[batch, S, S, 3]`
 * float32 (NHWC, BGR, 0–255), output `[batch, tags]` where tag t scores sigmoid((mean of channel c over region
 * R − 128) / 32). Each tag reads one channel of one region, so channel order, padding colour, alpha, size,
 * orientation and layout mistakes each move some score. `expectedScores` computes the same scores independently
 * from an image's decoded pixels (sharp raw RGBA, composited, rotated and padded here in plain JavaScript).
 */
import onnxProto from 'onnx-proto'
import sharp from 'sharp'
import {floatTensor, valueInfo, writeOnnxModel, writeSelectedTags} from './onnx-helpers.js'

const {onnx} = onnxProto

/** One output: a channel of the model input (0 = B, 1 = G, 2 = R: BGR) over a region in fractions of the side. */
export interface ProbeTag {
  name: string
  category: number
  channel: 0 | 1 | 2
  /** [top, bottom) and [left, right) as fractions of the (square) input; multiples of 1/8. */
  rows: [number, number]
  cols: [number, number]
}

/** The probe tags of the tests: four ratings, general tags, one character tag. */
export const PROBES: ProbeTag[] = [
  {name: 'general', category: 9, channel: 0, rows: [0, 1], cols: [0, 1]},
  {name: 'sensitive', category: 9, channel: 2, rows: [0, 1], cols: [0, 1]},
  {name: 'questionable', category: 9, channel: 1, rows: [0, 1], cols: [0, 1]},
  {name: 'explicit', category: 9, channel: 1, rows: [0, 1 / 8], cols: [0, 1 / 8]},
  {name: 'blue_whole', category: 0, channel: 0, rows: [0, 1], cols: [0, 1]},
  {name: 'red_whole', category: 0, channel: 2, rows: [0, 1], cols: [0, 1]},
  {name: 'top_band', category: 0, channel: 1, rows: [0, 1 / 8], cols: [0, 1]},
  {name: 'left_blue', category: 0, channel: 0, rows: [0, 1], cols: [0, 1 / 2]},
  {name: 'centre_green', category: 0, channel: 1, rows: [3 / 8, 5 / 8], cols: [1 / 4, 3 / 4]},
  {name: 'top_left_red', category: 0, channel: 2, rows: [1 / 8, 1 / 2], cols: [0, 1 / 2]},
  {name: 'bottom_right_red', category: 4, channel: 2, rows: [1 / 2, 7 / 8], cols: [1 / 2, 1]},
]

/** Writes model.onnx and selected_tags.csv for input size `size` into `dir`; returns `dir`. */
export async function writeTinyModel(dir: string, size: number, probes: ProbeTag[] = PROBES): Promise<string> {
  const d = size * size * 3
  const k = probes.length
  const w = new Float32Array(d * k)
  for (const [t, p] of probes.entries()) {
    const [r0, r1, c0, c1] = [p.rows[0] * size, p.rows[1] * size, p.cols[0] * size, p.cols[1] * size]
    const count = (r1 - r0) * (c1 - c0)
    for (let y = r0; y < r1; y++)
      for (let x = c0; x < c1; x++) w[((y * size + x) * 3 + p.channel) * k + t] = 1 / (32 * count)
  }
  const graph = onnx.GraphProto.create({
    name: 'probe',
    node: [
      onnx.NodeProto.create({opType: 'Reshape', input: ['input_1', 'shape'], output: ['flat']}),
      onnx.NodeProto.create({opType: 'MatMul', input: ['flat', 'w'], output: ['mm']}),
      onnx.NodeProto.create({opType: 'Add', input: ['mm', 'b'], output: ['logits']}),
      onnx.NodeProto.create({opType: 'Sigmoid', input: ['logits'], output: ['predictions_sigmoid']}),
    ],
    initializer: [
      onnx.TensorProto.create({
        name: 'shape',
        dims: [2],
        dataType: onnx.TensorProto.DataType.INT64,
        int64Data: [-1, d],
      }),
      floatTensor('w', [d, k], w),
      floatTensor('b', [k], new Array<number>(k).fill(-4)),
    ],
    input: [valueInfo('input_1', ['batch', size, size, 3])],
    output: [valueInfo('predictions_sigmoid', ['batch', k])],
  })
  await writeOnnxModel(dir, graph)
  await writeSelectedTags(
    dir,
    probes.map((p, i) => `${1000 + i},${p.name},${p.category},${100 - i}`),
  )
  return dir
}

/** Decoded pixels, RGB, row-major. */
interface Rgb {
  width: number
  height: number
  data: Float64Array
}

/**
 * The scores a correct tagger input of `size × size` gives, computed here from the file's stored pixels: alpha
 * composited onto white, `rotate` quarter turns clockwise applied (the EXIF orientation the file carries: 6 → 1),
 * padded with ⌊pad/2⌋ white source pixels on the left and top (kohya's `np.pad`) and scaled so that its longer side
 * is `size`, each of its edges rounded to a whole output pixel; each probe's mean over its region of the square, BGR. The
 * image part of a region is the area mean of the source pixels it covers (a resize keeps it), with fractional
 * coverage at its edges; the rest is white.
 */
export async function expectedScores(
  file: string,
  size: number,
  rotate = 0,
  probes: ProbeTag[] = PROBES,
): Promise<number[]> {
  const {data, info} = await sharp(file).ensureAlpha().raw().toBuffer({resolveWithObject: true})
  let img: Rgb = {width: info.width, height: info.height, data: new Float64Array(info.width * info.height * 3)}
  for (let p = 0, q = 0; p < data.length; p += 4, q += 3) {
    const a = data[p + 3] / 255
    for (let c = 0; c < 3; c++) img.data[q + c] = data[p + c] * a + 255 * (1 - a)
  }
  for (let r = 0; r < rotate; r++) img = rotateClockwise(img)
  const side = Math.max(img.width, img.height)
  // kohya: ⌊pad/2⌋ source pixels before the image, then everything scaled by size / side; each edge rounded.
  const edges = (extent: number) => {
    const before = (Math.floor((side - extent) / 2) * size) / side
    const start = Math.round(before)
    return [start, Math.max(1, Math.round(before + (extent * size) / side) - start)]
  }
  const [left, w] = edges(img.width)
  const [top, h] = edges(img.height)
  // Source pixels per output pixel, across and down.
  const sx = img.width / w
  const sy = img.height / h
  return probes.map((p) => {
    const rgbChannel = 2 - p.channel
    const [y0, y1] = [p.rows[0] * size, p.rows[1] * size]
    const [x0, x1] = [p.cols[0] * size, p.cols[1] * size]
    // The part of the region the image covers, in output pixels.
    const [iy0, iy1] = [Math.min(Math.max(y0, top), top + h), Math.min(Math.max(y1, top), top + h)]
    const [ix0, ix1] = [Math.min(Math.max(x0, left), left + w), Math.min(Math.max(x1, left), left + w)]
    const imageArea = Math.max(0, iy1 - iy0) * Math.max(0, ix1 - ix0)
    let imageSum = 0
    if (imageArea > 0) {
      const [ya, yb] = [(iy0 - top) * sy, (iy1 - top) * sy]
      const [xa, xb] = [(ix0 - left) * sx, (ix1 - left) * sx]
      let sum = 0
      for (let y = Math.floor(ya); y < Math.ceil(yb); y++) {
        const wy = Math.min(yb, y + 1) - Math.max(ya, y)
        for (let x = Math.floor(xa); x < Math.ceil(xb); x++) {
          const wx = Math.min(xb, x + 1) - Math.max(xa, x)
          sum += wy * wx * img.data[(y * img.width + x) * 3 + rgbChannel]
        }
      }
      // The sum over the covered output pixels of their area means.
      imageSum = sum / (sx * sy)
    }
    const mean = (imageSum + 255 * ((y1 - y0) * (x1 - x0) - imageArea)) / ((y1 - y0) * (x1 - x0))
    return 1 / (1 + Math.exp(-(mean - 128) / 32))
  })
}

function rotateClockwise(img: Rgb): Rgb {
  const out: Rgb = {width: img.height, height: img.width, data: new Float64Array(img.data.length)}
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++)
      for (let c = 0; c < 3; c++)
        out.data[(x * out.width + (img.height - 1 - y)) * 3 + c] = img.data[(y * img.width + x) * 3 + c]
  return out
}
