// WD14-shaped taggers for the autotag benchmark, built with onnx-proto (nothing downloaded). Input `[batch, S, S, 3]`
// float32 NHWC as the WD14 taggers; a transpose to NCHW, a 4×4 stride-4 "patchify" stem, 3×3 convolutions (ReLU)
// in stages, global average pooling, a dense layer and a sigmoid: `[batch, tags]`. Weights are fixed pseudo-random
// numbers; the scores mean nothing. Two costs (FLOPs = 2 × multiply-adds, counted over the convolutions; the rest is
// negligible):
// - `realistic` (default): shaped like a ConvNeXt-B, the architecture of the cheapest WD14 taggers (stages at 1/4,
//   1/8, 1/16, 1/32 of the input with 128, 256, 512, 1024 channels, 2-2-24-2 convolutions, a 2×2 stride-2
//   convolution between stages): 113.6 GFLOP per image at 448 and 316 MB of weights. The real ConvNeXt-B costs 45.2
//   G multiply-adds at 384×384 (timm model card `convnext_base.fb_in22k_ft_in1k_384`), 61.5 G at 448 (convolutions
//   scale with the pixel count): 123 GFLOP per image, so this model costs a little less than the cheapest real one.
// - `small`: the benchmark's first model: the stem to 96 channels and two 3×3 convolutions at 1/4: 4.28 GFLOP per
//   image, 0.66 MB.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import onnxProto from 'onnx-proto'

const {onnx} = onnxProto

/** The model costs `writeConvModel` builds. */
export const MODEL_COSTS = ['realistic', 'small']

/** Stages per cost: channels and number of 3×3 convolutions, the first at 1/4 of the input, each next at half. */
const STAGES = {
  realistic: [
    {channels: 128, convs: 2},
    {channels: 256, convs: 2},
    {channels: 512, convs: 24},
    {channels: 1024, convs: 2},
  ],
  small: [{channels: 96, convs: 2}],
}

/** FLOPs (2 × multiply-adds) of the convolutions per image of side `size` for a model `cost`. */
export function convModelFlops(size = 448, cost = 'realistic') {
  const stages = STAGES[cost]
  let side = size / 4
  let flops = 2 * side ** 2 * 48 * stages[0].channels
  for (const [i, {channels, convs}] of stages.entries()) {
    if (i > 0) {
      side /= 2
      flops += 2 * side ** 2 * 4 * stages[i - 1].channels * channels
    }
    flops += convs * 2 * side ** 2 * 9 * channels ** 2
  }
  return flops
}

/**
 * Writes model.onnx and selected_tags.csv (4 ratings, then general tags `tag_N`) into `dir`; returns `dir`.
 * @param cost `realistic` or `small` (MODEL_COSTS)
 */
export function writeConvModel(dir, size = 448, tags = 24, cost = 'realistic') {
  const stages = STAGES[cost]
  if (!stages) throw new Error(`unknown model cost ${cost}: ${MODEL_COSTS.join(', ')}`)
  let seed = 1
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31 - 0.5
  }
  // Weights as raw little-endian float32 (a 316 MB model as a list of numbers would not fit in a JavaScript array).
  const floats = (n, scale) => {
    const data = new Float32Array(n)
    for (let i = 0; i < n; i++) data[i] = random() * scale
    return Buffer.from(data.buffer)
  }
  const initializer = []
  const weight = (name, dims, scale) => {
    const n = dims.reduce((a, b) => a * b, 1)
    initializer.push(
      onnx.TensorProto.create({name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: floats(n, scale)}),
    )
    return name
  }
  const info = (name, dims) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: 1,
          shape: {dim: dims.map((x) => (typeof x === 'string' ? {dimParam: x} : {dimValue: x}))},
        },
      },
    })
  const nodes = []
  let n = 0
  const node = (opType, input, attribute = []) => {
    const output = `t${n++}`
    nodes.push(onnx.NodeProto.create({opType, input, output: [output], attribute}))
    return output
  }
  const ints = (name, values) => ({name, type: onnx.AttributeProto.AttributeType.INTS, ints: values})
  // Weight scale: `realistic` as He initialisation (variance 2 / fan-in; uniform in ±s/2 has variance s²/12), so the
  // activations of 31 layers stay normal floats (checked: no subnormal value at any depth; subnormals would make the
  // CPU far slower than on a real model). `small` keeps its first weights.
  const weightScale = (from, kernel) =>
    cost === 'small' ? (kernel === 4 ? 0.01 : 0.05) : Math.sqrt(24 / (from * kernel * kernel))
  const conv = (x, from, to, kernel, stride, pad) =>
    node('Relu', [
      node(
        'Conv',
        [x, weight(`w${n}`, [to, from, kernel, kernel], weightScale(from, kernel)), weight(`b${n}`, [to], 0.1)],
        [ints('kernel_shape', [kernel, kernel]), ints('strides', [stride, stride]), ints('pads', [pad, pad, pad, pad])],
      ),
    ])
  let x = node('Transpose', ['input_1'], [ints('perm', [0, 3, 1, 2])])
  x = conv(x, 3, stages[0].channels, 4, 4, 0)
  for (const [i, {channels, convs}] of stages.entries()) {
    if (i > 0) x = conv(x, stages[i - 1].channels, channels, 2, 2, 0)
    for (let k = 0; k < convs; k++) x = conv(x, channels, channels, 3, 1, 1)
  }
  const last = stages.at(-1).channels
  const flat = node('Flatten', [node('GlobalAveragePool', [x])])
  const logits = node('Add', [node('MatMul', [flat, weight('dense', [last, tags], 0.01)]), weight('bias', [tags], 1)])
  nodes.push(onnx.NodeProto.create({opType: 'Sigmoid', input: [logits], output: ['predictions_sigmoid']}))
  const graph = onnx.GraphProto.create({
    name: 'conv-tagger',
    node: nodes,
    initializer,
    input: [info('input_1', ['batch', size, size, 3])],
    output: [info('predictions_sigmoid', ['batch', tags])],
  })
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{domain: '', version: 13}],
    producerName: 'bench',
    graph,
  })
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, 'model.onnx'), onnx.ModelProto.encode(model).finish())
  const names = ['general', 'sensitive', 'questionable', 'explicit']
  const rows = Array.from({length: tags}, (_, i) =>
    i < 4 ? `${9000 + i},${names[i]},9,0` : `${1000 + i},tag_${i},0,${tags - i}`,
  )
  writeFileSync(join(dir, 'selected_tags.csv'), ['tag_id,name,category,count', ...rows].join('\n') + '\n')
  return dir
}
