/**
 * `lora export` through the built binary (bin/run.js in a child process): a smoke of what only a process shows, the
 * exit status and the bytes on stdout and stderr, for a folder export, `-` (records on stdout) and a refusal (exit 1).
 * Every case of the command's behaviour runs in-process in test/commands/export.test.ts.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {parse as parseCsv} from 'csv-parse/sync'
import {
  GOOD_FIXTURES,
  cleanupTemps,
  initDataset,
  listFiles,
  lora,
  loraOk,
  readState,
  sha256,
  tempDir,
} from './e2e-helpers.js'

let dir: string

beforeAll(async () => {
  dir = await initDataset({names: GOOD_FIXTURES.slice(0, 3), initArgs: ['--trigger', 'ohwx']})
  await loraOk(['tag', '--stdin'], {cwd: dir, input: '1\tcat, sitting\n2\tsky, say "hi"\n'})
})
afterAll(cleanupTemps)

describe('lora export through bin/run.js', () => {
  it('a folder: exit 0, the summary on stderr, nothing on stdout; images byte-identical, captions trigger first', async () => {
    const dest = join(await tempDir('lora-export-'), 'train')
    const r = await lora(['export', dest], {cwd: dir})
    expect(r).toEqual({
      code: 0,
      signal: null,
      stdout: '',
      stderr: `Exported 2 images as folder to ${dest} (1 pending or skipped left out).\nThe images are copied byte for byte: metadata (a GPS position too), EXIF orientation and format as they were. For trainer-ready copies (upright, no metadata, formats every trainer reads, with the config), export with --target (kohya, ai-toolkit, onetrainer, diffusion-pipe, hf, civitai).\n`,
    })
    expect(await listFiles(dest)).toEqual(['img_0001.jpg', 'img_0001.txt', 'img_0002.jpg', 'img_0002.txt'])
    expect(await sha256(join(dest, 'img_0001.jpg'))).toBe(await sha256(join(dir, 'output', 'img_0001.jpg')))
    expect(await fsp.readFile(join(dest, 'img_0002.txt'), 'utf8')).toBe('ohwx, sky, say "hi"\n')
  })

  it('"-" writes the records to stdout (a pipe) and nothing to stderr', async () => {
    const r = await lora(['export', '-', '--format', 'csv'], {cwd: dir})
    expect(r).toMatchObject({code: 0, signal: null, stderr: ''})
    const shas = Object.fromEntries((await readState(dir)).images.map((i) => [i.file, i.sha256]))
    expect(parseCsv(r.stdout, {columns: true})).toEqual([
      {
        file: 'img_0001.jpg',
        caption: 'ohwx, cat, sitting',
        tags: 'ohwx, cat, sitting',
        width: '400',
        height: '250',
        sha256: shas['img_0001.jpg'],
      },
      {
        file: 'img_0002.jpg',
        caption: 'ohwx, sky, say "hi"',
        tags: 'ohwx, sky, say "hi"',
        width: '400',
        height: '250',
        sha256: shas['img_0002.jpg'],
      },
    ])
  })

  it('exit 1 for a destination that is not empty, with one error and a hint naming --force', async () => {
    const dest = await tempDir('lora-export-busy-')
    await fsp.writeFile(join(dest, 'keep.txt'), 'mine\n')
    const r = await lora(['export', dest], {cwd: dir})
    expect(r).toMatchObject({code: 1, signal: null, stdout: ''})
    expect(r.stderr).toMatch(/^error: .* is not empty; not writing into it\.\nhint: .*--force/u)
    expect(await listFiles(dest)).toEqual(['keep.txt'])
  })
})
