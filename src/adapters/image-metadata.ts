/**
 * Reads the metadata text that image generators embed (core/generation-prompt.ts tells which generator wrote it),
 * from the bytes of the file, with bounded reads: chunk and segment headers, and only the chunks that hold text,
 * never the pixel data of a huge file. The file is opened through adapters/fs.ts `openRegularForReadSync`: never
 * through a symbolic link, never a FIFO or device. A malformed chunk or segment is skipped, never an error.
 *
 * - PNG (PNG spec 1.2 §11.3.4, and 3rd edition for `eXIf`): `tEXt` (keyword, NUL, Latin-1 text), `zTXt` (keyword,
 *   NUL, method 0, zlib data; Latin-1), `iTXt` (keyword, NUL, compression flag, method, language tag NUL,
 *   translated keyword NUL, UTF-8 text, zlib-compressed when the flag is 1), `eXIf` (a TIFF/EXIF block). A chunk
 *   whose CRC does not match is skipped, as libpng does with ancillary chunks.
 * - JPEG: APP1 `Exif\0\0` segments (the EXIF UserComment) and COM segments, up to the first scan (SOS).
 * - WebP (RIFF): the `EXIF` chunk (with or without the `Exif\0\0` prefix).
 * - EXIF UserComment (EXIF 2.32 §4.6.5, tag 0x9286 in the Exif IFD): an 8-byte character code, then the text:
 *   `ASCII\0\0\0`, `UNICODE\0` (UTF-16: byte order from a BOM, else from where the zero bytes of ASCII characters
 *   fall, else the TIFF header's), or 8 NULs (undefined: read as UTF-8). AUTOMATIC1111 writes it with piexif's
 *   `UserComment.dump(text, encoding="unicode")` (big-endian UTF-16); other writers use the TIFF byte order.
 */
import {crc32, inflateSync} from 'node:zlib'
import {type GenerationPrompt, type MetadataFields, parseGenerationPrompt} from '../core/generation-prompt.js'
import {utf16OrderByZeros} from '../core/caption-encoding.js'
import {openRegularForReadSync, type RegularFileReader} from './fs.js'

/** The largest text chunk or EXIF block read, and the most text a compressed chunk may inflate to (bytes). */
const MAX_CHUNK = 8 * 1024 * 1024
/** The most text read from one file, all chunks together (bytes). */
const MAX_TOTAL = 16 * 1024 * 1024
/** The most chunks or segments looked at in one file (a PNG of tiny IDAT chunks stops here). */
const MAX_CHUNKS = 100_000

/**
 * The metadata text fields of the image at `path` (see core/generation-prompt.ts `MetadataFields` for the keys),
 * `{}` when it has none, is not a PNG, JPEG or WebP file, is not a regular file or cannot be read. Never throws.
 */
export function readMetadataFields(path: string): Record<string, string> {
  let file: RegularFileReader | undefined
  try {
    file = openRegularForReadSync(path)
    if (!file) return {}
    const head = file.read(0, 12)
    const fields: Record<string, string> = {}
    const add = (key: string, text: string) => {
      if (key !== '' && !(key in fields)) fields[key] = text
    }
    if (head.length >= 8 && head.subarray(0, 8).equals(PNG_SIGNATURE)) readPng(file, add)
    else if (head[0] === 0xff && head[1] === 0xd8) readJpeg(file, add)
    else if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') readWebp(file, add)
    return fields
  } catch {
    return {}
  } finally {
    try {
      file?.close()
    } catch {
      // nothing to do: the file was only read
    }
  }
}

/**
 * The generator prompt embedded in the image at `path` (core/generation-prompt.ts), or null when there is none or
 * the file cannot be read. Never throws.
 */
export function readEmbeddedPrompt(path: string): GenerationPrompt | null {
  const fields: MetadataFields = readMetadataFields(path)
  return Object.keys(fields).length === 0 ? null : parseGenerationPrompt(fields)
}

type Add = (key: string, text: string) => void

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const TEXT_CHUNKS = new Set(['tEXt', 'zTXt', 'iTXt', 'eXIf'])

function inflate(data: Buffer): Buffer {
  return inflateSync(data, {maxOutputLength: MAX_CHUNK})
}

function readPng(file: RegularFileReader, add: Add): void {
  let pos = 8
  let total = 0
  for (let count = 0; count < MAX_CHUNKS && pos + 12 <= file.size; count++) {
    const header = file.read(pos, 8)
    if (header.length < 8) return
    const length = header.readUInt32BE(0)
    const type = header.toString('latin1', 4, 8)
    if (type === 'IEND' || length > 0x7fffffff) return
    if (TEXT_CHUNKS.has(type) && length <= MAX_CHUNK && total + length <= MAX_TOTAL) {
      const body = file.read(pos + 4, length + 8)
      total += length
      // The CRC covers the type and the data.
      if (body.length === length + 8 && crc32(body.subarray(0, length + 4)) === body.readUInt32BE(length + 4)) {
        try {
          pngTextChunk(type, body.subarray(4, length + 4), add)
        } catch {
          // A malformed chunk (bad zlib data, too long once inflated) is skipped.
        }
      }
    }
    pos += length + 12
  }
}

