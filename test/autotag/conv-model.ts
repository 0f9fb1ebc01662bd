/**
 * A WD14-shaped tagger of realistic cost, built in the test with onnx-proto (nothing downloaded): input
 * `[batch, S, S, 3]` float32 NHWC, two 3×3 convolutions (3 → 16 → 16 channels, ReLU) at full resolution, global
 * average pooling, a dense layer and a sigmoid: `[batch, tags]`. At S = 448 that is about 1.1 GFLOP per image (at full
 * resolution: slow enough per batch for a signal to land between batches, even on an idle machine). The benchmark's
 * model (bench/autotag-model.js) is shaped like the real ones instead. Weights are fixed pseudo-random numbers; the
 * scores mean nothing.
 */
import onnxProto from 'onnx-proto'
import {floatTensor, valueInfo, writeOnnxModel, writeSelectedTags} from './onnx-helpers.js'

const {onnx} = onnxProto

/** Writes model.onnx and selected_tags.csv (4 ratings, then `tags - 4` general tags `tag_N`) into `dir`. */
export async function writeConvModel(dir: string, size = 448, tags = 24): Promise<string> {
  let seed = 1
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31 - 0.5
  }
  const floats = (n: number, scale: number) => Array.from({length: n}, () => random() * scale)
  const node = (opType: string, input: string[], output: string[], attribute: object[] = []) =>
    onnx.NodeProto.create({opType, input, output, attribute})
  const ints = (name: string, values: number[]) => ({name, type: onnx.AttributeProto.AttributeType.INTS, ints: values})
  const conv = [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])]
  const graph = onnx.GraphProto.create({
    name: 'conv-tagger',
    node: [
      node('Transpose', ['input_1'], ['nchw'], [ints('perm', [0, 3, 1, 2])]),
      node('Conv', ['nchw', 'w1', 'b1'], ['c1'], conv),
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
      floatTensor('w1', [16, 3, 3, 3], floats(16 * 27, 0.01)),
      floatTensor('b1', [16], floats(16, 0.1)),
      floatTensor('w2', [16, 16, 3, 3], floats(16 * 144, 0.1)),
      floatTensor('b2', [16], floats(16, 0.1)),
      floatTensor('w3', [16, tags], floats(16 * tags, 2)),
      floatTensor('b3', [tags], floats(tags, 1)),
    ],
    input: [valueInfo('input_1', ['batch', size, size, 3])],
    output: [valueInfo('predictions_sigmoid', ['batch', tags])],
  })
  await writeOnnxModel(dir, graph)
  const names = ['general', 'sensitive', 'questionable', 'explicit']
  await writeSelectedTags(
    dir,
    Array.from({length: tags}, (_, i) =>
      i < 4 ? `${9000 + i},${names[i]},9,0` : `${1000 + i},tag_${i},0,${tags - i}`,
    ),
  )
  return dir
}
