/**
 * Text encodings of captions (issue 12 rule 6; README "Safety model"): captions are UTF-8 (a BOM is dropped) or
 * UTF-16 with a BOM (decoded). A Latin-1 caption, UTF-16 without a BOM or NUL bytes is never adopted by `init`,
 * never taken in by `status --rescan`, and never written over: `tag`, `tags rename` and `next` refuse (exit 1,
 * naming the image, with the iconv fix) and the caption's bytes stay as they were. Run in-process
 * (test/in-process.ts) on real datasets made by `lora init` from the fixture photos. Needs `npm run build`.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, readState, removeTemp, sha256} from '../helpers.js'
import {snapshot} from '../e2e/e2e-helpers.js'
import {captionEncodingFix, decodeCaption} from '../../src/core/caption-encoding.js'
import {LoraError} from '../../src/errors.js'
import {runTaggingSession} from '../../src/services/tagging-session.js'
import {openDataset} from '../../src/store/dataset.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']
const LATIN1 = Buffer.from('caf\u00e9, sky\n', 'latin1')
const UTF16_BOM = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hi, t\u00e9\n', 'utf16le')])
const UTF16_NO_BOM = Buffer.from('hi, t\u00e9\n', 'utf16le')
const UTF8_BOM = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('caf\u00e9, sky\n')])

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function folder(captions: Record<string, Buffer> = {}): Promise<string> {
  const tmp = await makeTemp('lora-enc-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  for (const [name, bytes] of Object.entries(captions)) await fsp.writeFile(join(root, name), bytes)
  return root
}

describe('decodeCaption (pure)', () => {
  it('decodes UTF-8, UTF-8 with a BOM, UTF-16 LE/BE with a BOM', () => {
    expect(decodeCaption(Buffer.from('caf\u00e9'))).toEqual({text: 'caf\u00e9'})
    expect(decodeCaption(UTF8_BOM)).toEqual({text: 'caf\u00e9, sky\n'})
    expect(decodeCaption(UTF16_BOM)).toEqual({text: 'hi, t\u00e9\n'})
    const be = Buffer.from(Buffer.from('\ufeffhi', 'utf16le')).swap16()
    expect(decodeCaption(be)).toEqual({text: 'hi'})
    expect(decodeCaption(new Uint8Array())).toEqual({text: ''})
  })
  it('refuses Latin-1, UTF-16 without a BOM, NUL bytes and U+FFFD', () => {
    expect(decodeCaption(LATIN1).problem).toMatch(/^is not UTF-8 text/u)
    expect(decodeCaption(UTF16_NO_BOM).problem).toBe('holds NUL bytes (UTF-16LE without a byte-order mark?)')
    // Big-endian: the zero byte of each ASCII character comes first, and the fix says -f utf-16be (a newcomer who
    // ran the utf-16le command on such a file got Chinese-looking tags, adopted without a word).
    const be = Buffer.from('rocket, launch\r\n', 'utf16le').swap16()
    expect(decodeCaption(be).problem).toBe('holds NUL bytes (UTF-16BE without a byte-order mark?)')
    expect(captionEncodingFix('d.txt', decodeCaption(be).problem)).toMatch(
      /^convert it to UTF-8, e\.g\. `iconv -f utf-16be -t utf-8 d\.txt/u,
    )
    expect(decodeCaption(Buffer.from('a\u0000b')).problem).toMatch(/NUL/u)
    expect(decodeCaption(Buffer.from('caf\ufffd')).problem).toMatch(/U\+FFFD/u)
    expect(decodeCaption(Buffer.from([0xff, 0xfe, 0x00, 0xd8])).problem).toBe('is not valid UTF-16 text')
  })
})

describe('init adopts UTF-8 and BOM-marked UTF-16 captions, and never mangled ones', () => {
  it('lists Latin-1 and BOM-less UTF-16 captions as problems with the iconv fix; their originals stay byte-identical', async () => {
    const root = await folder({
      'plasma-Autumn-screenshot.txt': LATIN1,
      'plasma-Kite-screenshot.txt': UTF16_BOM,
      'skimage-horse.txt': UTF16_NO_BOM,
    })
    const before = await snapshot(root)
    const result = await loraIn(['init', '.', '--json'], {cwd: root})
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout) as {
      added: {source: string; tags: string[]}[]
      problems: {source: string; reason: string}[]
    }
    expect(summary.added).toEqual([
      expect.objectContaining({source: 'plasma-Kite-screenshot.jpg', tags: ['hi', 't\u00e9']}),
    ])
    expect(summary.problems).toEqual([
      {
        source: 'plasma-Autumn-screenshot.jpg',
        reason:
          "its caption plasma-Autumn-screenshot.txt is not UTF-8 text (Latin-1 or another legacy encoding?); not imported: convert it to UTF-8, e.g. `iconv -f latin1 -t utf-8 plasma-Autumn-screenshot.txt > plasma-Autumn-screenshot.txt.new && mv plasma-Autumn-screenshot.txt.new plasma-Autumn-screenshot.txt` (with the file's real encoding if it is not latin1), then run lora init again",
      },
      {
        source: 'skimage-horse.png',
        reason: expect.stringMatching(
          /^its caption skimage-horse\.txt holds NUL bytes .*iconv -f utf-16le -t utf-8 skimage-horse\.txt/u,
        ) as string,
      },
    ])
    const after = await snapshot(root)
    for (const [path, hash] of Object.entries(before)) expect(after[path]).toBe(hash)
    const caption = await fsp.readFile(join(root, 'output', 'img_0001.txt'), 'utf8')
    expect(caption).toBe('hi, t\u00e9\n')
    expect(caption).not.toMatch(/[\u0000\ufffd]/u)
    // After the fix, a rerun takes the image in.
    await fsp.writeFile(join(root, 'plasma-Autumn-screenshot.txt'), Buffer.from(LATIN1.toString('latin1')))
    const rerun = JSON.parse((await loraInOk(['init', '.', '--json'], {cwd: root})).stdout) as {
      added: {source: string; tags: string[]}[]
    }
    expect(rerun.added).toEqual([
      expect.objectContaining({source: 'plasma-Autumn-screenshot.jpg', tags: ['caf\u00e9', 'sky']}),
    ])
  })

  it('drops a UTF-8 BOM', async () => {
    const root = await folder({'plasma-Autumn-screenshot.txt': UTF8_BOM})
    await loraInOk(['init', '.'], {cwd: root})
    expect((await readState(root)).images[0].tags).toEqual(['caf\u00e9', 'sky'])
    expect(await fsp.readFile(join(root, 'output', 'img_0001.txt'), 'utf8')).toBe('caf\u00e9, sky\n')
  })
})

describe('a caption damaged after init is never rescanned or written over', () => {
  let root: string
  let caption: string
  beforeAll(async () => {
    root = await folder()
    await loraInOk(['init', '.'], {cwd: root})
    await loraInOk(['tag', '1', '--add', 'sky'], {cwd: root})
    caption = join(root, 'output', 'img_0001.txt')
    await fsp.writeFile(caption, LATIN1)
  })

  it("status --rescan lists it with the fix and keeps the image's tags", async () => {
    const result = await loraIn(['status', '--rescan', '--json'], {cwd: root})
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as {problems: {source: string; reason: string}[]; rescanned: string[]}
    expect(report.rescanned).toEqual([])
    expect(report.problems).toEqual([
      {
        source: 'output/img_0001.txt',
        reason: expect.stringMatching(
          /^the caption is not UTF-8 text .*not taken in \(img_0001 keeps its tags.*iconv -f latin1 -t utf-8 output\/img_0001\.txt/u,
        ) as string,
      },
    ])
    expect((await readState(root)).images[0].tags).toEqual(['sky'])
    expect(await fsp.readFile(caption)).toEqual(LATIN1)
  })

  it.each([
    [['tag', '1', '--add', 'tree']],
    [['tag', '--all', '--add', 'tree']],
    [['tags', 'rename', 'sky', 'blue sky']],
    [['tags', 'rm', 'sky']],
    [['tags', 'normalize']],
    [['export', '../exp']],
    [['export', '-', '--format', 'csv']],
  ])('lora %p refuses, naming the image, and writes nothing', async (args) => {
    const before = await snapshot(root)
    const result = await loraIn(args, {cwd: root})
    expect(result.stdout).toBe('')
    expect(result.stderr.split('\n')[0]).toBe(
      'error: A caption is not UTF-8 or UTF-16 text: img_0001 (output/img_0001.txt is not UTF-8 text (Latin-1 or another legacy encoding?)). Nothing was written.',
    )
    expect(result.stderr).toMatch(
      /\nhint: For each, convert it to UTF-8, e\.g\. `iconv -f latin1 -t utf-8 output\/img_0001\.txt > output\/img_0001\.txt\.new/u,
    )
    expect(result.code).toBe(1)
    expect(await snapshot(root)).toEqual(before)
    expect(await sha256(caption)).toBe(before['output/img_0001.txt'])
  })

  it('a UTF-16 caption with a BOM is taken in by --rescan, and the next tag writes UTF-8', async () => {
    await fsp.writeFile(join(root, 'output', 'img_0002.txt'), UTF16_BOM)
    const report = JSON.parse((await loraInOk(['status', '--rescan', '--json'], {cwd: root})).stdout) as {
      rescanned: string[]
    }
    expect(report.rescanned).toEqual(['img_0002'])
    expect((await readState(root)).images[1].tags).toEqual(['hi', 't\u00e9'])
    await loraInOk(['tag', '2', '--add', 'tree'], {cwd: root})
    expect(await fsp.readFile(join(root, 'output', 'img_0002.txt'), 'utf8')).toBe('hi, t\u00e9, tree\n')
  })
})

describe('lora next on an image whose caption is not text', () => {
  it('refuses before asking, naming the image, and writes nothing', async () => {
    const root = await folder()
    await loraInOk(['init', '.'], {cwd: root})
    await fsp.writeFile(join(root, 'output', 'img_0001.txt'), UTF16_NO_BOM)
    const before = await snapshot(root)
    let asked = false
    const ui = {
      present: async () => {},
      ask: async () => {
        asked = true
        return {action: 'save' as const, tags: ['ok']}
      },
      saved: () => {},
    }
    const error = await runTaggingSession(await openDataset(root), ui, {loop: false}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LoraError)
    expect((error as LoraError).code).toBe('caption-encoding')
    expect((error as LoraError).message).toBe(
      'A caption is not UTF-8 or UTF-16 text: img_0001 (output/img_0001.txt holds NUL bytes (UTF-16LE without a byte-order mark?)). Nothing was written.',
    )
    expect((error as LoraError).hint).toMatch(/iconv -f utf-16le -t utf-8 output\/img_0001\.txt/u)
    expect(asked).toBe(false)
    expect(await snapshot(root)).toEqual(before)
    expect(await fsp.readFile(join(root, 'output', 'img_0001.txt'))).toEqual(UTF16_NO_BOM)
  })
})
