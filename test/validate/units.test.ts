/**
 * Units of lora validate: the CLIP token estimate, the quick image header check (it must agree with sharp's header
 * read, on real images), the UTF-8 helpers, kohya folder names, rule resolution, annotations, and the config's rule ids.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loadQuickProbe} from '../../src/adapters/image-header.js'
import {probeImage} from '../../src/adapters/images.js'
import {validateConfig} from '../../src/core/config.js'
import {ConfigError} from '../../src/errors.js'
import {checkCaptionBytes, firstInvalidUtf8} from '../../src/core/validate/content.js'
import {parseRuleFlags, resolveRules, RULES, VALIDATE_RULE_IDS} from '../../src/core/validate/rules.js'
import {kohyaRepeats} from '../../src/core/validate/scan.js'
import {countAscii, countUnicode, estimateClipTokens} from '../../src/core/validate/tokens.js'
import {githubAnnotation} from '../../src/ui/validate-render.js'
import {FIXTURES, itShared, makeTemp, removeTemp, SHARED_DATA} from '../helpers.js'

describe('estimateClipTokens', () => {
  it('counts common words as one token each, and commas', () => {
    expect(estimateClipTokens('a photo of a cat')).toBe(5)
    expect(estimateClipTokens('1girl, solo, long hair')).toBe(7) // 1 girl , solo , long hair
    expect(estimateClipTokens('')).toBe(0)
  })
  it("splits long words, digits, symbol runs and contractions like CLIP's pre-tokenizer", () => {
    expect(estimateClipTokens('photorealistic')).toBe(1 + Math.ceil((14 - 7) / 3))
    expect(estimateClipTokens('2024')).toBe(4)
    expect(estimateClipTokens('(masterpiece:1.2)')).toBe(1 + 3 + 1 + 1 + 1 + 1 + 1) // ( masterpiece(11 letters) : 1 . 2 )
    expect(estimateClipTokens("girl's")).toBe(2)
    expect(estimateClipTokens('猫耳')).toBe(2) // 6 UTF-8 bytes / 3
  })
  it('gives the same count on the ASCII fast path as the Unicode expression', () => {
    let seed = 3
    const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32
    const alphabet = "abcXYZ 019,.()':_-\t'sretvmld"
    for (let k = 0; k < 2000; k++) {
      const text = Array.from(
        {length: Math.floor(random() * 60)},
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join('')
      expect([text, countAscii(text)]).toEqual([text, countUnicode(text)])
    }
    expect(countAscii('café')).toBe(-1)
  })
})

describe('quick image header check', () => {
  let dir: string
  beforeAll(async () => {
    dir = await makeTemp('lora-header-')
  })
  afterAll(async () => removeTemp(dir))

  /** Whenever the quick check answers, sharp's header read (probeImage) must agree, with the same size. */
  async function agrees(paths: string[]): Promise<number> {
    const quick = await loadQuickProbe()
    let answered = 0
    for (const path of paths) {
      const info = quick(path)
      if (!info) continue
      answered++
      const probe = await probeImage(path)
      expect([path, probe.ok && probe.info]).toEqual([path, info])
    }
    return answered
  }

  it('agrees with sharp on the fixture images, and leaves the broken one to sharp', async () => {
    const paths = fs.readdirSync(FIXTURES).map((n) => join(FIXTURES, n))
    expect(await agrees(paths)).toBe(7) // 3 JPEG + 3 PNG + the GIF; the truncated JPEG goes to sharp
    const quick = await loadQuickProbe()
    expect(quick(join(FIXTURES, 'skimage-truncated.jpg'))).toBeUndefined()
  })

  it('never accepts a file cut anywhere in its header, nor content under the wrong extension', async () => {
    const quick = await loadQuickProbe()
    for (const name of [
      'plasma-Kite-screenshot.jpg',
      'skimage-horse.png',
      'skimage-palette_color.png',
      'skimage-no_time_for_that_tiny.gif',
    ]) {
      const bytes = await fsp.readFile(join(FIXTURES, name))
      for (const cut of [0, 1, 2, 8, 20, 33, 40, 100, 300, 600]) {
        const path = join(dir, `cut-${cut}-${name}`)
        await fsp.writeFile(path, bytes.subarray(0, cut))
        const info = quick(path)
        if (info) expect((await probeImage(path)).ok).toBe(true)
      }
      const wrong = join(dir, `wrong-${name}${name.endsWith('.png') ? '.jpg' : '.png'}`)
      await fsp.writeFile(wrong, bytes)
      expect(quick(wrong)).toBeUndefined()
    }
  })

  it("reads a GIF's size as sharp does (still, animated, a frame inside a larger screen) and leaves doubtful ones to sharp", async () => {
    const {default: sharp} = await import('sharp')
    const gif = await fsp.readFile(join(FIXTURES, 'skimage-no_time_for_that_tiny.gif'))
    // The fixture's screen is 14×25 (little-endian at bytes 6–9), as is its first frame.
    expect([gif.readUInt16LE(6), gif.readUInt16LE(8)]).toEqual([14, 25])
    const withScreen = (width: number, height: number) => {
      const copy = Buffer.from(gif)
      copy.writeUInt16LE(width, 6)
      copy.writeUInt16LE(height, 8)
      return copy
    }
    const write = async (name: string, bytes: Buffer) => {
      await fsp.writeFile(join(dir, name), bytes)
      return join(dir, name)
    }
    const sure = [
      // GIFs written by sharp's own encoder: a still photo and the fixture's frames re-encoded as an animation.
      await write('still.gif', await sharp(join(FIXTURES, 'plasma-Path-screenshot.jpg')).resize(120).gif().toBuffer()),
      await write('animated.gif', await sharp(gif, {animated: true}).gif().toBuffer()),
      // The first frame inside a larger screen: the screen is the size.
      await write('large-screen.gif', withScreen(40, 30)),
    ]
    expect(await agrees(sure)).toBe(3)
    const quick = await loadQuickProbe()
    expect(quick(join(dir, 'large-screen.gif'))).toEqual({format: 'gif', width: 40, height: 30})
    expect(quick(join(dir, 'still.gif'))).toMatchObject({width: 120})
    // A screen smaller than the first frame, a screen size libnsgif does not trust (it takes the frame's), a
    // screen of 0: sharp decides.
    for (const [name, bytes] of [
      ['small-screen.gif', withScreen(10, 10)],
      ['monitor-screen.gif', withScreen(640, 480)],
      ['zero-screen.gif', withScreen(0, 25)],
    ] as const)
      expect([name, quick(await write(name, bytes))]).toEqual([name, undefined])
    // A later frame whose LZW code size libnsgif refuses (12): sharp fails on the header, so the fast check must not
    // answer. The offsets of each frame's code-size byte, found by walking the blocks.
    const codeSizeOffsets = (b: Buffer) => {
      const out: number[] = []
      const skip = (at: number) => {
        while (b[at] !== 0) at += 1 + b[at]
        return at + 1
      }
      let i = 13 + (b[10] & 0x80 ? 3 * (1 << ((b[10] & 7) + 1)) : 0)
      while (i < b.length && b[i] !== 0x3b) {
        if (b[i] === 0x21) i = skip(i + 2)
        else {
          i += 10 + (b[i + 9] & 0x80 ? 3 * (1 << ((b[i + 9] & 7) + 1)) : 0)
          out.push(i)
          i = skip(i + 1)
        }
      }
      return out
    }
    const animated = await fsp.readFile(join(dir, 'animated.gif'))
    const offsets = codeSizeOffsets(animated)
    expect(offsets.length).toBeGreaterThan(1)
    expect(quick(join(dir, 'animated.gif'))).toMatchObject({format: 'gif'})
    const refused = Buffer.from(animated)
    refused[offsets[1]] = 12
    const path = await write('second-frame-code-size-12.gif', refused)
    await expect(sharp(path).metadata()).rejects.toThrow(/gif/iu)
    expect(quick(path)).toBeUndefined()
  })

  itShared('agrees with sharp on the shared photos (WebP, EXIF orientations, large JPEGs)', async () => {
    const paths = ['photos', 'exif-orientation'].flatMap((sub) =>
      fs.readdirSync(join(SHARED_DATA, sub)).map((n) => join(SHARED_DATA, sub, n)),
    )
    expect(await agrees(paths)).toBeGreaterThan(40)
  })
})

