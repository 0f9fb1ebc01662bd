/**
 * One fixture per rule that fires it and one that passes it, run through the validate service on real folders with
 * real images (test/fixtures/images) in temp dirs.
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {UsageError} from '../../src/errors.js'
import {type RuleId, type ValidateReport, type ValidateRequest, validateFolder} from '../../src/services/validate.js'
import {removeTemp} from '../helpers.js'
import {folder, IMG, smallCopy, type Spec} from './fixtures.js'

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/** Validates a new folder holding `files`; minSide 8 unless given, so the small fixture photos pass. */
async function run(files: Record<string, Spec>, options: Partial<ValidateRequest> = {}): Promise<ValidateReport> {
  const root = await folder(files)
  temps.push(root)
  return validateFolder({path: root, cwd: root, minSide: 8, ...options})
}

const rules = (report: ValidateReport): RuleId[] => [...new Set(report.findings.map((f) => f.rule))]
const only = (report: ValidateReport, rule: RuleId) => report.findings.filter((f) => f.rule === rule)

const pair = (stem: string, caption: string | Uint8Array = 'ohwx, red hair, smile\n'): Record<string, Spec> => ({
  [`${stem}.jpg`]: {image: IMG.jpg},
  [`${stem}.txt`]: caption,
})

describe('a clean folder', () => {
  it('passes every rule', async () => {
    const report = await run(
      {...pair('a'), ...pair('b', 'ohwx, sky\n'), 'c.png': {image: IMG.png}, 'c.txt': 'ohwx, horse\n'},
      {trigger: 'ohwx'},
    )
    expect(report.findings).toEqual([])
    expect(report.checked).toEqual({images: 3, captions: 3})
    expect(report).toMatchObject({errors: 0, warnings: 0, dataset: null, target: 'generic', captionExtension: '.txt'})
  })
})

describe('no-images', () => {
  it('fires on a folder without images', async () => {
    const report = await run({'a.txt': 'tag\n'})
    expect(only(report, 'no-images')).toEqual([
      expect.objectContaining({path: '.', severity: 'error', message: 'No images found here.'}),
    ])
  })
  it('fires when no image is one the target reads', async () => {
    const report = await run({'a.gif': {image: IMG.gif}, 'a.txt': 'tag\n'})
    expect(only(report, 'no-images')[0].message).toBe(
      'No image here would be read by every trainer (1 found; see the other findings).',
    )
  })
  it('passes with one image', async () => {
    expect(rules(await run(pair('a')))).not.toContain('no-images')
  })
})

describe('missing-caption', () => {
  it('fires for an image without a caption file, naming both', async () => {
    const report = await run({...pair('a'), 'b.jpg': {image: IMG.jpg2}})
    expect(only(report, 'missing-caption')).toEqual([
      expect.objectContaining({path: 'b.jpg', severity: 'error', message: 'b.jpg has no caption file (b.txt).'}),
    ])
    expect(only(report, 'missing-caption')[0].hint).toMatch(/caption file/u)
  })
  it('passes when every image has one', async () => {
    expect(rules(await run(pair('a')))).toEqual([])
  })
  it("passes ai-toolkit images covered by the folder's default.txt", async () => {
    const report = await run({'a.jpg': {image: IMG.jpg}, 'default.txt': 'ohwx, photo\n'}, {target: 'ai-toolkit'})
    expect(rules(report)).toEqual([])
  })
})

describe('orphan-caption', () => {
  it('fires for a caption file without an image', async () => {
    const report = await run({...pair('a'), 'b.txt': 'cat\n'})
    expect(only(report, 'orphan-caption')).toEqual([expect.objectContaining({path: 'b.txt', severity: 'warning'})])
  })
  it('passes tags.txt at the top (the vocabulary) and captions with images', async () => {
    expect(rules(await run({...pair('a'), 'tags.txt': 'red hair\nsmile\n'}))).toEqual([])
  })
})

