/**
 * `lora export`, in-process (test/in-process.ts: the built commands run inside jest, same exit code, stdout and
 * stderr as the binary): every format written and read back (CSV/TSV with csv-parse), from one dataset made by a
 * real `lora init --trigger ohwx` of the fixture images and tagged with `lora tag`. Export only reads the dataset,
 * so all tests share it; each writes to its own destination. test/e2e/export.test.ts runs a smoke through the binary.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {parse as parseCsv} from 'csv-parse/sync'
import {
  GOOD_FIXTURES,
  TRUNCATED,
  cleanupTemps,
  listFiles,
  readState,
  readText,
  sha256,
  snapshot,
  tempDir,
} from '../e2e/e2e-helpers.js'
import {initDataset, lora, loraOk} from './command-helpers.js'

let dir: string
let out: string
let before: Record<string, string>

/** What the dataset holds after the setup below: tagged 1-3, 4 skipped, 5-7 pending; trigger ohwx. */
const TAGGED = [
  {file: 'img_0001.jpg', caption: 'ohwx, cat, sitting', tags: ['ohwx', 'cat', 'sitting'], width: 400, height: 250},
  {file: 'img_0002.jpg', caption: 'ohwx, dog', tags: ['ohwx', 'dog'], width: 400, height: 250},
  {file: 'img_0003.jpg', caption: 'ohwx, sky, say "hi"', tags: ['ohwx', 'sky', 'say "hi"'], width: 400, height: 250},
]
const PENDING = [
  {file: 'img_0005.gif', caption: 'ohwx', tags: ['ohwx'], width: 14, height: 25},
  {file: 'img_0006.png', caption: 'ohwx', tags: ['ohwx'], width: 384, height: 191},
  {file: 'img_0007.png', caption: 'ohwx', tags: ['ohwx'], width: 10, height: 10},
]
const shaOf: Record<string, string> = {}

beforeAll(async () => {
  dir = await initDataset({names: [...GOOD_FIXTURES, TRUNCATED], initArgs: ['--trigger', 'ohwx']})
  out = await tempDir('lora-export-')
  await loraOk(['tag', '--stdin'], {cwd: dir, input: '1\tcat, sitting\n2\tdog\n3\tsky, say "hi"\n'})
  await loraOk(['tag', '4', '--skip'], {cwd: dir})
  for (const image of (await readState(dir)).images) shaOf[image.file] = image.sha256
  before = await snapshot(dir)
})

afterAll(async () => {
  // Exporting never changes the dataset.
  expect(await snapshot(dir)).toEqual(before)
  await cleanupTemps()
})

const withSha = (records: typeof TAGGED) => records.map((r) => ({...r, sha256: shaOf[r.file]}))

/** Checks an exported folder: exactly these images (byte-identical to output/) and their caption files. */
async function expectFolder(folder: string, records: typeof TAGGED): Promise<void> {
  expect(await listFiles(folder)).toEqual(records.flatMap((r) => [r.file, r.file.replace(/\.\w+$/u, '.txt')]).sort())
  for (const r of records) {
    expect(await sha256(join(folder, r.file))).toBe(await sha256(join(dir, 'output', r.file)))
    expect(await readText(join(folder, r.file.replace(/\.\w+$/u, '.txt')))).toBe(r.caption + '\n')
  }
}

/** The note after a folder export's summary (src/ui/render.ts renderExport). */
const BYTE_COPIES =
  'The images are copied byte for byte: metadata (a GPS position too), EXIF orientation and format as they were. For trainer-ready copies (upright, no metadata, formats every trainer reads, with the config), export with --target (kohya, ai-toolkit, onetrainer, diffusion-pipe, hf, civitai).\n'

