/**
 * `lora autotag --from prompt` (the prompts image generators embedded, as predictions; no model, no runtime) and
 * the config key `autotag.model`, in-process: nothing here runs inference.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {cleanupTemps, cloneDataset, readState, readText, tempDir} from '../e2e/e2e-helpers.js'
import {git, subject} from '../git-helpers.js'
import {pngWithText} from '../genmeta-helpers.js'
import {lora, loraJson, loraOk} from './command-helpers.js'

/** Makes the runtime unloadable: these runs must not need it. */
const NO_RUNTIME = {LORA_ONNXRUNTIME_MODULE: '/nonexistent/onnxruntime-node.js'}
const A1111 =
  '(masterpiece:1.2), long_hair, blue eyes, <lora:style:0.8>, BREAK, smile\n' +
  'Negative prompt: lowres, bad hands\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 4x4'

interface Report {
  from: string
  model: unknown
  changed: number
  inferred: number
  skipped: {id: string; reason: string}[]
  images: {id: string; tags: {tag: string; score: number}[]; added?: string[]; status?: string}[]
}

/** The dataset `promptDataset` starts from, made once for this file by `base()`. */
let promptBase: Promise<string> | undefined
function base(): Promise<string> {
  promptBase ??= (async () => {
    const dir = await tempDir('lora-autotag-prompt-base-')
    await fsp.writeFile(join(dir, 'a.png'), await pngWithText([{type: 'tEXt', key: 'parameters', text: A1111}]))
    await fsp.writeFile(join(dir, 'b.png'), await pngWithText([]))
    await loraOk(['init', '.', '--trigger', 'ohwx', '--git'], {cwd: dir})
    return dir
  })()
  return promptBase
}

/**
 * A dataset of two images: img_0001 a PNG with an A1111 `parameters` chunk, img_0002 a PNG without one (`lora init
 * --trigger ohwx --git`, made once: a copy each time), with `tagStyle` and `config` added to its config.
 */
async function promptDataset(config = '', tagStyle = 'keep'): Promise<string> {
  const dir = await cloneDataset(await base())
  const configPath = join(dir, '.lora-tagger', 'config.yaml')
  const text = (await readText(configPath)).replace('tagStyle: keep', `tagStyle: ${tagStyle}`)
  await fsp.writeFile(configPath, text + config)
  return dir
}

afterAll(cleanupTemps)

describe('lora autotag --from prompt', () => {
  it('suggests the prompt tags in the tagStyle; an image without a prompt is skipped; writes nothing', async () => {
    const dir = await promptDataset('', 'spaces')
    const r = await loraJson<Report>(['autotag', '--from', 'prompt'], {cwd: dir, env: NO_RUNTIME})
    expect(r).toMatchObject({from: 'prompt', model: null, inferred: 0, changed: 0})
    expect(r.images.map((i) => i.id)).toEqual(['img_0001'])
    expect(r.images[0].tags.map((t) => t.tag)).toEqual(['masterpiece', 'long hair', 'blue eyes', 'smile'])
    expect(r.skipped).toEqual([{id: 'img_0002', reason: 'no embedded prompt'}])
    expect(await readText(join(dir, 'output', 'img_0001.txt'))).toBe('ohwx\n')
    const human = await loraOk(['autotag', '--from', 'prompt'], {cwd: dir, env: NO_RUNTIME})
    expect(human.stdout).toContain('img_0001: masterpiece, long hair, blue eyes, smile')
    expect(human.stderr).toContain('img_0002: skipped, no embedded prompt')
  })
  it('add merges them (trigger first, existing kept, --exclude and --max-tags apply): status auto, one commit', async () => {
    const dir = await promptDataset()
    await loraOk(['tag', '1', '--add', 'mytag'], {cwd: dir})
    const r = await loraJson<Report>(
      ['autotag', '--all', '--from', 'prompt', '--mode', 'add', '--exclude', 'masterpiece', '--max-tags', '2'],
      {cwd: dir, env: NO_RUNTIME},
    )
    expect(r.skipped).toEqual([{id: 'img_0002', reason: 'no embedded prompt'}])
    expect(r.changed).toBe(1)
    expect(await readText(join(dir, 'output', 'img_0001.txt'))).toBe('ohwx, mytag, long_hair, blue eyes\n')
    expect(await readText(join(dir, 'output', 'img_0002.txt'))).toBe('ohwx\n')
    const state = await readState(dir)
    expect(state.images.map((i: {status: string}) => i.status)).toEqual(['auto', 'pending'])
    expect(await subject(dir)).toBe('autotag 1 image (prompt): +blue eyes +long_hair')
  })
  it('replace replaces the caption', async () => {
    const dir = await promptDataset()
    await loraOk(['tag', '1', '--add', 'mytag'], {cwd: dir})
    await loraOk(['autotag', '1', '--from', 'prompt', '--mode', 'replace'], {cwd: dir, env: NO_RUNTIME})
    expect(await readText(join(dir, 'output', 'img_0001.txt'))).toBe('ohwx, masterpiece, long_hair, blue eyes, smile\n')
  })
  it('refuses --model and the model-only flags with --from prompt', async () => {
    const dir = await promptDataset()
    for (const args of [['--model', 'x'], ['--threshold', '0.5'], ['--mcut']]) {
      const r = await lora(['autotag', '--from', 'prompt', ...args], {cwd: dir, env: NO_RUNTIME})
      expect(r.code).toBe(2)
    }
  })
})

