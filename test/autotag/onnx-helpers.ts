/**
 * The pieces every ONNX test model is built from (onnx-proto): float tensors, typed inputs and outputs, and writing
 * `model.onnx` (IR 8, opset 13) and a WD14 `selected_tags.csv` into a model folder.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import onnxProto from 'onnx-proto'

const {onnx} = onnxProto

/** A float32 initializer. */
export function floatTensor(name: string, dims: number[], data: ArrayLike<number>): onnxProto.onnx.TensorProto {
  return onnx.TensorProto.create({name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(data)})
}

/** A float32 graph input or output; a string dimension is symbolic (`batch`). */
export function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: 1,
        shape: {dim: dims.map((x) => (typeof x === 'string' ? {dimParam: x} : {dimValue: x}))},
      },
    },
  })
}

/** Writes `graph` as `dir/model.onnx` (IR 8, opset 13), making `dir`. */
export async function writeOnnxModel(dir: string, graph: onnxProto.onnx.GraphProto): Promise<void> {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{domain: '', version: 13}],
    producerName: 'test',
    graph,
  })
  await fsp.mkdir(dir, {recursive: true})
  await fsp.writeFile(join(dir, 'model.onnx'), onnx.ModelProto.encode(model).finish())
}

/** Writes `dir/selected_tags.csv`: the WD14 header, then `rows` (`tag_id,name,category,count`). */
export async function writeSelectedTags(dir: string, rows: string[]): Promise<void> {
  await fsp.writeFile(join(dir, 'selected_tags.csv'), ['tag_id,name,category,count', ...rows].join('\n') + '\n')
}