describe('empty-caption', () => {
  it('fires for a 0-byte caption (sd-scripts AssertionError)', async () => {
    const report = await run(pair('a', ''))
    expect(only(report, 'empty-caption')[0].message).toContain('caption file is empty')
  })
  it('fires for a caption whose first line is blank', async () => {
    expect(rules(await run(pair('a', ' \n')))).toContain('empty-caption')
    expect(rules(await run(pair('a', '\nred hair\n')))).toEqual(
      expect.arrayContaining(['empty-caption', 'multiline-caption']),
    )
  })
  it('passes a caption with tags', async () => {
    expect(rules(await run(pair('a', 'red hair')))).toEqual([])
  })
})

describe('oversized-caption', () => {
  // Sparse files (truncate): nothing is written to disk, and a file lora reads whole would cost its full size.
  it('fires for a caption file of more than 1 MiB, naming its size, and reads none of it', async () => {
    const root = await folder({...pair('a'), ...pair('b', 'ohwx\n')})
    temps.push(root)
    await fsp.truncate(join(root, 'a.txt'), 3 * 2 ** 30)
    await fsp.truncate(join(root, 'b.txt'), 2 ** 20 + 1)
    const report = await validateFolder({path: root, cwd: root, minSide: 8})
    expect(only(report, 'oversized-caption')).toEqual([
      expect.objectContaining({
        path: 'a.txt',
        severity: 'error',
        message: 'a.txt is 3.0 GiB (3,221,225,472 bytes), more than the 1 MiB lora reads for a caption file; not read.',
      }),
      expect.objectContaining({
        path: 'b.txt',
        message: 'b.txt is 1.0 MiB (1,048,577 bytes), more than the 1 MiB lora reads for a caption file; not read.',
      }),
    ])
    // Nothing else is said of them: their content was not read (1 MiB of NUL bytes would be an encoding finding).
    expect(rules(report)).toEqual(['oversized-caption'])
    expect(report.checked).toEqual({images: 2, captions: 2})
  })
  it('passes a caption file of exactly 1 MiB', async () => {
    const bytes = Buffer.from('ohwx, ' + 'x'.repeat(2 ** 20 - 7) + '\n')
    expect(bytes.length).toBe(2 ** 20)
    const report = await run(pair('a', bytes))
    expect(rules(report)).not.toContain('oversized-caption')
    expect(rules(report)).toContain('token-limit') // its content was read and checked
  })
})

describe('encoding', () => {
  it('fires for a BOM', async () => {
    const report = await run(pair('a', '\uFEFFohwx, smile\n'))
    expect(only(report, 'encoding')[0].message).toContain('byte-order mark')
  })
  it('fires for Latin-1 bytes, naming the offset', async () => {
    const report = await run(pair('a', Buffer.from('caf\xe9, smile\n', 'latin1')))
    expect(only(report, 'encoding')[0].message).toContain('not valid UTF-8 (first bad byte at offset 3)')
  })
  it('fires for UTF-16', async () => {
    const report = await run(pair('a', Buffer.from('\uFEFFsmile\n', 'utf16le')))
    expect(only(report, 'encoding')[0].message).toContain('UTF-16')
  })
  it('passes UTF-8 with non-ASCII tags', async () => {
    expect(rules(await run(pair('a', 'café, 猫耳, ✨\n')))).toEqual([])
  })
})

