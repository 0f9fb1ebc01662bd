/**
 * Reads the shape of an ONNX model's first graph input without loading the model: a walk over the protobuf wire
 * format (https://protobuf.dev/programming-guides/encoding/) that skips every field it does not need by its length,
 * so a 1 GB model costs a few small reads. Pure: the bytes come from a `ByteSource` the caller opens.
 *
 * The messages and field numbers are ONNX's `onnx/onnx.proto` (the same ones `onnx-proto`'s generated classes use;
 * test/unit/onnx-shape.test.ts checks this reader against models that package writes):
 * - ModelProto: `graph = 7` (GraphProto)
 * - GraphProto: `input = 11` (repeated ValueInfoProto); `initializer = 5` (the weights) comes earlier and is skipped
 * - ValueInfoProto: `name = 1`, `type = 2` (TypeProto)
 * - TypeProto: `tensor_type = 1` (TypeProto.Tensor: `elem_type = 1`, `shape = 2`)
 * - TensorShapeProto: `dim = 1` (repeated Dimension: `dim_value = 1` int64, `dim_param = 2` string)
 */

/** Random access to a file's bytes (the fs adapter's `openByteSource`). */
export interface ByteSource {
  /** The size in bytes. */
  readonly size: number
  /** `length` bytes at `offset` (fewer only at the end of the file). */
  read(offset: number, length: number): Uint8Array
}

/** The first input of an ONNX graph. */
export interface OnnxInput {
  /** The input's name (`input_1:0` in the WD14 taggers). */
  name: string
  /** ONNX's TensorProto.DataType number (1 = float32); null when not stated. */
  elemType: number | null
  /** Each dimension: a number, a symbolic name (`batch`, `unk__1`), or null when neither is stated. */
  dims: (number | string | null)[]
}

/** The model file is not an ONNX model this reader understands. */
export class OnnxFormatError extends Error {}

const WIRE_VARINT = 0
const WIRE_64 = 1
const WIRE_LEN = 2
const WIRE_32 = 5

/** A field found while walking a message: its number, wire type, and where its value lies. */
interface Field {
  number: number
  wire: number
  /** For a varint: its value; else the value's start offset. */
  value: number
  /** For a length-delimited field: the length of the value. */
  length: number
}

/** Reads a varint at `offset`; returns its value (exact up to 2^53) and the offset after it. */
function readVarint(read: (offset: number) => number, offset: number): [number, number] {
  let result = 0
  let scale = 1
  for (let i = 0; i < 10; i++) {
    const byte = read(offset + i)
    result += (byte & 0x7f) * scale
    if ((byte & 0x80) === 0) return [result, offset + i + 1]
    scale *= 128
  }
  throw new OnnxFormatError(`bad varint at byte ${offset}`)
}

/** Walks the fields of the message at [start, end), calling `visit` for each; stops when it returns true. */
function walk(byteAt: (offset: number) => number, start: number, end: number, visit: (f: Field) => boolean): void {
  let at = start
  while (at < end) {
    const [key, afterKey] = readVarint(byteAt, at)
    const number = Math.floor(key / 8)
    const wire = key % 8
    if (number === 0) throw new OnnxFormatError(`field number 0 at byte ${at}`)
    let field: Field
    if (wire === WIRE_VARINT) {
      const [value, next] = readVarint(byteAt, afterKey)
      field = {number, wire, value, length: 0}
      at = next
    } else if (wire === WIRE_LEN) {
      const [length, next] = readVarint(byteAt, afterKey)
      field = {number, wire, value: next, length}
      at = next + length
    } else if (wire === WIRE_64) {
      field = {number, wire, value: afterKey, length: 8}
      at = afterKey + 8
    } else if (wire === WIRE_32) {
      field = {number, wire, value: afterKey, length: 4}
      at = afterKey + 4
    } else {
      throw new OnnxFormatError(`unsupported wire type ${wire} at byte ${at}`)
    }
    if (at > end) throw new OnnxFormatError(`field ${number} runs past the end of its message (byte ${end})`)
    if (visit(field)) return
  }
}

/** The first length-delimited field `number` of the message at [start, end), or undefined. */
function firstLen(byteAt: (offset: number) => number, start: number, end: number, number: number): Field | undefined {
  let found: Field | undefined
  walk(byteAt, start, end, (f) => {
    if (f.number === number && f.wire === WIRE_LEN) found = f
    return found !== undefined
  })
  return found
}

/**
 * Reads the name, element type and dimensions of graph.input[0] of the ONNX model in `source`.
 * @throws OnnxFormatError when the bytes are not a model with a graph input (a truncated file, another format)
 */
export function readOnnxInput(source: ByteSource): OnnxInput {
  // Bytes are read in blocks of 64 KiB around what the walk touches; skipped fields are never read.
  const block = 1 << 16
  let cacheStart = -1
  let cache: Uint8Array = new Uint8Array(0)
  const byteAt = (offset: number): number => {
    if (offset >= source.size) throw new OnnxFormatError(`unexpected end of file at byte ${offset}`)
    if (offset < cacheStart || offset >= cacheStart + cache.length) {
      cacheStart = offset
      cache = source.read(offset, Math.min(block, source.size - offset))
      if (cache.length === 0) throw new OnnxFormatError(`unexpected end of file at byte ${offset}`)
    }
    return cache[offset - cacheStart]
  }
  const bytes = (start: number, length: number): Uint8Array => {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = byteAt(start + i)
    return out
  }
  const graph = firstLen(byteAt, 0, source.size, 7)
  if (!graph) throw new OnnxFormatError('no graph (ModelProto field 7)')
  const input = firstLen(byteAt, graph.value, graph.value + graph.length, 11)
  if (!input) throw new OnnxFormatError('the graph has no input (GraphProto field 11)')
  const inputEnd = input.value + input.length
  const nameField = firstLen(byteAt, input.value, inputEnd, 1)
  const name = nameField ? new TextDecoder().decode(bytes(nameField.value, nameField.length)) : ''
  const type = firstLen(byteAt, input.value, inputEnd, 2)
  const tensor = type && firstLen(byteAt, type.value, type.value + type.length, 1)
  if (!tensor) throw new OnnxFormatError(`input "${name}" is not a tensor`)
  let elemType: number | null = null
  let shape: Field | undefined
  walk(byteAt, tensor.value, tensor.value + tensor.length, (f) => {
    if (f.number === 1 && f.wire === WIRE_VARINT) elemType = f.value
    if (f.number === 2 && f.wire === WIRE_LEN) shape = f
    return false
  })
  const dims: (number | string | null)[] = []
  if (shape) {
    walk(byteAt, shape.value, shape.value + shape.length, (d) => {
      if (d.number !== 1 || d.wire !== WIRE_LEN) return false
      let dim: number | string | null = null
      walk(byteAt, d.value, d.value + d.length, (f) => {
        if (f.number === 1 && f.wire === WIRE_VARINT) dim = f.value
        if (f.number === 2 && f.wire === WIRE_LEN) dim = new TextDecoder().decode(bytes(f.value, f.length))
        return false
      })
      dims.push(dim)
      return false
    })
  }
  return {name, elemType, dims}
}

/**
 * The square image size an input takes: H of `[batch, H, W, 3]` (NHWC, the WD14 taggers) or of `[batch, 3, H, W]`
 * (NCHW) when H = W; null for any other shape.
 */
export function imageInputSize(dims: readonly (number | string | null)[]): number | null {
  if (dims.length !== 4) return null
  const [, a, b, c] = dims
  if (c === 3 && typeof a === 'number' && a === b) return a
  if (a === 3 && typeof b === 'number' && b === c) return b
  return null
}