describe('config autotag.model', () => {
  it('is the default of --model, relative to the dataset folder', async () => {
    const dir = await promptDataset('autotag:\n  model: models/my-tagger\n')
    const r = await lora(['autotag'], {cwd: join(dir, 'output'), env: NO_RUNTIME})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(JSON.stringify('models/my-tagger'))
    // The folder is looked up from the dataset folder, not from the working folder.
    await fsp.mkdir(join(dir, 'models', 'my-tagger'), {recursive: true})
    const found = await lora(['autotag'], {cwd: join(dir, 'output'), env: NO_RUNTIME})
    expect(found.stderr).toContain(join(dir, 'models', 'my-tagger', 'model.onnx'))
  })
  it('a dataset config naming a model folder outside the dataset, or linked out of it, is refused (--model is not)', async () => {
    const outside = await tempDir('lora-model-outside-')
    await fsp.writeFile(join(outside, 'model.onnx'), 'not read')
    await fsp.writeFile(join(outside, 'selected_tags.csv'), 'tag_id,name,category,count\n1,x,0,1\n')
    const refused = (r: {code: number | null; stderr: string}) => {
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain('autotag.model in .lora-tagger/config.yaml leads outside the dataset')
      expect(r.stderr).toContain('lora autotag --model PATH')
    }
    // An absolute path, and a relative one out of the dataset (a real folder beside it).
    const absolute = await promptDataset(`autotag:\n  model: ${JSON.stringify(outside)}\n`)
    refused(await lora(['autotag'], {cwd: absolute, env: NO_RUNTIME}))
    const relative = await promptDataset('autotag:\n  model: ../beside-model\n')
    await fsp.cp(outside, join(relative, '..', 'beside-model'), {recursive: true})
    refused(await lora(['autotag'], {cwd: relative, env: NO_RUNTIME}))
    // A folder inside the dataset that is a link out of it, and one whose model file is.
    const linked = await promptDataset('autotag:\n  model: models/m\n')
    await fsp.mkdir(join(linked, 'models'))
    await fsp.symlink(outside, join(linked, 'models', 'm'))
    refused(await lora(['autotag'], {cwd: linked, env: NO_RUNTIME}))
    const fileLinked = await promptDataset('autotag:\n  model: models/m\n')
    await fsp.mkdir(join(fileLinked, 'models', 'm'), {recursive: true})
    await fsp.copyFile(join(outside, 'selected_tags.csv'), join(fileLinked, 'models', 'm', 'selected_tags.csv'))
    await fsp.symlink(join(outside, 'model.onnx'), join(fileLinked, 'models', 'm', 'model.onnx'))
    refused(await lora(['autotag'], {cwd: fileLinked, env: NO_RUNTIME}))
    // The same folder given by the user: taken (it fails later, for want of the runtime, not for where it is).
    const given = await lora(['autotag', '--model', outside], {cwd: linked, env: NO_RUNTIME})
    expect(given.stderr).not.toContain('leads outside the dataset')
  })
  it('without --model or autotag.model: a usage error naming both', async () => {
    const dir = await promptDataset()
    const r = await lora(['autotag'], {cwd: dir, env: NO_RUNTIME})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--model')
    expect(r.stderr).toContain('autotag.model')
  })
  it('a bad value is a config error naming the key', async () => {
    for (const bad of ['autotag: x\n', 'autotag:\n  model: 3\n', 'autotag:\n  other: a\n']) {
      const dir = await promptDataset()
      await fsp.appendFile(join(dir, '.lora-tagger', 'config.yaml'), bad)
      const r = await lora(['status'], {cwd: dir})
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain('autotag')
    }
  })
})

