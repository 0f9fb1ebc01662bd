/**
 * Writes images with generator metadata laid out as each format documents it (PNG spec §11.3.4 text chunks, EXIF
 * 2.32 UserComment in a JPEG APP1 segment, JPEG COM), for the embedded-prompt tests (issue 14). The pixels come
 * from sharp, so the files are real, decodable images.
 */
import sharp from 'sharp'
import {crc32, deflateSync} from 'node:zlib'

/** A PNG text chunk to write: `tEXt` (Latin-1), `zTXt` (deflated Latin-1) or `iTXt` (UTF-8, deflated or not). */
export type TextChunk =
  | {type: 'tEXt'; key: string; text: string}
  | {type: 'zTXt'; key: string; text: string}
  | {type: 'iTXt'; key: string; text: string; compressed: boolean}

/** One PNG chunk: length, type, data, CRC of type and data (a wrong `crc` when `badCrc`). */
export function pngChunk(type: string, data: Buffer, badCrc = false): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE((crc32(Buffer.concat([head.subarray(4), data])) ^ (badCrc ? 1 : 0)) >>> 0, 0)
  return Buffer.concat([head, data, crc])
}

/** The data of a text chunk. */
export function textChunkData(chunk: TextChunk): Buffer {
  const key = Buffer.from(chunk.key + '\0', 'latin1')
  if (chunk.type === 'tEXt') return Buffer.concat([key, Buffer.from(chunk.text, 'latin1')])
  if (chunk.type === 'zTXt')
    return Buffer.concat([key, Buffer.from([0]), deflateSync(Buffer.from(chunk.text, 'latin1'))])
  const text = Buffer.from(chunk.text, 'utf8')
  return Buffer.concat([
    key,
    Buffer.from([chunk.compressed ? 1 : 0, 0]),
    Buffer.from('en\0\0', 'latin1'),
    chunk.compressed ? deflateSync(text) : text,
  ])
}

/** A tiny real PNG (4×4) with `chunks` (already framed) inserted after IHDR. */
export async function pngWith(chunks: Buffer[]): Promise<Buffer> {
  const base = await sharp({create: {width: 4, height: 4, channels: 3, background: {r: 200, g: 30, b: 30}}})
    .png()
    .toBuffer()
  // Signature (8) + IHDR (12 + 13).
  return Buffer.concat([base.subarray(0, 33), ...chunks, base.subarray(33)])
}

/** A PNG holding the text chunks given. */
export async function pngWithText(chunks: TextChunk[]): Promise<Buffer> {
  return pngWith(chunks.map((c) => pngChunk(c.type, textChunkData(c))))
}

/**
 * A TIFF/EXIF block: IFD0 with an Exif IFD pointer (0x8769), the Exif IFD with a UserComment (0x9286, UNDEFINED)
 * of `comment` (its 8-byte character code included), in the byte order given.
 */
export function exifWithUserComment(comment: Buffer, order: 'II' | 'MM'): Buffer {
  const le = order === 'II'
  const b = Buffer.alloc(8 + 18 + 18 + comment.length)
  const u16 = (v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at))
  const u32 = (v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at))
  b.write(order, 0, 'latin1')
  u16(42, 2)
  u32(8, 4)
  // IFD0 at 8: one entry, the Exif IFD pointer.
  u16(1, 8)
  u16(0x8769, 10)
  u16(4, 12)
  u32(1, 14)
  u32(26, 18)
  u32(0, 22)
  // Exif IFD at 26: one entry, UserComment, its value at 44.
  u16(1, 26)
  u16(0x9286, 28)
  u16(7, 30)
  u32(comment.length, 32)
  u32(44, 36)
  u32(0, 40)
  comment.copy(b, 44)
  return b
}

/** `UNICODE\0` + UTF-16 of `text` in the byte order given (no BOM), as A1111 (piexif) and others write it. */
export function unicodeComment(text: string, order: 'le' | 'be'): Buffer {
  const body = Buffer.from(text, 'utf16le')
  if (order === 'be') body.swap16()
  return Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), body])
}

/** A JPEG segment: marker, length, data. */
export function jpegSegment(marker: number, data: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0])
  head.writeUInt16BE(data.length + 2, 2)
  return Buffer.concat([head, data])
}

/** A tiny real JPEG (8×8) with `segments` inserted after SOI. */
export async function jpegWith(segments: Buffer[]): Promise<Buffer> {
  const base = await sharp({create: {width: 8, height: 8, channels: 3, background: {r: 30, g: 200, b: 30}}})
    .jpeg()
    .toBuffer()
  return Buffer.concat([base.subarray(0, 2), ...segments, base.subarray(2)])
}

/** A JPEG whose APP1 EXIF holds `comment` as its UserComment. */
export async function jpegWithUserComment(comment: Buffer, order: 'II' | 'MM'): Promise<Buffer> {
  return jpegWith([
    jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exifWithUserComment(comment, order)])),
  ])
}

/** AUTOMATIC1111 infotext as `modules/processing.py` `create_infotext` lays it out. */
export const A1111_TEXT =
  '1girl, (red hair:1.2), ((smile)), [blurry], <lora:detail:0.8>, pokemon \\(creature\\)\nBREAK outdoors\n' +
  'Negative prompt: lowres, (bad hands:1.3)\n' +
  'Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x768, Model: anything-v3'

/** A ComfyUI API graph with two samplers (a base pass and a hires pass), a ConditioningCombine and a text node. */
export const COMFY_TWO_SAMPLERS = {
  '3': {
    class_type: 'KSampler',
    inputs: {seed: 1, steps: 20, model: ['4', 0], positive: ['10', 0], negative: ['7', 0], latent_image: ['5', 0]},
  },
  '4': {class_type: 'CheckpointLoaderSimple', inputs: {ckpt_name: 'model.safetensors'}},
  '5': {class_type: 'EmptyLatentImage', inputs: {width: 512, height: 512, batch_size: 1}},
  '6': {class_type: 'CLIPTextEncode', inputs: {text: 'a cat, (sitting:1.1)', clip: ['4', 1]}},
  '7': {class_type: 'CLIPTextEncode', inputs: {text: 'blurry, lowres', clip: ['4', 1]}},
  '8': {class_type: 'CLIPTextEncode', inputs: {text: ['9', 0], clip: ['4', 1]}},
  '9': {class_type: 'PrimitiveString', inputs: {value: 'sunset, orange sky'}},
  '10': {class_type: 'ConditioningCombine', inputs: {conditioning_1: ['6', 0], conditioning_2: ['8', 0]}},
  '11': {
    class_type: 'KSamplerAdvanced',
    inputs: {model: ['4', 0], positive: ['12', 0], negative: ['13', 0], latent_image: ['3', 0]},
  },
  '12': {class_type: 'CLIPTextEncode', inputs: {text: 'highly detailed fur', clip: ['4', 1]}},
  '13': {class_type: 'CLIPTextEncode', inputs: {text: 'jpeg artifacts', clip: ['4', 1]}},
  '14': {class_type: 'SaveImage', inputs: {images: ['15', 0], filename_prefix: 'ComfyUI'}},
}