describe('caption bytes', () => {
  const ctx = {splitChar: ',', trigger: null, vocabulary: null, tokenLimit: 75, active: new Set(VALIDATE_RULE_IDS)}
  it('finds the first invalid UTF-8 byte', () => {
    expect(firstInvalidUtf8(Buffer.from('abc'))).toBe(3)
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xe9, 0x62]))).toBe(1)
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0x80]))).toBe(0) // overlong
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0) // surrogate
  })
  it('does not call a UTF-16 character cut at the end of a partial read an encoding error', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('smile😀', 'utf16le')])
    const rules = (b: Uint8Array, complete: boolean) => checkCaptionBytes(b, 'a.txt', ctx, complete).map((p) => p.rule)
    // Cut inside a code unit, and between the two halves of a surrogate pair.
    expect(rules(bytes.subarray(0, bytes.length - 1), false)).toEqual(['encoding']) // only "is UTF-16 text"
    expect(checkCaptionBytes(bytes.subarray(0, bytes.length - 2), 'a.txt', ctx, false)[0].message).toContain(
      'is UTF-16 text (lora reads it',
    )
    expect(checkCaptionBytes(bytes.subarray(0, bytes.length - 2), 'a.txt', ctx, true)[0].message).toContain(
      'is not valid UTF-16 text',
    )
  })
  it('does not call a multi-byte character cut at the end of a partial read an encoding error', () => {
    const bytes = Buffer.from('smile, 猫耳')
    expect(checkCaptionBytes(bytes.subarray(0, bytes.length - 1), 'a.txt', ctx, false)).toEqual([])
    expect(checkCaptionBytes(bytes.subarray(0, bytes.length - 1), 'a.txt', ctx, true).map((p) => p.rule)).toEqual([
      'encoding',
    ])
  })
})

