/**
 * One spelling per tag in a caption (core/caption.ts `uniqueCaptionTags`): a tag the caption already has, in any
 * case, or the trigger word, is not added again by `lora tag --add/--set`, and a caption that holds a tag twice (edited
 * by hand) is rewritten with its first spelling when `lora tag` edits it — which is what `lora validate`'s
 * `duplicate-tag` hint suggests, so following the hint makes validate clean. In-process (test/in-process.ts).
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {cleanupTemps, cloneDataset, readState, readText} from '../e2e/e2e-helpers.js'
import {initDataset, lora, loraJson, loraOk} from './command-helpers.js'

let template: string

beforeAll(async () => {
  template = await initDataset({
    names: ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg'],
    initArgs: ['--trigger', 'ohwx'],
  })
})
afterAll(cleanupTemps)

const caption = (dir: string, n: number) => readText(join(dir, 'output', `img_000${n}.txt`))

/** The duplicate-tag findings of `lora validate --json` (it exits 0: the rule is a warning). */
async function duplicates(dir: string): Promise<{path: string; message: string}[]> {
  const r = await lora(['validate', '--json', '--min-side', '1'], {cwd: dir})
  expect(r.code).toBe(0)
  const report = JSON.parse(r.stdout) as {findings: {rule: string; path: string; message: string}[]}
  return report.findings.filter((f) => f.rule === 'duplicate-tag')
}

describe('one spelling per tag', () => {
  it('--add and --set keep the first spelling, case ignored, the trigger word counted', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '1', '--add', 'sky'], {cwd: dir})
    const added = await lora(['tag', '1', '--add', 'SKY, Sky, OHWX'], {cwd: dir})
    expect(added.code).toBe(0)
    expect(added.stdout).toBe('')
    expect(added.stderr).toBe('0 of 1 image changed.\n')
    expect(await caption(dir, 1)).toBe('ohwx, sky\n')

    await loraOk(['tag', '2', '--set', 'Cloud, cloud, CLOUD, tree, Ohwx'], {cwd: dir})
    expect(await caption(dir, 2)).toBe('ohwx, Cloud, tree\n')
    const state = await readState(dir)
    expect(state.images.map((i) => i.tags)).toEqual([
      ['ohwx', 'sky'],
      ['ohwx', 'Cloud', 'tree'],
    ])
  })

  it("validate's duplicate-tag, then the command its hint suggests, then validate is clean", async () => {
    const dir = await cloneDataset(template)
    // Edited by hand (another tool): the same tag twice, in two cases.
    await fsp.writeFile(join(dir, 'output', 'img_0001.txt'), 'ohwx, sky, SKY, cloud\n')
    const found = await duplicates(dir)
    expect(found).toEqual([expect.objectContaining({path: 'img_0001.txt', message: expect.stringContaining('"SKY"')})])
    const human = await lora(['validate', '--min-side', '1'], {cwd: dir})
    expect(human.stderr + human.stdout).toContain('lora tag <image> --set "..."')

    // The hint's command, with the caption's tags as they are: the repeat goes, the first spelling stays.
    const fixed = await loraJson(['tag', 'img_0001', '--set', 'ohwx, sky, SKY, cloud', '--json'], {cwd: dir})
    expect(fixed.images[0]).toMatchObject({
      before: ['ohwx', 'sky', 'SKY', 'cloud'],
      after: ['ohwx', 'sky', 'cloud'],
      added: [],
      removed: ['SKY'],
      changed: true,
    })
    expect(await caption(dir, 1)).toBe('ohwx, sky, cloud\n')
    expect(await duplicates(dir)).toEqual([])
  })

  it('an exact repeat is removed too, even when the tags asked for are the same', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '2', '--set', 'tree'], {cwd: dir})
    await fsp.writeFile(join(dir, 'output', 'img_0002.txt'), 'ohwx, tree, tree\n')
    expect(await duplicates(dir)).toHaveLength(1)
    const r = await loraOk(['tag', '2', '--set', 'tree'], {cwd: dir})
    expect(r.stdout).toBe('img_0002: (rewritten)\n')
    expect(r.stderr).toBe('1 of 1 image changed.\n')
    expect(await caption(dir, 2)).toBe('ohwx, tree\n')
    expect(await duplicates(dir)).toEqual([])
  })
})