function pngTextChunk(type: string, data: Buffer, add: Add): void {
  if (type === 'eXIf') {
    readTiff(data, add)
    return
  }
  const nul = data.indexOf(0)
  if (nul < 1 || nul > 79) return
  const key = data.toString('latin1', 0, nul)
  if (type === 'tEXt') add(key, data.toString('latin1', nul + 1))
  else if (type === 'zTXt') {
    if (data[nul + 1] !== 0) return
    add(key, inflate(data.subarray(nul + 2)).toString('latin1'))
  } else {
    const compressed = data[nul + 1] === 1
    if (compressed && data[nul + 2] !== 0) return
    const lang = data.indexOf(0, nul + 3)
    if (lang < 0) return
    const translated = data.indexOf(0, lang + 1)
    if (translated < 0) return
    const text = data.subarray(translated + 1)
    add(key, (compressed ? inflate(text) : text).toString('utf8'))
  }
}

function readJpeg(file: RegularFileReader, add: Add): void {
  let pos = 2
  for (let count = 0; count < MAX_CHUNKS && pos + 4 <= file.size; count++) {
    const header = file.read(pos, 4)
    if (header[0] !== 0xff) return
    const marker = header[1]
    if (marker === 0xff) {
      pos++ // a fill byte
      continue
    }
    // Markers without a length: TEM, RSTn; SOS starts the entropy-coded data, EOI ends the image.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2
      continue
    }
    if (marker === 0xda || marker === 0xd9) return
    const length = header.readUInt16BE(2)
    if (length < 2) return
    if (marker === 0xe1 || marker === 0xfe) {
      const data = file.read(pos + 4, length - 2)
      if (marker === 0xfe) add('comment', decodeText(data))
      else if (data.toString('latin1', 0, 6) === 'Exif\0\0') readTiff(data.subarray(6), add)
    }
    pos += 2 + length
  }
}

function readWebp(file: RegularFileReader, add: Add): void {
  let pos = 12
  for (let count = 0; count < MAX_CHUNKS && pos + 8 <= file.size; count++) {
    const header = file.read(pos, 8)
    const type = header.toString('latin1', 0, 4)
    const length = header.readUInt32LE(4)
    if (type === 'EXIF' && length <= MAX_CHUNK) {
      const data = file.read(pos + 8, length)
      readTiff(data.toString('latin1', 0, 6) === 'Exif\0\0' ? data.subarray(6) : data, add)
    }
    pos += 8 + length + (length % 2)
  }
}

const USER_COMMENT = 0x9286
const EXIF_IFD = 0x8769

/** The UserComment of a TIFF/EXIF block (IFD0 and the Exif IFD), added as `UserComment`. Malformed: nothing. */
function readTiff(tiff: Buffer, add: Add): void {
  if (tiff.length < 8) return
  const order = tiff.toString('latin1', 0, 2)
  if (order !== 'II' && order !== 'MM') return
  const little = order === 'II'
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at))
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at))
  if (u16(2) !== 42) return
  const visited = new Set<number>()
  const ifd = (offset: number): void => {
    if (visited.has(offset) || offset < 8 || offset + 2 > tiff.length) return
    visited.add(offset)
    const entries = u16(offset)
    for (let i = 0; i < entries; i++) {
      const at = offset + 2 + i * 12
      if (at + 12 > tiff.length) return
      const tag = u16(at)
      if (tag === EXIF_IFD) ifd(u32(at + 8))
      else if (tag === USER_COMMENT) {
        const count = u32(at + 4)
        const start = count <= 4 ? at + 8 : u32(at + 8)
        if (start + count > tiff.length) continue
        const text = userComment(tiff.subarray(start, start + count), little)
        if (text !== undefined) add('UserComment', text)
      }
    }
  }
  ifd(u32(4))
}

/** Decodes an EXIF UserComment (see the module's docstring); undefined for JIS or an empty comment. */
function userComment(value: Buffer, tiffLittle: boolean): string | undefined {
  if (value.length < 8) return undefined
  const code = value.toString('latin1', 0, 8)
  const body = value.subarray(8)
  let text: string
  if (code === 'UNICODE\0') text = utf16(body, tiffLittle)
  else if (code === 'ASCII\0\0\0') text = decodeText(body)
  else if (code === '\0\0\0\0\0\0\0\0') text = decodeText(body)
  else return undefined
  text = text.replace(/\0+$/u, '')
  return text === '' ? undefined : text
}

function utf16(body: Buffer, tiffLittle: boolean): string {
  let bytes = body.subarray(0, body.length - (body.length % 2))
  let little = tiffLittle
  if (bytes[0] === 0xff && bytes[1] === 0xfe) [little, bytes] = [true, bytes.subarray(2)]
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) [little, bytes] = [false, bytes.subarray(2)]
  else {
    const order = utf16OrderByZeros(bytes)
    if (order !== undefined) little = order === 'le'
  }
  if (little) return bytes.toString('utf16le')
  const swapped = Buffer.from(bytes)
  swapped.swap16()
  return swapped.toString('utf16le')
}

/** UTF-8 when the bytes are valid UTF-8, else Latin-1. */
function decodeText(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', {fatal: true}).decode(bytes)
  } catch {
    return bytes.toString('latin1')
  }
}
