/**
 * `--json` shapes that must agree (in-process): one key per idea across commands (README "Commands"), and
 * `lora validate --json` printing exactly the bytes of `--format json` now that oclif prints the report the command
 * returns.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {copyFixtures, makeTemp, removeTemp} from '../helpers.js'
import {loraIn, loraInOk} from '../in-process.js'

let tmp: string
let dataset: string

beforeAll(async () => {
  tmp = await fsp.realpath(await makeTemp('lora-shapes-'))
  dataset = join(tmp, 'imgs')
  await copyFixtures(dataset, ['plasma-Kite-screenshot.jpg', 'skimage-horse.png', 'skimage-truncated.jpg'])
})
afterAll(async () => removeTemp(tmp))

describe('one key per idea', () => {
  it('a problem file is {source, reason} in init --json, status --json and state.json alike', async () => {
    const init = JSON.parse((await loraInOk(['init', '.', '--json'], {cwd: dataset})).stdout)
    const status = JSON.parse((await loraInOk(['status', '--json'], {cwd: dataset})).stdout)
    const state = JSON.parse(await fsp.readFile(join(dataset, '.lora-tagger', 'state.json'), 'utf8'))
    expect(init.problems).toEqual([{source: 'skimage-truncated.jpg', reason: expect.stringMatching(/\S/u)}])
    expect(status.problems).toEqual(init.problems)
    expect(state.problems).toEqual(init.problems)
  })

  it('tags rm reports {changed, images: [{id, file, ...}]} as tag does', async () => {
    const tag = JSON.parse((await loraInOk(['tag', '--all', '--add', 'sky,kite', '--json'], {cwd: dataset})).stdout)
    const rm = JSON.parse((await loraInOk(['tags', 'rm', 'sky', '--json'], {cwd: dataset})).stdout)
    expect(Object.keys(tag).sort()).toEqual(['changed', 'dryRun', 'images'])
    expect(Object.keys(rm).sort()).toEqual(['action', 'changed', 'dryRun', 'images', 'notFound', 'vocabulary'])
    expect(rm.notFound).toEqual([])
    expect(rm.changed).toBe(tag.changed)
    expect(rm.images.map((i: {id: string; file: string}) => [i.id, i.file])).toEqual(
      tag.images.map((i: {id: string; file: string}) => [i.id, i.file]),
    )
    expect(Object.keys(rm.images[0]).sort()).toEqual(['added', 'after', 'before', 'file', 'id', 'removed'])
  })
})

describe('lora validate --json', () => {
  it('prints the bytes of --format json (oclif prints the report run() returns), failing (exit 4) or passing', async () => {
    const folder = join(tmp, 'train')
    await fsp.mkdir(join(folder, '10_ohwx cat'), {recursive: true})
    await fsp.copyFile(join(dataset, 'output', 'img_0001.jpg'), join(folder, '10_ohwx cat', 'a.jpg'))
    const failing = await loraIn(['validate', folder, '--format', 'json'], {cwd: tmp})
    expect(failing.code).toBe(4)
    expect(JSON.parse(failing.stdout).errors).toBeGreaterThan(0)
    const failingJson = await loraIn(['validate', folder, '--json'], {cwd: tmp})
    expect(failingJson.code).toBe(4)
    expect(failingJson.stdout).toBe(failing.stdout)
    expect(failingJson.stderr).toBe(failing.stderr)

    await fsp.writeFile(join(folder, '10_ohwx cat', 'a.txt'), 'ohwx, kite\n')
    const passing = await loraIn(['validate', folder, '--format', 'json', '--ignore', 'low-resolution'], {cwd: tmp})
    expect(passing.code).toBe(0)
    const passingJson = await loraIn(['validate', folder, '--json', '--ignore', 'low-resolution'], {cwd: tmp})
    expect(passingJson.code).toBe(0)
    expect(passingJson.stdout).toBe(passing.stdout)
    expect(passingJson.stdout).toBe(JSON.stringify(JSON.parse(passing.stdout), null, 2) + '\n')
  })
})