describe('the auto status survives lora repair and status --rescan while the caption is as autotag wrote it', () => {
  /**
   * Two images autotagged (`add`, one commit), then img_0002 edited by a person with lora tag (a commit): made once
   * for these tests, each gets a copy.
   */
  let template: Promise<string> | undefined
  async function autotagged(): Promise<string> {
    template ??= makeAutotagged()
    return cloneDataset(await template)
  }
  async function makeAutotagged(): Promise<string> {
    const dir = await tempDir('lora-autotag-keep-base-')
    for (const [name, text] of [
      ['a.png', A1111],
      ['b.png', 'smile, hat'],
    ])
      await fsp.writeFile(join(dir, name), await pngWithText([{type: 'tEXt', key: 'parameters', text}]))
    await loraOk(['init', '.', '--trigger', 'ohwx', '--git'], {cwd: dir})
    await loraOk(['autotag', '--from', 'prompt', '--mode', 'add'], {cwd: dir, env: NO_RUNTIME})
    await loraOk(['tag', '2', '--add', 'checked'], {cwd: dir})
    return dir
  }
  const statuses = async (dir: string) => (await readState(dir)).images.map((i: {status: string}) => i.status)

  it('lora repair: auto for a caption still as the autotag commit wrote it, tagged for one a person changed', async () => {
    const dir = await autotagged()
    expect(await statuses(dir)).toEqual(['auto', 'tagged'])
    await fsp.rm(join(dir, '.lora-tagger', 'state.json'))
    const r = await loraJson<{images: {auto: number; tagged: number}}>(['repair'], {cwd: dir})
    expect(r.images).toMatchObject({auto: 1, tagged: 1})
    expect(await statuses(dir)).toEqual(['auto', 'tagged'])
  })
  it('lora repair: a caption edited by hand since the autotag commit is tagged', async () => {
    const dir = await autotagged()
    await fsp.appendFile(join(dir, 'output', 'img_0001.txt'), 'by hand\n')
    await fsp.rm(join(dir, '.lora-tagger', 'state.json'))
    await loraOk(['repair', '--no-commit'], {cwd: dir})
    expect(await statuses(dir)).toEqual(['tagged', 'tagged'])
  })
  it('status --rescan with a state behind the captions (restored from before autotag): auto, not tagged', async () => {
    const dir = await autotagged()
    const before = await git(dir, ['show', 'HEAD~2:.lora-tagger/state.json'])
    await fsp.writeFile(join(dir, '.lora-tagger', 'state.json'), before)
    expect(await statuses(dir)).toEqual(['pending', 'pending'])
    await loraOk(['status', '--rescan'], {cwd: dir})
    expect(await statuses(dir)).toEqual(['auto', 'tagged'])
  })
})