describe('lora export', () => {
  it('folder: tagged images byte-identical with their captions, trigger first', async () => {
    const dest = join(out, 'folder')
    const r = await lora(['export', dest], {cwd: dir})
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(`Exported 3 images as folder to ${dest} (4 pending or skipped left out).\n${BYTE_COPIES}`)
    await expectFolder(dest, TAGGED)
  })

  it('folder --include-pending: pending images too (not the skipped one)', async () => {
    const dest = join(out, 'with-pending')
    const r = await lora(['export', dest, '--include-pending', '--json'], {cwd: dir})
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({format: 'folder', dest, imageDir: dest, count: 6, left: 1, leftAuto: 0})
    await expectFolder(dest, [...TAGGED, ...PENDING])
  })

  it('folder --repeats 10 --class woman: kohya subfolder "10_<trigger> woman"', async () => {
    const dest = join(out, 'kohya')
    const r = await lora(['export', dest, '--format', 'folder', '--repeats', '10', '--class', 'woman'], {cwd: dir})
    expect(r.code).toBe(0)
    expect(await fsp.readdir(dest)).toEqual(['10_ohwx woman'])
    expect(r.stderr).toContain(join(dest, '10_ohwx woman'))
    await expectFolder(join(dest, '10_ohwx woman'), TAGGED)
  })

  it.each(['csv', 'tsv'])('%s: one row per tagged image, read back with csv-parse', async (format) => {
    const dest = join(out, `captions.${format}`)
    const r = await lora(['export', dest, '--format', format], {cwd: dir})
    expect(r.code).toBe(0)
    const text = await readText(dest)
    expect(text.split(/\r?\n/u)[0]).toBe(
      ['file', 'caption', 'tags', 'width', 'height', 'sha256'].join(format === 'csv' ? ',' : '\t'),
    )
    const rows = parseCsv<Record<string, string>>(text, {columns: true, delimiter: format === 'csv' ? ',' : '\t'})
    expect(rows).toEqual(
      withSha(TAGGED).map((t) => ({
        file: t.file,
        caption: t.caption,
        tags: t.tags.join(', '),
        width: String(t.width),
        height: String(t.height),
        sha256: t.sha256,
      })),
    )
  })

  it('json: an array of records', async () => {
    const dest = join(out, 'captions.json')
    const r = await lora(['export', dest, '-f', 'json'], {cwd: dir})
    expect(r.code).toBe(0)
    expect(JSON.parse(await readText(dest))).toEqual(withSha(TAGGED))
  })

  it('jsonl: one record per line; --include-pending adds the pending ones', async () => {
    const dest = join(out, 'captions.jsonl')
    const r = await lora(['export', dest, '--format', 'jsonl', '--include-pending'], {cwd: dir})
    expect(r.code).toBe(0)
    const text = await readText(dest)
    expect(text.endsWith('}\n')).toBe(true)
    expect(
      text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(withSha([...TAGGED, ...PENDING]))
  })

  it.each([[[]], [['--format', 'folder']]])(
    '"-" with the folder format (%j, default or named) is a usage error naming the file formats; no folder "-"',
    async (formatArgs) => {
      // Run from the dataset folder (where a folder "-" would land among the originals) and from elsewhere.
      for (const cwd of [dir, out]) {
        const r = await lora(['export', '-', ...formatArgs], {cwd})
        expect(r.code).toBe(2)
        expect(r.stdout).toBe('')
        expect(r.stderr).toBe(
          'error: `-` writes to stdout, so it needs a file format (csv, tsv, json or jsonl); the folder format (the default) writes a folder. Nothing was written.\n' +
            'hint: Add a file format (`lora export - --format csv`), or give a folder (`lora export ./train`).\n',
        )
        await expect(fsp.lstat(join(cwd, '-'))).rejects.toMatchObject({code: 'ENOENT'})
      }
    },
  )

  it.each(['csv', 'tsv', 'json', 'jsonl'])('"-" writes %s to stdout and nothing to stderr', async (format) => {
    const r = await lora(['export', '-', '--format', format], {cwd: dir})
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    const records = withSha(TAGGED)
    if (format === 'json') expect(JSON.parse(r.stdout)).toEqual(records)
    else if (format === 'jsonl')
      expect(
        r.stdout
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual(records)
    else {
      const rows = parseCsv<Record<string, string>>(r.stdout, {columns: true, delimiter: format === 'csv' ? ',' : '\t'})
      expect(rows.map((row) => [row.file, row.caption, row.sha256])).toEqual(
        records.map((t) => [t.file, t.caption, t.sha256]),
      )
    }
  })

  it('a non-empty destination folder is refused (exit 1) unless --force', async () => {
    const dest = join(out, 'busy')
    await fsp.mkdir(dest)
    await fsp.writeFile(join(dest, 'keep.txt'), 'mine\n')
    const r = await lora(['export', dest], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('is not empty')
    expect(await listFiles(dest)).toEqual(['keep.txt'])

    const forced = await lora(['export', dest, '--force'], {cwd: dir})
    expect(forced.code).toBe(0)
    expect(await readText(join(dest, 'keep.txt'))).toBe('mine\n')
    await fsp.rm(join(dest, 'keep.txt'))
    await expectFolder(dest, TAGGED)

    // --force again over the previous export replaces the files of the same name.
    await fsp.writeFile(join(dest, 'img_0001.txt'), 'stale\n')
    const again = await lora(['export', dest, '--force'], {cwd: dir})
    expect(again.code).toBe(0)
    await expectFolder(dest, TAGGED)
  })

  it('a caption holding a control, bidi or C1 character is refused in every format, before anything is written', async () => {
    // The rule every command that reads a caption applies (core/terminal-text.ts captionTagsProblem).
    const hostile = await initDataset({names: ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg']})
    await loraOk(['tag', '--all', '--set', 'red, blue sky'], {cwd: hostile})
    await fsp.writeFile(join(hostile, 'output', 'img_0001.txt'), 'red\u001b]0;TITLE\u0007, bl\u202eue, \u009b31m\n')
    const message =
      'error: A caption to export holds a tag lora does not take in: img_0001 (output/img_0001.txt: tag "red\\x1b]0;TITLE\\x07" holds a control character (U+001B)). Nothing was written.\n'
    for (const [dest, args] of [
      [join(out, 'hostile'), []],
      [join(out, 'hostile.csv'), ['--format', 'csv']],
      [join(out, 'hostile.json'), ['--format', 'json']],
      [join(out, 'hostile.jsonl'), ['--format', 'jsonl']],
      ['-', ['--format', 'jsonl']],
    ] as const) {
      const r = await lora(['export', dest, ...args], {cwd: hostile})
      expect([dest, r.code, r.stdout, r.stderr.split('hint: ')[0]]).toEqual([dest, 1, '', message])
      expect(r.stderr).toContain('lora status --rescan')
      if (dest !== '-') await expect(fsp.lstat(dest)).rejects.toMatchObject({code: 'ENOENT'})
    }
    // A bidi or C1 character alone is refused the same way.
    await fsp.writeFile(join(hostile, 'output', 'img_0001.txt'), 'red, bl\u202eue\n')
    await fsp.writeFile(join(hostile, 'output', 'img_0002.txt'), 'red, \u009b31m\n')
    const both = await lora(['export', join(out, 'hostile2'), '--json'], {cwd: hostile})
    expect([both.code, both.stdout, fs.existsSync(join(out, 'hostile2'))]).toEqual([1, '', false])
    expect(both.stderr).toContain(
      '2 captions to export hold tags lora does not take in: img_0001 (output/img_0001.txt: tag "bl<U+202E>ue" holds a bidirectional control character (U+202E)); img_0002 (output/img_0002.txt: tag "\\x9b31m" holds a control character (U+009B)). Nothing was written.',
    )
  })

  it('a state.json source through a symbolic link (root -> /) protects no folder: an export elsewhere is not refused', async () => {
    const linked = await initDataset({names: ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg']})
    await loraOk(['tag', '--all', '--set', 'red, blue sky'], {cwd: linked})
    await fsp.symlink('/', join(linked, 'root'))
    const statePath = join(linked, '.lora-tagger', 'state.json')
    const state = JSON.parse(await readText(statePath))
    state.images[0].source = 'root/x.jpg'
    await fsp.writeFile(statePath, JSON.stringify(state, null, 2))
    const dest = join(out, 'through-root-link')
    const r = await lora(['export', dest], {cwd: linked})
    expect([r.code, r.stderr]).toEqual([0, expect.stringMatching(/^Exported 2 images as folder/u)])
    expect(await listFiles(dest)).toEqual(['img_0001.jpg', 'img_0001.txt', 'img_0002.jpg', 'img_0002.txt'])
    const target = await lora(['export', join(out, 'through-root-link-hf'), '--target', 'hf'], {cwd: linked})
    expect(target.code).toBe(0)
    // The dataset folder itself stays protected (exit 2).
    expect((await lora(['export', join(linked, 'train')], {cwd: linked})).code).toBe(2)
  })

  it('nothing tagged yet: a folder or target export is refused, naming the counts and the ways out; a file format lists none', async () => {
    const fresh = await initDataset({names: GOOD_FIXTURES.slice(0, 2)})
    const hint =
      'hint: tag them first (`lora next`, or `lora tag` in scripts); `--include-pending` exports pending images too (the trigger word as caption); `--include-auto` the ones a model captioned (`lora autotag`).\n'
    for (const args of [[], ['--target', 'kohya', '--class', 'woman'], ['--target', 'civitai']]) {
      const dest = join(out, `nothing-${args.length}${args.includes('civitai') ? '.zip' : ''}`)
      const r = await lora(['export', dest, ...args], {cwd: fresh})
      expect([args, r.code, r.stdout, fs.existsSync(dest)]).toEqual([args, 1, '', false])
      expect(r.stderr).toBe(
        'error: Nothing to export: none of the 2 images is ready to export (0 tagged, 2 pending, 0 skipped, 0 auto). Nothing was written.\n' +
          hint,
      )
    }
    // One image: said in the singular.
    const one = await initDataset({names: GOOD_FIXTURES.slice(0, 1)})
    const single = await lora(['export', join(out, 'nothing-one')], {cwd: one})
    expect([single.code, single.stderr.split('\n').slice(0, 2)]).toEqual([
      1,
      [
        'error: Nothing to export: the 1 image is not ready to export (0 tagged, 1 pending, 0 skipped, 0 auto). Nothing was written.',
        'hint: tag it first (`lora next`, or `lora tag` in scripts); `--include-pending` exports pending images too (the trigger word as caption); `--include-auto` the ones a model captioned (`lora autotag`).',
      ],
    ])
    // With --include-pending the pending images go (their captions: the trigger word, here none).
    await loraOk(['export', join(out, 'nothing-pending'), '--include-pending'], {cwd: fresh})
    expect(fs.readdirSync(join(out, 'nothing-pending')).length).toBe(4)
    // A file format may list no image (a script counting them, say).
    const csv = await lora(['export', '-', '--format', 'csv'], {cwd: fresh})
    expect([csv.code, csv.stdout.trim()]).toEqual([0, 'file,caption,tags,width,height,sha256'])
  })

  it('an existing file destination is refused (exit 1) unless --force', async () => {
    const dest = join(out, 'existing.csv')
    await fsp.writeFile(dest, 'keep me\n')
    const r = await lora(['export', dest, '--format', 'csv'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('exists')
    expect(await readText(dest)).toBe('keep me\n')

    const forced = await lora(['export', dest, '--format', 'csv', '--force'], {cwd: dir})
    expect(forced.code).toBe(0)
    expect(parseCsv(await readText(dest), {columns: true}).length).toBe(3)
  })
})
