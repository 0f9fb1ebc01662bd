// A WD14-shaped tagger of realistic cost for the autotag benchmark, built with onnx-proto (nothing downloaded).
// Input `[batch, S, S, 3]` float32 NHWC, as the WD14 taggers; shaped like a small ConvNeXt/ViT: a transpose to NCHW,
// a 4×4 stride-4 "patchify" stem (3 → C channels, S/4 × S/4), two 3×3 convolutions C → C (ReLU), global average
// pooling, a dense layer and a sigmoid: `[batch, tags]`. FLOPs per image (the convolutions; the rest is negligible):
// 2·(S/4)²·(48·C + 18·C²), 4.28 G at S = 448 and C = 96 (the real WD14 models cost far more: a ViT-B at 448 is
// about 70 G multiply-adds). Weights are fixed pseudo-random numbers; the scores mean nothing.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import onnxProto from 'onnx-proto'

const {onnx} = onnxProto

/** Channels of the convolutions. */
const C = 96

/** FLOPs (2 × multiply-adds) of the convolutions per image of side `size`. */
export function convModelFlops(size = 448) {
  return 2 * (size / 4) ** 2 * (48 * C + 18 * C * C)
}

/** Writes model.onnx and selected_tags.csv (4 ratings, then general tags `tag_N`) into `dir`; returns `dir`. */
export function writeConvModel(dir, size = 448, tags = 24) {
  let seed = 1
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31 - 0.5
  }
  const floats = (n, scale) => Array.from({length: n}, () => random() * scale)
  const tensor = (name, dims, data) =>
    onnx.TensorProto.create({name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: data})
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
  const node = (opType, input, output, attribute = []) => onnx.NodeProto.create({opType, input, output, attribute})
  const ints = (name, values) => ({name, type: onnx.AttributeProto.AttributeType.INTS, ints: values})
  const conv = [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])]
  const stem = [ints('kernel_shape', [4, 4]), ints('strides', [4, 4])]
  const graph = onnx.GraphProto.create({
    name: 'conv-tagger',
    node: [
      node('Transpose', ['input_1'], ['nchw'], [ints('perm', [0, 3, 1, 2])]),
      node('Conv', ['nchw', 'w0', 'b0'], ['c0'], stem),
      node('Relu', ['c0'], ['r0']),
      node('Conv', ['r0', 'w1', 'b1'], ['c1'], conv),
      node('Relu', ['c1'], ['r1']),
      node('Conv', ['r1', 'w2', 'b2'], ['c2'], conv),
      node('Relu', ['c2'], ['r2']),
      node('GlobalAveragePool', ['r2'], ['pool']),
      node('Flatten', ['pool'], ['flat']),
      node('MatMul', ['flat', 'w3'], ['mm']),
      node('Add', ['mm', 'b3'], ['logits']),
      node('Sigmoid', ['logits'], ['predictions_sigmoid']),
    ],
    initializer: [
      tensor('w0', [C, 3, 4, 4], floats(C * 48, 0.01)),
      tensor('b0', [C], floats(C, 0.1)),
      tensor('w1', [C, C, 3, 3], floats(C * C * 9, 0.05)),
      tensor('b1', [C], floats(C, 0.1)),
      tensor('w2', [C, C, 3, 3], floats(C * C * 9, 0.05)),
      tensor('b2', [C], floats(C, 0.1)),
      tensor('w3', [C, tags], floats(C * tags, 0.01)),
      tensor('b3', [tags], floats(tags, 1)),
    ],
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
