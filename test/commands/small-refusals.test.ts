/**
 * Rule 13 of issue 12 (README "Safety model"): `lora init` inside another dataset's output folder or `.lora-tagger/`
 * is refused (exit 2, naming that dataset, nothing written); `--prefix`, `--trigger` and `--class` holding a newline
 * are refused (exit 2, nothing written); `-C` (or LORA_DATASET) naming a file says that it expects the dataset
 * folder and which dataset holds the file (exit 2).
 * In-process (test/in-process.ts) on a real dataset of fixture images; needs `npm run build`.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, removeTemp} from '../helpers.js'
import {snapshot} from '../e2e/e2e-helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'skimage-horse.png']

let tmp: string
let root: string

beforeAll(async () => {
  tmp = await makeTemp('lora-small-')
  root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  await loraInOk(['init', '.', '--out', 'train'], {cwd: root})
  // An extra image inside the output folder and inside .lora-tagger/, as a user might put one there.
  await fsp.copyFile(join(root, IMAGES[0]), join(root, 'train', 'extra.jpg'))
  await fsp.mkdir(join(root, '.lora-tagger', 'sub'))
  await fsp.copyFile(join(root, IMAGES[0]), join(root, '.lora-tagger', 'sub', 'extra.jpg'))
})
afterAll(() => removeTemp(tmp))

describe('init inside another dataset', () => {
  it.each([
    ['its output folder (configured name)', 'train', 'output folder (train/)'],
    ['a subfolder of its output folder', 'train/deeper', 'output folder (train/)'],
    ['its .lora-tagger/ folder', '.lora-tagger', '.lora-tagger/ folder'],
    ['a folder inside .lora-tagger/', '.lora-tagger/sub', '.lora-tagger/ folder'],
  ])('refuses %s: exit 2, names the dataset, writes nothing', async (_what, sub, where) => {
    await fsp.mkdir(join(root, sub), {recursive: true})
    const before = await snapshot(root)
    const result = await loraIn(['init', sub], {cwd: root})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`is inside the ${where} of the dataset ${root}; not making a dataset there.`)
    expect(result.stderr).toMatch(/^hint: .*lora init/mu)
    expect(await snapshot(root)).toEqual(before)
  })

  it('allows a dataset in an ordinary subfolder of another dataset', async () => {
    const other = join(root, 'more')
    await copyFixtures(other, [IMAGES[1]])
    await loraInOk(['init', 'more'], {cwd: root})
    await fsp.access(join(other, '.lora-tagger', 'state.json'))
  })
})

describe('flags with a newline', () => {
  it.each([
    [['init', 'fresh', '--prefix', 'a\nb'], '--prefix'],
    [['init', 'fresh', '--trigger', 'oh\nwx'], '--trigger'],
    [['export', 'out', '--repeats', '2', '--class', 'wo\nman', '--include-pending'], '--class'],
  ])('lora %j: exit 2 naming the flag, nothing written', async (args, flag) => {
    const fresh = join(root, 'fresh')
    await copyFixtures(fresh, [IMAGES[1]])
    const before = await snapshot(root)
    const result = await loraIn(args, {cwd: root})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`error: ${flag} `)
    expect(result.stderr).toContain('\\n')
    expect(await snapshot(root)).toEqual(before)
  })
})

describe('-C naming a file', () => {
  it('says -C expects the dataset folder and names the dataset holding the file (exit 2)', async () => {
    const result = await loraIn(['status', '-C', 'train/img_0001.jpg'], {cwd: root})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(
      `error: -C train/img_0001.jpg: -C expects the dataset folder; ${join(root, 'train', 'img_0001.jpg')} is a file.`,
    )
    expect(result.stderr).toContain(`hint: That file belongs to the dataset ${root}: use \`-C ${root}\`.`)
  })

  it('LORA_DATASET naming a file outside any dataset: the hint says what to give', async () => {
    await fsp.writeFile(join(tmp, 'notes.txt'), 'x')
    const result = await loraIn(['tag', '1', '--add', 'x'], {cwd: tmp, env: {LORA_DATASET: join(tmp, 'notes.txt')}})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('LORA_DATASET expects the dataset folder')
    expect(result.stderr).toContain('hint: Give the folder that holds .lora-tagger/')
  })

  it('a missing -C folder says it does not exist (exit 3), with no hint to init it', async () => {
    const result = await loraIn(['status', '-C', 'nowhere'], {cwd: root})
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/^error: -C nowhere: .*nowhere does not exist\.\nhint: Check the path/u)
  })
})