describe('encoding: captions decoded as the rest of lora decodes them (core/caption-encoding.ts)', () => {
  const utf16le = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
  const utf16be = (text: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])

  it('UTF-16 with a BOM (LE and BE) is decoded: its tags are checked, besides the encoding finding trainers need', async () => {
    for (const bytes of [utf16le('ohwx, , smile\n'), utf16be('ohwx, , smile\n')]) {
      const report = await run(pair('a', bytes), {trigger: 'ohwx'})
      expect(rules(report).sort()).toEqual(['empty-tag', 'encoding'])
      expect(only(report, 'encoding')[0].message).toBe(
        'a.txt is UTF-16 text (lora reads it, and its tags are checked below); trainers read captions as UTF-8 and stop on it.',
      )
      expect(only(report, 'empty-tag')[0].message).toBe('a.txt has an empty tag (tag 2 of 3: two separators in a row).')
    }
  })
  it('a UTF-8 BOM is dropped before the tags are read: the trigger word still counts as first', async () => {
    const report = await run(pair('a', '\uFEFFohwx, smile\n'), {trigger: 'ohwx'})
    expect(rules(report)).toEqual(['encoding'])
    expect(only(report, 'encoding')[0].message).toContain('byte-order mark')
    // The fix for a BOM comes first: iconv from Latin-1 would turn the BOM into three characters.
    expect(only(report, 'encoding')[0].hint).toMatch(
      /^Re-save the file as UTF-8 without BOM, by what its finding says: a UTF-8 byte-order mark: `sed -i/u,
    )
  })
  it('neither UTF-8 nor UTF-16 with a BOM: an `encoding` error with the iconv fix, and no other finding from garbled text', async () => {
    const report = await run(pair('a', Buffer.from('caf\xe9, , smile\n', 'latin1')))
    expect(report.findings).toEqual([
      {
        rule: 'encoding',
        severity: 'error',
        path: 'a.txt',
        message:
          'a.txt is not valid UTF-8 (first bad byte at offset 3); lora reads captions only as UTF-8 or as UTF-16 with a byte-order mark, and trainers stop with UnicodeDecodeError.',
        hint: expect.stringContaining('anything else (Latin-1 or another legacy encoding): the same with `-f latin1`'),
      },
    ])
    expect(report.errors).toBe(1)
  })
  it('UTF-16 without a BOM (NUL bytes) and text holding U+FFFD are `encoding` errors, as lora refuses them', async () => {
    const nul = await run(pair('a', Buffer.from('smile\n', 'utf16le')))
    expect(only(nul, 'encoding')[0].message).toMatch(
      /^a\.txt holds NUL bytes \(UTF-16LE without a byte-order mark\?\); /u,
    )
    expect(rules(nul)).toEqual(['encoding'])
    const fffd = await run(pair('a', 'caf\uFFFD, smile\n'))
    expect(only(fffd, 'encoding')[0].message).toMatch(/^a\.txt holds U\+FFFD replacement characters/u)
  })
  it('invalid UTF-16 (an unpaired surrogate) is an `encoding` error', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from([0x61, 0x00, 0x00, 0xdc, 0x62, 0x00])])
    expect(only(await run(pair('a', bytes)), 'encoding')[0].message).toMatch(/^a\.txt is not valid UTF-16 text; /u)
  })
})

describe('multiline-caption', () => {
  it('fires when text follows the first line', async () => {
    const report = await run(pair('a', 'red hair, smile\nblue eyes\n'))
    expect(only(report, 'multiline-caption')).toEqual([expect.objectContaining({path: 'a.txt', severity: 'warning'})])
    expect(only(report, 'multiline-caption')[0].message).toContain('reads only the first line')
  })
  it('passes one line with CRLF or no final newline', async () => {
    expect(rules(await run({...pair('a', 'red hair, smile\r\n'), ...pair('b', 'red hair')}))).toEqual([])
  })
})

describe('stem-collision', () => {
  it('fires when a.png and a.jpg share a.txt', async () => {
    const report = await run({'a.jpg': {image: IMG.jpg}, 'a.png': {image: IMG.png}, 'a.txt': 'smile\n'})
    expect(only(report, 'stem-collision')).toEqual([expect.objectContaining({path: 'a.txt', severity: 'error'})])
    expect(only(report, 'stem-collision')[0].message).toMatch(
      /a\.(jpg|png) and a\.(jpg|png) share one caption file, a\.txt/u,
    )
  })
  it('passes different stems', async () => {
    expect(rules(await run({...pair('a'), 'b.png': {image: IMG.png}, 'b.txt': 'horse\n'}))).toEqual([])
  })
})

describe('unsupported-format', () => {
  it('fires for a GIF (no trainer reads it)', async () => {
    const report = await run({...pair('a'), 'b.gif': {image: IMG.gif}, 'b.txt': 'cat\n'})
    expect(only(report, 'unsupported-format')).toEqual([expect.objectContaining({path: 'b.gif', severity: 'error'})])
    expect(rules(report)).not.toContain('orphan-caption')
  })
  it("still checks such an image's size and its caption (one converted for the trainer is trained on)", async () => {
    // The GIF is 14×25; its caption has a control character.
    const report = await run({...pair('a'), 'b.gif': {image: IMG.gif}, 'b.txt': 'cat\u0007\n'}, {minSide: 20})
    expect(only(report, 'low-resolution')).toEqual([
      expect.objectContaining({path: 'b.gif', message: 'b.gif is 14×25; its shorter side is below 20 pixels.'}),
    ])
    expect(only(report, 'control-character').map((f) => f.path)).toEqual(['b.txt'])
    expect(report.findings.find((f) => f.rule === 'unsupported-format')?.hint).toContain('lora export --target')
  })
  it('fires for a mixed-case extension with target kohya (sd-scripts globs *.jpg and *.JPG only)', async () => {
    const report = await run({'a.Jpg': {image: IMG.jpg}, 'a.txt': 'x\n'}, {target: 'kohya'})
    expect(only(report, 'unsupported-format')[0].message).toContain('it matches only .jpg or .JPG')
  })
  it('passes .JPG for kohya and for every other target', async () => {
    for (const target of ['kohya', 'generic', 'ai-toolkit', 'civitai'] as const) {
      expect(rules(await run({'a.JPG': {image: IMG.jpg}, 'a.txt': 'x\n'}, {target}))).toEqual([])
    }
  })
})

describe('unreadable-image', () => {
  it("fires for a truncated JPEG, with sharp's reason", async () => {
    const report = await run({...pair('a'), 'b.jpg': {image: IMG.truncated}, 'b.txt': 'x\n'})
    expect(only(report, 'unreadable-image')).toEqual([expect.objectContaining({path: 'b.jpg', severity: 'error'})])
    expect(only(report, 'unreadable-image')[0].message).toContain('not a decodable image')
  })
  it('fires for PNG content named .jpg, and for an empty file', async () => {
    const report = await run({'a.jpg': {image: IMG.png}, 'a.txt': 'x\n', 'b.png': '', 'b.txt': 'x\n'})
    const messages = only(report, 'unreadable-image').map((f) => f.message)
    expect(messages).toEqual([
      expect.stringContaining('content is png, but the extension is .jpg'),
      expect.stringContaining('empty file'),
    ])
  })
  it('with --deep, fires for a JPEG cut short after its header (which the header check passes)', async () => {
    const root = await folder({'a.jpg': {image: IMG.jpg}, 'a.txt': 'x\n'})
    temps.push(root)
    const bytes = await fsp.readFile(join(root, 'a.jpg'))
    await fsp.writeFile(join(root, 'a.jpg'), bytes.subarray(0, bytes.length - 2000))
    expect(rules(await validateFolder({path: root, cwd: root, minSide: 8}))).toEqual([])
    const deep = await validateFolder({path: root, cwd: root, minSide: 8, deep: true})
    expect(only(deep, 'unreadable-image')[0].message).toContain('not decodable')
  })
  it('passes good JPEG and PNG images, also with --deep', async () => {
    const files = {...pair('a'), 'b.png': {image: IMG.png}, 'b.txt': 'x\n'}
    expect(rules(await run(files))).toEqual([])
    expect(rules(await run(files, {deep: true}))).toEqual([])
  })
})

describe('low-resolution', () => {
  it('fires (warning) for a small re-encoded copy of a real photo, below the default 512', async () => {
    const root = await folder({'a.txt': 'x\n'})
    temps.push(root)
    await smallCopy(join(root, 'a.jpg'), IMG.jpg, 120)
    const report = await validateFolder({path: root, cwd: root})
    expect(only(report, 'low-resolution')).toEqual([
      expect.objectContaining({
        path: 'a.jpg',
        severity: 'warning',
        message: 'a.jpg is 120×75; its shorter side is below 512 pixels.',
      }),
    ])
  })
  it('passes when the shorter side reaches minSide', async () => {
    expect(rules(await run(pair('a'), {minSide: 250}))).toEqual([])
    expect(rules(await run(pair('a'), {minSide: 251}))).toEqual(['low-resolution'])
  })
})

describe('duplicate-tag', () => {
  it('fires for a tag repeated (ignoring case, as CLIP does)', async () => {
    const report = await run(pair('a', 'smile, red hair, Smile\n'))
    expect(only(report, 'duplicate-tag')[0].message).toBe('a.txt repeats "Smile".')
  })
  it('passes distinct tags', async () => {
    expect(rules(await run(pair('a', 'smile, red hair, red_hair\n')))).toEqual([])
  })
})

describe('empty-tag', () => {
  it('fires for a,,b and for a trailing separator', async () => {
    expect(only(await run(pair('a', 'a,,b\n')), 'empty-tag')[0].message).toContain('two separators in a row')
    expect(only(await run(pair('a', 'a, b,\n')), 'empty-tag')[0].message).toContain('ends with a separator')
  })
  it('passes tags separated once', async () => {
    expect(rules(await run(pair('a', 'a,b, c\n')))).toEqual([])
  })
})

describe('whitespace', () => {
  it('fires for trailing spaces, tabs, doubled spaces and a space before the separator', async () => {
    for (const [caption, expected] of [
      ['a, b \n', 'ends with a space'],
      [' a, b\n', 'starts with a space'],
      ['a,\tb\n', 'contains a tab'],
      ['red  hair, b\n', 'doubled spaces'],
      ['a , b\n', 'trailing spaces: "a "'],
      ['a,  b\n', 'leading spaces'],
      ['a,\u00a0b\n', 'no-break space'],
    ]) {
      expect(only(await run(pair('a', caption)), 'whitespace')[0]?.message).toContain(expected)
    }
  })
  it('passes one space (or none) after each separator', async () => {
    expect(rules(await run({...pair('a', 'red hair, smile\n'), ...pair('b', 'red hair,smile\n')}))).toEqual([])
  })
})

describe('unknown-tag', () => {
  const vocab = {'tags.txt': '# vocabulary\nohwx\nsmile\nred hair\n'}
  it('fires for a tag not in tags.txt when enabled', async () => {
    const report = await run({...vocab, ...pair('a', 'ohwx, smile, red hiar\n')}, {rules: ['unknown-tag']})
    expect(only(report, 'unknown-tag')).toEqual([
      expect.objectContaining({severity: 'error', message: 'a.txt uses a tag not in tags.txt: "red hiar".'}),
    ])
  })
  it('passes known tags, and is off by default (open vocabulary)', async () => {
    expect(rules(await run({...vocab, ...pair('a', 'ohwx, smile\n')}, {rules: ['unknown-tag']}))).toEqual([])
    expect(rules(await run({...vocab, ...pair('a', 'anything\n')}))).toEqual([])
  })
  it('refuses (usage error) when a plain folder has no tags.txt', async () => {
    await expect(run(pair('a'), {rules: ['unknown-tag']})).rejects.toThrow(UsageError)
  })
})

describe('missing-trigger', () => {
  it('fires when the trigger is absent or not first', async () => {
    const report = await run({...pair('a', 'smile\n'), ...pair('b', 'smile, ohwx\n')}, {trigger: 'ohwx'})
    expect(only(report, 'missing-trigger').map((f) => f.message)).toEqual([
      'a.txt lacks the trigger word "ohwx".',
      'b.txt has the trigger word "ohwx" as tag 2, not first.',
    ])
  })
  it('passes when it is first, and without a trigger', async () => {
    expect(rules(await run(pair('a', 'ohwx, smile\n'), {trigger: 'ohwx'}))).toEqual([])
    expect(rules(await run(pair('a', 'smile\n')))).toEqual([])
  })
})

describe('kohya-folder-name', () => {
  it('fires for a subfolder without a repeats prefix (kohya)', async () => {
    const report = await run(
      {...pair('10_ohwx cat/a'), ...pair('cats/b'), ...pair('0_x/c'), ...pair('10_y/deep/d')},
      {target: 'kohya'},
    )
    expect(only(report, 'kohya-folder-name').map((f) => f.path)).toEqual(['0_x', '10_y/deep', 'cats'])
    expect(only(report, 'kohya-folder-name').find((f) => f.path === 'cats')?.message).toContain(
      'ignore directory without repeats',
    )
  })
  it('fires for images directly in a train_data_dir that has kohya subfolders', async () => {
    expect(only(await run({...pair('a'), ...pair('10_x/b')}, {target: 'kohya'}), 'kohya-folder-name')[0].path).toBe('.')
  })
  it('fires with target generic when the layout looks like kohya', async () => {
    expect(only(await run({...pair('10_x/a'), ...pair('misc/b')}), 'kohya-folder-name').map((f) => f.path)).toEqual([
      'misc',
    ])
  })
  it('passes <repeats>_<name> folders, a flat image_dir, and plain subfolders for generic', async () => {
    expect(rules(await run({...pair('10_ohwx woman/a'), ...pair('3_style/b')}, {target: 'kohya'}))).toEqual([])
    expect(rules(await run(pair('a'), {target: 'kohya'}))).toEqual([])
    expect(rules(await run({...pair('cats/a'), ...pair('dogs/b')}))).toEqual([])
  })
  it('makes no-images fire when every folder is ignored', async () => {
    expect(rules(await run(pair('cats/a'), {target: 'kohya'}))).toEqual(['no-images', 'kohya-folder-name'])
  })
})

describe('caption-extension', () => {
  it('fires for .caption files when captions are .txt', async () => {
    const report = await run({'a.jpg': {image: IMG.jpg}, 'a.caption': 'smile\n'})
    expect(only(report, 'caption-extension')[0]).toMatchObject({path: 'a.caption', severity: 'error'})
    expect(rules(report)).not.toContain('missing-caption')
  })
  it('fires once for the folder when the caption extension is one the target does not read', async () => {
    const report = await run(
      {'a.jpg': {image: IMG.jpg}, 'a.caption': 'smile\n'},
      {captionExtension: '.caption', target: 'civitai'},
    )
    expect(only(report, 'caption-extension')).toEqual([
      expect.objectContaining({path: '.', message: expect.stringContaining('CivitAI reads .txt captions')}),
    ])
  })
  it('passes .caption files with --caption-ext caption (kohya, sd-scripts default)', async () => {
    expect(
      rules(
        await run({'a.jpg': {image: IMG.jpg}, 'a.caption': 'smile\n'}, {captionExtension: 'caption', target: 'kohya'}),
      ),
    ).toEqual([])
  })
})

describe('civitai-limits', () => {
  it('fires for folders in a CivitAI export', async () => {
    const report = await run({...pair('a'), ...pair('sub/b')}, {target: 'civitai'})
    expect(only(report, 'civitai-limits')).toEqual([expect.objectContaining({path: 'sub', severity: 'error'})])
  })
  it('fires for more than 1,000 files', async () => {
    const files: Record<string, Spec> = pair('a')
    for (let i = 0; i < 1000; i++) files[`notes-${i}.md`] = 'x'
    expect(only(await run(files, {target: 'civitai'}), 'civitai-limits')[0].message).toContain('1,002 files')
  })
  it('passes a flat folder of pairs, and applies to target civitai only', async () => {
    expect(rules(await run(pair('a'), {target: 'civitai'}))).toEqual([])
    expect(rules(await run({...pair('a'), ...pair('sub/b')}))).toEqual([])
  })
})

describe('token-limit', () => {
  const long = Array.from({length: 40}, (_, i) => `tag number ${i}`).join(', ')
  it('fires (warning) for a caption over 75 estimated CLIP tokens', async () => {
    const report = await run(pair('a', long + '\n'))
    expect(only(report, 'token-limit')[0]).toMatchObject({
      severity: 'warning',
      message: expect.stringMatching(/^a\.txt is about \d+ CLIP tokens, over the limit of 75/u),
    })
  })
  it('passes a short caption, and a long one under a raised limit', async () => {
    expect(rules(await run(pair('a', 'ohwx, smile\n')))).toEqual([])
    expect(rules(await run(pair('a', long + '\n'), {tokenLimit: 225}))).toEqual([])
  })
})

describe('links and FIFOs (never followed, never opened): not-regular-file, symbolic-link', () => {
  /** A folder holding `files`, plus `outside/` beside it (not checked) holding a secret caption and a pair. */
  async function withOutside(files: Record<string, Spec>): Promise<{root: string; outside: string}> {
    const base = await folder({
      'outside/secret.txt': 'password_hunter2, ohwx\n',
      'outside/x.jpg': {image: IMG.jpg2},
      'outside/x.txt': 'ohwx, outside\n',
    })
    temps.push(base)
    const root = await folder(files, join(base, 'train'))
    return {root, outside: join(base, 'outside')}
  }
  const check = (root: string, options: Partial<ValidateRequest> = {}) =>
    validateFolder({path: root, cwd: root, minSide: 8, ...options})

  it('(a) a caption linked to an outside file is an error, and its text is never read (not even by unknown-tag)', async () => {
    const {root, outside} = await withOutside({
      ...pair('b'),
      'a.jpg': {image: IMG.jpg},
      'tags.txt': 'ohwx\nred hair\nsmile\n',
    })
    await fsp.symlink(join(outside, 'secret.txt'), join(root, 'a.txt'))
    const report = await check(root, {rules: ['unknown-tag']})
    expect(JSON.stringify(report)).not.toContain('password_hunter2')
    expect(report.findings).toEqual([
      expect.objectContaining({
        rule: 'not-regular-file',
        severity: 'error',
        path: 'a.txt',
        message:
          'a.txt is a symbolic link leading outside the folder checked, not a regular caption file; lora does not follow links, so it was not read.',
      }),
    ]) // a.jpg keeps its caption by name: no missing-caption
    expect(report.checked).toEqual({images: 2, captions: 1})
  })

  it('(b) a link to an outside folder is an error and nothing in it is listed', async () => {
    const {root, outside} = await withOutside(pair('a'))
    await fsp.symlink(outside, join(root, 'evil'))
    const report = await check(root)
    expect(report.findings).toEqual([
      expect.objectContaining({rule: 'not-regular-file', severity: 'error', path: 'evil'}),
    ])
    expect(report.findings[0].message).toContain('evil is a symbolic link to a folder outside the folder checked')
    expect(report.checked).toEqual({images: 1, captions: 1})
  })

  it('(d) a link to the folder itself is a warning and is not walked (no loop, the counts are right)', async () => {
    const {root} = await withOutside({...pair('a'), ...pair('sub/b')})
    await fsp.symlink('.', join(root, 'loop'))
    await fsp.symlink('..', join(root, 'sub', 'up'))
    const report = await check(root)
    expect(report.checked).toEqual({images: 2, captions: 2})
    expect(report.findings).toEqual([
      expect.objectContaining({rule: 'symbolic-link', severity: 'warning', path: 'loop'}),
      expect.objectContaining({rule: 'symbolic-link', severity: 'warning', path: 'sub/up'}),
    ])
    expect(report.errors).toBe(0)
  })

  it('a link to a regular file inside is a warning that keeps its pair; a dangling link is an error', async () => {
    const {root} = await withOutside({...pair('a'), 'c.txt': 'ohwx, copy\n'})
    await fsp.symlink('a.jpg', join(root, 'c.jpg'))
    await fsp.symlink('gone.png', join(root, 'd.png'))
    await fsp.symlink('d.png', join(root, 'd.txt'))
    const report = await check(root)
    expect(report.findings.map((f) => [f.rule, f.severity, f.path])).toEqual([
      ['not-regular-file', 'error', 'd.png'],
      ['not-regular-file', 'error', 'd.txt'],
      ['symbolic-link', 'warning', 'c.jpg'],
    ])
    expect(only(report, 'not-regular-file')[0].message).toContain('d.png is a symbolic link that leads nowhere')
    expect(only(report, 'symbolic-link')[0].message).toBe(
      'c.jpg is a symbolic link (to a file inside the folder checked), not a regular image; lora does not follow links, so it was not checked.',
    )
    expect(report.checked).toEqual({images: 1, captions: 2})
  })

  it('a FIFO named like a caption or an image is an error and is never opened', async () => {
    const {root} = await withOutside({...pair('a'), 'x.jpg': {image: IMG.jpg2}})
    execFileSync('mkfifo', [join(root, 'x.txt'), join(root, 'y.png')])
    const report = await check(root)
    expect(report.findings.map((f) => [f.rule, f.path])).toEqual([
      ['missing-caption', 'y.png'],
      ['not-regular-file', 'x.txt'],
      ['not-regular-file', 'y.png'],
    ])
    expect(only(report, 'not-regular-file')[0].message).toBe(
      'x.txt is a FIFO (named pipe), not a regular caption file; lora does not read it (a trainer opening it waits for good).',
    )
    expect(report.checked).toEqual({images: 2, captions: 1})
  })
})

describe('rule selection', () => {
  it('--ignore turns a rule off, --rule ID:severity changes its severity', async () => {
    const files = {'a.jpg': {image: IMG.jpg}, ...pair('b', 'x,,y\n')}
    const ignored = await run(files, {ignore: ['missing-caption']})
    expect(rules(ignored)).toEqual(['empty-tag'])
    expect(ignored.rules['missing-caption']).toBeUndefined()
    const raised = await run(files, {rules: ['empty-tag:error']})
    expect(only(raised, 'empty-tag')[0].severity).toBe('error')
    expect(raised.errors).toBe(2)
  })
  it('refuses unknown rule ids and severities (usage error, exit 2)', async () => {
    await expect(run(pair('a'), {rules: ['no-such-rule']})).rejects.toMatchObject({
      exitCode: 2,
      message: '--rule no-such-rule: no such rule.',
    })
    await expect(run(pair('a'), {ignore: ['nope']})).rejects.toMatchObject({exitCode: 2})
    await expect(run(pair('a'), {rules: ['empty-tag:fatal']})).rejects.toMatchObject({exitCode: 2})
  })
  it('sorts findings by rule, then path', async () => {
    const report = await run({'b.jpg': {image: IMG.jpg}, 'a.jpg': {image: IMG.jpg}, 'c.txt': 'x\n'})
    expect(report.findings.map((f) => `${f.rule} ${f.path}`)).toEqual([
      'missing-caption a.jpg',
      'missing-caption b.jpg',
      'orphan-caption c.txt',
    ])
  })
})