describe('kohya folder names (sd-scripts int(name.split("_")[0]))', () => {
  it('reads the repeats as Python int() would', () => {
    expect(kohyaRepeats('10_ohwx woman')).toBe(10)
    expect(kohyaRepeats('3_a_b')).toBe(3)
    expect(kohyaRepeats('5')).toBe(5)
    expect(kohyaRepeats('0_x')).toBe(0)
    expect(kohyaRepeats('ohwx_10')).toBeUndefined()
    expect(kohyaRepeats('10x_y')).toBeUndefined()
    expect(kohyaRepeats('_y')).toBeUndefined()
  })
})

describe('rules', () => {
  it('has one catalogue entry per id, with a summary, source and hint', () => {
    expect(Object.keys(RULES)).toEqual([...VALIDATE_RULE_IDS])
    for (const id of VALIDATE_RULE_IDS)
      expect(RULES[id]).toMatchObject({
        id,
        summary: expect.any(String),
        source: expect.any(String),
        hint: expect.any(String),
      })
  })
  it('resolves defaults, config, --rule and --ignore in that order', () => {
    const base = {config: {}, enable: [], ignore: [], vocabularyClosed: false}
    expect(resolveRules(base).has('unknown-tag')).toBe(false)
    expect(resolveRules({...base, vocabularyClosed: true}).get('unknown-tag')).toBe('error')
    expect(resolveRules({...base, config: {'low-resolution': 'off'}}).has('low-resolution')).toBe(false)
    expect(
      resolveRules({...base, config: {'low-resolution': 'off'}, enable: [{id: 'low-resolution'}]}).get(
        'low-resolution',
      ),
    ).toBe('warning')
    expect(resolveRules({...base, config: {'token-limit': 'error'}}).get('token-limit')).toBe('error')
    expect(
      resolveRules({...base, enable: [{id: 'encoding', severity: 'warning'}], ignore: ['encoding']}).has('encoding'),
    ).toBe(false)
  })
  it('parses --rule ID[:severity] and --ignore ID', () => {
    expect(parseRuleFlags(['token-limit:error', 'unknown-tag'], ['whitespace'])).toEqual({
      enable: [
        {id: 'token-limit', severity: 'error'},
        {id: 'unknown-tag', severity: undefined},
      ],
      ignore: ['whitespace'],
    })
  })
  it('rejects unknown rule ids in validate.rules of config.yaml, naming the key', () => {
    expect(() => validateConfig({validate: {rules: {'low-res': 'off'}}})).toThrow(ConfigError)
    try {
      validateConfig({validate: {rules: {'low-res': 'off'}}})
    } catch (error) {
      expect((error as ConfigError).hint).toContain('validate.rules.low-res is not a known rule')
    }
    expect(
      validateConfig({validate: {rules: {'low-resolution': 'off', 'token-limit': 'error'}}}).validate.rules,
    ).toEqual({'low-resolution': 'off', 'token-limit': 'error'})
  })
})

describe('GitHub annotations', () => {
  it('escape data and properties and use workspace-relative paths', () => {
    const line = githubAnnotation(
      {rule: 'empty-tag', severity: 'warning', path: '10_a, b/x.txt', message: '100% wrong:\nyes', hint: 'Fix it.'},
      '/w/data',
      '/w',
    )
    expect(line).toBe(
      '::warning file=data/10_a%2C b/x.txt,title=lora validate%3A empty-tag::100%25 wrong:%0Ayes Fix: Fix it.',
    )
    expect(
      githubAnnotation(
        {rule: 'no-images', severity: 'error', path: '.', message: 'm', hint: 'h'},
        '/elsewhere/d',
        '/w',
      ),
    ).toBe('::error file=/elsewhere/d,title=lora validate%3A no-images::m Fix: h')
  })
})
