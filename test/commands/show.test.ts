/**
 * `lora show IMAGE [--json]` (issue 13): one image's id, file, original, size in pixels, bytes, sha256, status,
 * tags and trigger word, duplicates found later, and what is wrong with its files now; the image named as every
 * command names one; text from files escaped for the terminal; nothing written.
 * In-process (test/in-process.ts) on real fixture images; needs `npm run build`.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, removeTemp, sha256} from '../helpers.js'
import {snapshot} from '../e2e/e2e-helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'skimage-horse.png']

let tmp: string

beforeEach(async () => {
  tmp = await fsp.realpath(await makeTemp('lora-show-'))
})
afterEach(() => removeTemp(tmp))

/** A dataset (trigger ohwx) of two images and a copy of the first under another name, the first tagged. */
async function dataset(): Promise<string> {
  const root = join(tmp, 'ds')
  await copyFixtures(root, IMAGES)
  await fsp.copyFile(join(root, IMAGES[0]), join(root, 'z copy.jpg'))
  await loraInOk(['init', '.', '--trigger', 'ohwx'], {cwd: root})
  await loraInOk(['tag', '1', '--add', 'red hair, smile'], {cwd: root})
  return root
}

const json = async (args: string[], cwd: string) => JSON.parse((await loraInOk([...args, '--json'], {cwd})).stdout)

it('--json: the documented shape, the facts of the file on disk', async () => {
  const root = await dataset()
  const report = await json(['show', '1'], root)
  expect(report).toEqual({
    id: 'img_0001',
    file: 'img_0001.jpg',
    path: join(root, 'output', 'img_0001.jpg'),
    source: 'plasma-Autumn-screenshot.jpg',
    caption: 'output/img_0001.txt',
    width: 400,
    height: 250,
    format: 'jpeg',
    bytes: (await fsp.stat(join(root, 'output', 'img_0001.jpg'))).size,
    sha256: await sha256(join(root, 'output', 'img_0001.jpg')),
    status: 'tagged',
    tags: ['ohwx', 'red hair', 'smile'],
    trigger: 'ohwx',
    updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/u),
    duplicates: ['z copy.jpg'],
    problems: [],
    prompt: null,
    skipReason: null,
  })
  // The documented order of the keys.
  expect(Object.keys(report).join(' ')).toBe(
    'id file path source caption width height format bytes sha256 status tags trigger updatedAt duplicates problems prompt skipReason',
  )
  const pending = await json(['show', 'img_0002'], root)
  expect(pending).toMatchObject({
    id: 'img_0002',
    status: 'pending',
    tags: ['ohwx'],
    width: 400,
    height: 328,
    format: 'png',
    updatedAt: null,
    duplicates: [],
  })
})

it('names the image as other commands do: number, id, file name, caption, path, original', async () => {
  const root = await dataset()
  for (const [ref, cwd] of [
    ['2', root],
    ['img_0002', root],
    ['img_0002.png', root],
    ['img_0002.txt', root],
    ['output/img_0002.png', root],
    ['img_0002.png', join(root, 'output')],
    ['skimage-horse.png', root],
    ['ds/skimage-horse.png', tmp],
  ] as const) {
    const cmd = cwd === tmp ? ['-C', 'ds', 'show', ref] : ['show', ref]
    expect((await json(cmd, cwd)).id).toBe('img_0002')
  }
  expect(await loraIn(['show', '9'], {cwd: root})).toMatchObject({
    code: 2,
    stdout: '',
    stderr: expect.stringMatching(/^error: No image matches "9"\.\nhint: /u),
  })
  expect((await loraIn(['show'], {cwd: root})).code).toBe(2)
})

it('human form: one labelled line per fact, the trigger word marked; writes nothing', async () => {
  const root = await dataset()
  const before = await snapshot(root)
  const out = (await loraInOk(['show', 'img_0001'], {cwd: root})).stdout
  const sha = await sha256(join(root, 'output', 'img_0001.jpg'))
  const bytes = (await fsp.stat(join(root, 'output', 'img_0001.jpg'))).size
  expect(out).toMatch(
    new RegExp(
      [
        `^img_0001  ${join(root, 'output', 'img_0001.jpg')}`,
        'Original: plasma-Autumn-screenshot\\.jpg',
        `Size:     400×250 px, jpeg, ${bytes} bytes`,
        `sha256:   ${sha}`,
        'Status:   tagged \\(\\d{4}-[^)]+\\)',
        'Tags:     ohwx \\(trigger word\\), red hair, smile',
        'Caption:  output/img_0001\\.txt',
        'Duplicates \\(not imported\\): z copy\\.jpg',
        '$',
      ].join('\n'),
      'u',
    ),
  )
  expect(await snapshot(root)).toEqual(before)
})

it('says what later commands found: a caption edited by hand, an image changed or gone', async () => {
  const root = await dataset()
  await fsp.writeFile(join(root, 'output', 'img_0001.txt'), 'ohwx, blue hair\n')
  await fsp.appendFile(join(root, 'output', 'img_0002.png'), 'x')
  let report = await json(['show', '1'], root)
  expect(report.tags).toEqual(['ohwx', 'blue hair'])
  expect(report.problems).toEqual([
    {
      kind: 'caption-edited',
      reason: expect.stringContaining('output/img_0001.txt holds other tags than lora recorded'),
    },
  ])
  report = await json(['show', '2'], root)
  expect(report.problems).toEqual([{kind: 'changed', reason: expect.stringMatching(/size \d+ → \d+ bytes/u)}])
  expect((await loraInOk(['show', '2'], {cwd: root})).stdout).toContain('\nChanged: size ')
  await fsp.rm(join(root, 'output', 'img_0002.png'))
  expect((await json(['show', '2'], root)).problems).toEqual([{kind: 'missing', reason: 'gone'}])
  expect((await loraInOk(['show', '2'], {cwd: root})).stdout).toContain('\nMissing: the file is gone; restore it')
})

it('a caption that is not text: the state tags, and the problem', async () => {
  const root = await dataset()
  await fsp.writeFile(join(root, 'output', 'img_0001.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]))
  const report = await json(['show', '1'], root)
  expect(report.tags).toEqual(['ohwx', 'red hair', 'smile'])
  expect(report.problems).toEqual([{kind: 'caption-encoding', reason: expect.any(String)}])
})

it('escapes control characters from files on the terminal (JSON keeps them, escaped as JSON does)', async () => {
  const root = await dataset()
  await fsp.writeFile(join(root, 'output', 'img_0001.txt'), 'ohwx, red\x1b[2Jhair, evil\u202Etxt.exe\n')
  const human = await loraInOk(['show', '1'], {cwd: root})
  expect(human.stdout).not.toMatch(/[\x1b\u202E]/u)
  expect(human.stdout).toContain('Tags:     ohwx (trigger word), red\\x1b[2Jhair, evil<U+202E>txt.exe')
  const raw = (await loraInOk(['show', '1', '--json'], {cwd: root})).stdout
  expect(raw).toContain('"red\\u001b[2Jhair"')
})
