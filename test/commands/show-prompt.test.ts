/**
 * Embedded generator prompts through the commands (issue 14): `lora init` records them in state.json, `lora show
 * --json` reports `prompt: {positive, negative, generator}` (null when none), the human form shows the positive
 * prompt escaped; an old state without the field still loads, and show reads the file then.
 * In-process (test/in-process.ts); needs `npm run build`.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraInOk} from '../in-process.js'
import {makeTemp, readState, removeTemp} from '../helpers.js'
import {A1111_TEXT, jpegWith, jpegWithUserComment, pngWithText, unicodeComment} from '../genmeta-helpers.js'
import {openDataset} from '../../src/store/dataset.js'
import {imagePromptTags} from '../../src/services/prompt-tags.js'

let tmp: string
beforeEach(async () => {
  tmp = await fsp.realpath(await makeTemp('lora-show-prompt-'))
})
afterEach(() => removeTemp(tmp))

const json = async (args: string[], cwd: string) => JSON.parse((await loraInOk([...args, '--json'], {cwd})).stdout)

it('init records the prompt, show --json reports it (null without one), the human form escapes it', async () => {
  const root = join(tmp, 'ds')
  await fsp.mkdir(root)
  await fsp.writeFile(join(root, 'a.png'), await pngWithText([{type: 'tEXt', key: 'parameters', text: A1111_TEXT}]))
  await fsp.writeFile(
    join(root, 'b.jpg'),
    await jpegWithUserComment(unicodeComment('red \x1b[31mdress\nSteps: 1, Seed: 2, Size: 8x8', 'be'), 'MM'),
  )
  await fsp.writeFile(join(root, 'c.jpg'), await jpegWith([]))
  await loraInOk(['init', '.'], {cwd: root})

  const a1111 = {
    positive: '1girl, (red hair:1.2), ((smile)), [blurry], <lora:detail:0.8>, pokemon \\(creature\\)\nBREAK outdoors',
    negative: 'lowres, (bad hands:1.3)',
    generator: 'automatic1111',
  }
  const state = await readState(root)
  const records = state.images as unknown as {prompt?: unknown}[]
  expect(records[0].prompt).toEqual(a1111)
  expect(records[1].prompt).toEqual({positive: 'red \x1b[31mdress', negative: '', generator: 'automatic1111'})
  expect('prompt' in records[2]).toBe(false)

  const shown = await json(['show', '1'], root)
  expect(shown.prompt).toEqual(a1111)
  expect(Object.keys(shown).slice(-2)).toEqual(['prompt', 'skipReason'])
  expect((await json(['show', '3'], root)).prompt).toBeNull()

  const human = (await loraInOk(['show', '2'], {cwd: root})).stdout
  expect(human).toContain('Prompt:   red \\x1b[31mdress (automatic1111)')
  expect(human).not.toContain('\x1b')
  expect((await loraInOk(['show', '3'], {cwd: root})).stdout).not.toContain('Prompt:')

  // The tags autotag --from prompt will use: syntax removed, extra networks dropped.
  const dataset = await openDataset(root)
  const loaded = await dataset.loadState()
  expect(imagePromptTags(dataset, loaded.images[0]).tags).toEqual([
    '1girl',
    'red hair',
    'smile',
    'blurry',
    'pokemon (creature)',
    'outdoors',
  ])
  // A tag holding a control character is never suggested.
  expect(imagePromptTags(dataset, loaded.images[1]).tags).toEqual([])
})

it('a state written before prompts were read loads; show reads the prompt from the image file', async () => {
  const root = join(tmp, 'ds')
  await fsp.mkdir(root)
  await fsp.writeFile(
    join(root, 'a.png'),
    await pngWithText([{type: 'iTXt', key: 'parameters', text: A1111_TEXT, compressed: true}]),
  )
  await loraInOk(['init', '.'], {cwd: root})
  const statePath = join(root, '.lora-tagger', 'state.json')
  const text = await fsp.readFile(statePath, 'utf8')
  expect(text).toContain('"prompt":')
  await fsp.writeFile(statePath, text.replace(/,"prompt":\{[^}]*\}/u, ''))
  expect(await fsp.readFile(statePath, 'utf8')).not.toContain('"prompt":')
  expect((await json(['show', '1'], root)).prompt).toMatchObject({
    generator: 'automatic1111',
    negative: 'lowres, (bad hands:1.3)',
  })
  expect((await json(['status'], root)).images.total).toBe(1)
})
