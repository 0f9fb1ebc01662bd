/**
 * adapters/image-metadata.ts (issue 14): generator prompts read from real image files, written here with each
 * generator's documented layout (PNG tEXt, compressed and plain iTXt, zTXt; JPEG EXIF UserComment in UTF-16 of
 * either byte order and ASCII; JPEG COM), and from the real generator outputs in ../shared/data/genmeta/ (from
 * sd-parsers' test images, MIT). Malformed chunks are skipped, a symbolic link is never followed.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {deflateSync} from 'node:zlib'
import sharp from 'sharp'
import {readEmbeddedPrompt, readMetadataFields} from '../../src/adapters/image-metadata.js'
import {
  A1111_TEXT,
  COMFY_TWO_SAMPLERS,
  exifWithUserComment,
  jpegSegment,
  jpegWith,
  jpegWithUserComment,
  pngChunk,
  pngWith,
  pngWithText,
  unicodeComment,
} from '../genmeta-helpers.js'
import {itShared, makeTemp, removeTemp, SHARED_DATA} from '../helpers.js'

let tmp: string
beforeAll(async () => {
  tmp = await makeTemp('lora-genmeta-')
})
afterAll(() => removeTemp(tmp))

let counter = 0
async function file(bytes: Buffer, ext: string): Promise<string> {
  const path = join(tmp, `f${++counter}.${ext}`)
  await fsp.writeFile(path, bytes)
  return path
}

const A1111 = {
  positive: '1girl, (red hair:1.2), ((smile)), [blurry], <lora:detail:0.8>, pokemon \\(creature\\)\nBREAK outdoors',
  negative: 'lowres, (bad hands:1.3)',
  generator: 'automatic1111',
}

describe('PNG text chunks', () => {
  it('AUTOMATIC1111 parameters in tEXt (Latin-1)', async () => {
    const path = await file(await pngWithText([{type: 'tEXt', key: 'parameters', text: A1111_TEXT}]), 'png')
    expect(readEmbeddedPrompt(path)).toEqual(A1111)
  })

  it('iTXt compressed and not (UTF-8 text), and zTXt', async () => {
    const text = 'café, 猫耳\nNegative prompt: ugly\nSteps: 20, Sampler: Euler, Seed: 1'
    for (const compressed of [true, false]) {
      const path = await file(await pngWithText([{type: 'iTXt', key: 'parameters', text, compressed}]), 'png')
      expect(readEmbeddedPrompt(path)).toEqual({positive: 'café, 猫耳', negative: 'ugly', generator: 'automatic1111'})
    }
    const z = await file(await pngWithText([{type: 'zTXt', key: 'parameters', text: A1111_TEXT}]), 'png')
    expect(readEmbeddedPrompt(z)).toEqual(A1111)
  })

  it('a ComfyUI graph with two samplers, beside its workflow', async () => {
    const path = await file(
      await pngWithText([
        {type: 'tEXt', key: 'prompt', text: JSON.stringify(COMFY_TWO_SAMPLERS)},
        {type: 'tEXt', key: 'workflow', text: '{"nodes": []}'},
      ]),
      'png',
    )
    expect(readEmbeddedPrompt(path)).toEqual({
      positive: 'a cat, (sitting:1.1)\nsunset, orange sky\nhighly detailed fur',
      negative: 'blurry, lowres\njpeg artifacts',
      generator: 'comfyui',
    })
  })

  it('NovelAI: Software, Description and a JSON Comment', async () => {
    const path = await file(
      await pngWithText([
        {type: 'tEXt', key: 'Title', text: 'NovelAI generated image'},
        {type: 'tEXt', key: 'Description', text: '1girl, {smile}'},
        {type: 'tEXt', key: 'Software', text: 'NovelAI'},
        {type: 'tEXt', key: 'Comment', text: JSON.stringify({prompt: '1girl, {smile}', uc: 'lowres', steps: 28})},
      ]),
      'png',
    )
    expect(readEmbeddedPrompt(path)).toEqual({positive: '1girl, {smile}', negative: 'lowres', generator: 'novelai'})
  })

  it('a PNG eXIf chunk with a UserComment', async () => {
    const exif = exifWithUserComment(unicodeComment(A1111_TEXT, 'le'), 'II')
    const path = await file(await pngWith([pngChunk('eXIf', exif)]), 'png')
    expect(readEmbeddedPrompt(path)).toEqual(A1111)
  })

  it('malformed chunks are skipped, the good ones read: a bad CRC, bad zlib data, a chunk longer than the file', async () => {
    const good = pngChunk('tEXt', Buffer.from('parameters\0a cat', 'latin1'))
    const badCrc = pngChunk('tEXt', Buffer.from('Dream\0"a dog" -s 5', 'latin1'), true)
    const badZlib = pngChunk('zTXt', Buffer.from('prompt\0\0not zlib at all', 'latin1'))
    const bomb = pngChunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0'), deflateSync(Buffer.alloc(20e6, 0x20))]))
    const path = await file(await pngWith([badCrc, badZlib, bomb, good]), 'png')
    expect(readMetadataFields(path)).toEqual({parameters: 'a cat'})
    // Cut inside a chunk: nothing read, no error.
    const cut = await file((await pngWith([good])).subarray(0, 40), 'png')
    expect(readMetadataFields(cut)).toEqual({})
    const huge = Buffer.concat([
      (await pngWith([])).subarray(0, 33),
      Buffer.from([0x7f, 0xff, 0xff, 0xf0]),
      Buffer.from('tEXt'),
    ])
    expect(readMetadataFields(await file(huge, 'png'))).toEqual({})
  })
})

describe('JPEG', () => {
  it('EXIF UserComment UNICODE in UTF-16, little- and big-endian, in either TIFF byte order', async () => {
    for (const [text, tiff] of [
      ['le', 'II'],
      ['be', 'MM'],
      ['be', 'II'],
      ['le', 'MM'],
    ] as const) {
      const path = await file(await jpegWithUserComment(unicodeComment(A1111_TEXT, text), tiff), 'jpg')
      expect(readEmbeddedPrompt(path)).toEqual(A1111)
    }
  })

  it('EXIF UserComment ASCII, and a JPEG COM segment', async () => {
    const ascii = Buffer.concat([Buffer.from('ASCII\0\0\0', 'latin1'), Buffer.from(A1111_TEXT)])
    expect(readEmbeddedPrompt(await file(await jpegWithUserComment(ascii, 'MM'), 'jpg'))).toEqual(A1111)
    const com = await file(await jpegWith([jpegSegment(0xfe, Buffer.from(A1111_TEXT))]), 'jpg')
    expect(readMetadataFields(com)).toEqual({comment: A1111_TEXT})
    expect(readEmbeddedPrompt(com)).toEqual(A1111)
  })

  it('WebP: the EXIF chunk, with the Exif prefix or without', async () => {
    const base = await sharp({create: {width: 4, height: 4, channels: 3, background: {r: 1, g: 2, b: 3}}})
      .webp()
      .toBuffer()
    for (const prefix of [Buffer.from('Exif\0\0'), Buffer.alloc(0)]) {
      const exif = Buffer.concat([prefix, exifWithUserComment(unicodeComment(A1111_TEXT, 'be'), 'II')])
      const head = Buffer.from('EXIF\0\0\0\0', 'latin1')
      head.writeUInt32LE(exif.length, 4)
      const webp = Buffer.concat([base, head, exif, Buffer.alloc(exif.length % 2)])
      webp.writeUInt32LE(webp.length - 8, 4)
      expect(readEmbeddedPrompt(await file(webp, 'webp'))).toEqual(A1111)
    }
  })

  it('a plain JPEG has no prompt; a truncated EXIF block is no prompt, not an error', async () => {
    expect(readEmbeddedPrompt(await file(await jpegWith([]), 'jpg'))).toBeNull()
    const exif = exifWithUserComment(unicodeComment(A1111_TEXT, 'le'), 'II').subarray(0, 40)
    const path = await file(await jpegWith([jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0'), exif]))]), 'jpg')
    expect(readMetadataFields(path)).toEqual({})
  })
})

it('a symbolic link is not followed, a missing file or a folder gives nothing', async () => {
  const target = await file(await pngWithText([{type: 'tEXt', key: 'parameters', text: A1111_TEXT}]), 'png')
  const link = join(tmp, 'link.png')
  await fsp.symlink(target, link)
  expect(readEmbeddedPrompt(target)).not.toBeNull()
  expect(readMetadataFields(link)).toEqual({})
  expect(readMetadataFields(join(tmp, 'nothing.png'))).toEqual({})
  expect(readMetadataFields(tmp)).toEqual({})
})

describe('real generator outputs (../shared/data/genmeta)', () => {
  const at = (name: string) => join(SHARED_DATA, 'genmeta', name)

  itShared('ComfyUI: every sampler of a multi-pass graph, through area conditioning and unCLIP', () => {
    const night = readEmbeddedPrompt(at('ComfyUI-night_evening_day_morning_cropped.png'))!
    expect(night.generator).toBe('comfyui')
    expect(night.positive.split('\n')).toEqual([
      '(best quality) (night:1.3) (darkness) sky (black) (stars:1.2) (galaxy:1.2) (space) (universe)',
      '(best quality) (evening:1.2) (sky:1.2) (clouds) (colorful) (HDR:1.2) (sunset:1.3)',
      '(best quality) (daytime:1.2) sky (blue)',
      '(masterpiece) (best quality) morning sky',
      '(masterpiece) (best quality) beautiful landscape breathtaking amazing view nature photograph forest mountains ocean (sky) national park scenery',
      '(best quality) beautiful (HDR:1.2) (realistic:1.2) landscape breathtaking amazing view nature scenery photograph forest mountains ocean daytime night evening morning, (sky:1.2)',
    ])
    expect(night.negative).toMatch(/^\(hands\), text, error, cropped/u)
    const unclip = readEmbeddedPrompt(at('ComfyUI-unclip_2pass_cropped.png'))!
    expect(unclip.positive).toBe(
      '(waifu, anime, exceptional, best aesthetic, new, newest, best quality, masterpiece, extremely detailed:1.2)\nbeautiful scenery landscape outdoors mountains',
    )
    const noisy = readEmbeddedPrompt(at('ComfyUI-noisy_latents_3_subjects_cropped.png'))!
    expect(noisy.positive).toContain('(pink hair:1.2)')
    expect(noisy.positive).toContain('(red hair:1.2)')
  })

  itShared('InvokeAI: invokeai_metadata, sd-metadata and Dream', () => {
    expect(readEmbeddedPrompt(at('InvokeAI-invokeai_imeta1.png'))).toEqual({
      positive: 'digital artwork, oil painting. painterly brushstrokes, holidays,',
      negative:
        'grainy+, photo, oversaturated, overexposed, blurry, compressed jpg+, noisy++, unfocused , black and white',
      generator: 'invokeai',
    })
    for (const name of ['InvokeAI-invokeai_sdmeta1.png', 'InvokeAI-invokeai_dream1.png']) {
      const p = readEmbeddedPrompt(at(name))!
      expect(p.generator).toBe('invokeai')
      expect(p.positive).toMatch(/^professional full body photo of young woman, .* film grain, low contrast$/u)
      expect(p.negative).toBe('rendering, glowing eyes, skinny')
    }
  })

  itShared('Fooocus: the prompt typed, not the expanded one; the stealth A1111 file has no text chunk', () => {
    expect(readEmbeddedPrompt(at('Fooocus-fooocus1_cropped.png'))).toEqual({
      positive: 'a smiling goldfish',
      negative: '',
      generator: 'fooocus',
    })
    // Its infotext is hidden in the alpha channel ("stealth pnginfo"), which lora does not read.
    expect(readEmbeddedPrompt(at('AUTOMATIC1111-automatic1111_stealth.png'))).toBeNull()
  })
})
