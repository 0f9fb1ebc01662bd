/**
 * `lora autotag` in-process, with tiny tagger models generated in the test (test/autotag/tiny-model.ts; nothing
 * downloaded) over real fixture photos: the scores match the ones computed independently from the decoded pixels
 * (so channel order, white padding, alpha, EXIF orientation, the input size read from the model and the NHWC
 * layout are as the WD14 reference does them), the predictions cache (a rerun with other thresholds runs no
 * inference: it succeeds with the runtime made unloadable), the modes, the `auto` status in status, next, tag and
 * export.
 *
 * Runs that need inference spawn the built CLI (`inferJson`): onnxruntime-node's native binding makes its output
 * arrays in the process's main JavaScript realm, which the runtime's own type check refuses inside jest's vm
 * context. Every other run is in-process.
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import sharp from 'sharp'
import {cleanupTemps, cloneDataset, readState, readText, tempDir} from '../e2e/e2e-helpers.js'
import {FIXTURES, runCli, sha256} from '../helpers.js'
import {subject} from '../git-helpers.js'
import {expectedScores, PROBES, writeTinyModel} from '../autotag/tiny-model.js'
import {lora, loraJson, loraOk} from './command-helpers.js'

const PHOTOS = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'plasma-Path-screenshot.jpg']
/** Makes the runtime unloadable: a run that needs inference fails, one served by the cache does not. */
const NO_RUNTIME = {LORA_ONNXRUNTIME_MODULE: '/nonexistent/onnxruntime-node.js'}

/** Runs `lora ...args --json` as a process (it must exit 0) and parses stdout. */
async function inferJson<T>(args: string[], cwd: string): Promise<T> {
  const r = await runCli([...args, '--json'], {cwd})
  if (r.code !== 0) throw new Error(`lora ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

let template: string
let m32: string
let m24: string
/** The image files given to init, with the quarter turns their display needs (EXIF orientation). */
const SOURCES: Record<string, number> = {}

beforeAll(async () => {
  const root = await tempDir('lora-autotag-')
  m32 = await writeTinyModel(join(root, 'm32'), 32)
  m24 = await writeTinyModel(join(root, 'm24'), 24)
  const dir = join(root, 'imgs')
  await fsp.mkdir(dir, {recursive: true})
  for (const name of PHOTOS) {
    await fsp.copyFile(join(FIXTURES, name), join(dir, name))
    SOURCES[name] = 0
  }
  // A photo whose left half is transparent (its colour stays in the RGB channels): it must turn white.
  const autumn = await sharp(join(FIXTURES, PHOTOS[0])).ensureAlpha().raw().toBuffer({resolveWithObject: true})
  for (let y = 0; y < autumn.info.height; y++)
    for (let x = 0; x < autumn.info.width / 2; x++) autumn.data[(y * autumn.info.width + x) * 4 + 3] = 0
  await sharp(autumn.data, {raw: {width: autumn.info.width, height: autumn.info.height, channels: 4}})
    .png()
    .toFile(join(dir, 'alpha.png'))
  SOURCES['alpha.png'] = 0
  // A photo stored sideways with EXIF orientation 6 (display: a quarter turn clockwise).
  await sharp(join(FIXTURES, PHOTOS[1]))
    .jpeg({quality: 95})
    .withMetadata({orientation: 6})
    .toFile(join(dir, 'turned.jpg'))
  SOURCES['turned.jpg'] = 1
  await loraOk(['init', '.', '--trigger', 'ohwx', '--git'], {cwd: dir})
  template = dir
})
afterAll(cleanupTemps)

interface Report {
  inferred: number
  cached: number
  changed: number
  images: {id: string; file: string; tags: {tag: string; score: number; category: string}[]; status?: string}[]
}

async function sourceOf(dir: string): Promise<Map<string, string>> {
  const state = await readState(dir)
  return new Map(state.images.map((i: {id: string; source: string}) => [i.id, i.source]))
}

async function checkScores(dir: string, model: string, size: number): Promise<void> {
  const r = await inferJson<Report>(
    ['autotag', '--all', '--model', model, '--threshold', '0', '--character-threshold', '0'],
    dir,
  )
  expect(r.images).toHaveLength(5)
  const sources = await sourceOf(dir)
  for (const image of r.images) {
    const source = sources.get(image.id)!
    const expected = await expectedScores(join(dir, 'output', image.file), size, SOURCES[source])
    const got = new Map(image.tags.map((t) => [t.tag.replace(/ /gu, '_'), t.score]))
    for (const [i, probe] of PROBES.entries()) {
      if (probe.category === 9) continue
      const score = got.get(probe.name)
      if (score === undefined || Math.abs(score - expected[i]) > 0.02)
        throw new Error(`${source} ${probe.name}: got ${score}, expected ${expected[i].toFixed(4)}`)
    }
  }
}

describe('lora autotag: preprocessing as the WD14 reference', () => {
  it('gives the scores computed from the decoded pixels (BGR, white pad, alpha, orientation, NHWC), input 32', async () => {
    const dir = await cloneDataset(template)
    await checkScores(dir, m32, 32)
  })
  it('reads the input size from the model (24)', async () => {
    const dir = await cloneDataset(template)
    await checkScores(dir, m24, 24)
  })
})

describe('lora autotag: the predictions cache', () => {
  it('a rerun with other thresholds and a writing mode runs no inference; only new images are work', async () => {
    const dir = await cloneDataset(template)
    const first = await inferJson<Report>(['autotag', '--model', m32], dir)
    expect([first.inferred, first.cached]).toEqual([5, 0])
    const model = (await fsp.readdir(join(dir, '.lora-tagger', 'cache', 'autotag')))[0]
    const files = await fsp.readdir(join(dir, '.lora-tagger', 'cache', 'autotag', model))
    // One prediction per image, and the model's model.json (what lora next reads them with).
    expect(files.filter((f) => /^[0-9a-f]{64}\.json$/u.test(f))).toHaveLength(5)
    expect(files.filter((f) => !/^[0-9a-f]{64}\.json$/u.test(f))).toEqual(['model.json'])
    const again = await loraJson<Report>(['autotag', '--model', m32, '--threshold', '0.9', '--mcut', '--mode', 'add'], {
      cwd: dir,
      env: NO_RUNTIME,
    })
    expect([again.inferred, again.cached, again.changed]).toEqual([0, 5, 5])
  })
  it("is keyed by the model file's own sha256: a lora-model.json in a folder not pulled is not believed", async () => {
    const dir = await cloneDataset(template)
    const folder = join(dir, 'claimed')
    await fsp.cp(m32, folder, {recursive: true})
    const model = join(folder, 'model.onnx')
    const real = await sha256(model)
    const claimed = 'ab'.repeat(32)
    // What lora models pull writes, claiming another model's hash (a folder from a stranger could).
    await fsp.writeFile(
      join(folder, 'lora-model.json'),
      JSON.stringify({
        version: 1,
        pulledAt: '2999-01-01T00:00:00.000Z',
        files: [{file: 'model.onnx', sha256: claimed, bytes: (await fsp.stat(model)).size}],
      }),
    )
    await inferJson<Report>(['autotag', '1', '--model', folder], dir)
    expect(await fsp.readdir(join(dir, '.lora-tagger', 'cache', 'autotag'))).toEqual([real])
  })
  it('reads only the recorded bytes: a FIFO, a link and a changed image are left out, never cached', async () => {
    const dir = await cloneDataset(template)
    const images = (await readState(dir)).images as {id: string; file: string; sha256: string}[]
    const path = (k: number) => join(dir, 'output', images[k].file)
    // 1: a FIFO (reading it would wait for a writer for good).
    await fsp.rm(path(0))
    execFileSync('mkfifo', [path(0)])
    // 2: a link to a copy outside the dataset with the very bytes recorded (only the link is wrong).
    const outside = join(await tempDir('lora-autotag-outside-'), 'same.jpg')
    await fsp.rename(path(1), outside)
    await fsp.symlink(outside, path(1))
    // 3: changed by hand since it was recorded (its predictions would be cached under the recorded sha256).
    const changed = await sharp(path(2)).flop().png().toBuffer()
    await fsp.writeFile(path(2), changed)
    const r = await runCli(['autotag', '--all', '--model', m32, '--json'], {cwd: dir, killAfterMs: 30_000})
    expect([r.signal, r.code]).toEqual([null, 0])
    const report = JSON.parse(r.stdout) as Report & {problems: {id: string; reason: string}[]}
    expect(report.inferred).toBe(images.length - 3)
    expect(report.problems.map((p) => p.id)).toEqual(images.slice(0, 3).map((i) => i.id))
    expect(report.problems.map((p) => p.reason)).toEqual([
      expect.stringMatching(/is not a regular file \(fifo\)/u),
      expect.stringMatching(/is not a regular file \(symlink\)/u),
      expect.stringMatching(/changed since lora recorded it/u),
    ])
    const model = (await fsp.readdir(join(dir, '.lora-tagger', 'cache', 'autotag')))[0]
    const cached = (await fsp.readdir(join(dir, '.lora-tagger', 'cache', 'autotag', model))).filter((f) =>
      f.endsWith('.json'),
    )
    expect(cached.sort()).toEqual(['model.json', ...images.slice(3).map((i) => `${i.sha256}.json`)].sort())
  })
  it('without the runtime, a run that needs inference fails with the install command', async () => {
    const dir = await cloneDataset(template)
    const r = await lora(['autotag', '--model', m32], {cwd: dir, env: NO_RUNTIME})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('npm install onnxruntime-node')
  })
  it('--device cuda on a runtime without the CUDA provider fails (exit 1) saying what to install; cpu works', async () => {
    const dir = await cloneDataset(template)
    // A process: the runtime is really loaded (this machine's onnxruntime-node is the CPU-only install).
    const r = await runCli(['autotag', '--model', m32, '--device', 'cuda'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: The model runtime cannot use --device cuda: .*cuda/imu)
    expect(r.stderr).toContain('hint: Install the GPU build')
    expect(r.stderr).toContain('`npm install onnxruntime-node@~1.30.0 --onnxruntime-node-install=cuda12`')
    // Said once: no native log of the failed load.
    expect(r.stderr).not.toMatch(/onnxruntime_src|provider_bridge/u)
    expect(r.stderr.match(/^error:/gmu)).toHaveLength(1)
    // Nothing was cached by the failed run; cpu (the default, named) works.
    const ok = await inferJson<Report>(['autotag', '--model', m32, '--device', 'cpu'], dir)
    expect(ok.inferred).toBe(5)
    const bad = await lora(['autotag', '--model', m32, '--device', 'tpu'], {cwd: dir})
    expect(bad.code).toBe(2)
  })
})

describe('lora autotag: modes and the auto status', () => {
  it('suggest writes no caption; add merges (trigger first, existing kept), one commit, status auto', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '1', '--add', 'mytag'], {cwd: dir})
    const suggest = await inferJson<Report>(['autotag', '--all', '--model', m32], dir)
    expect(suggest.changed).toBe(0)
    expect(await readText(join(dir, 'output', 'img_0001.txt'))).toBe('ohwx, mytag\n')
    const add = await loraJson<Report>(['autotag', '--all', '--model', m32, '--mode', 'add'], {
      cwd: dir,
      env: NO_RUNTIME,
    })
    const one = add.images.find((i) => i.id === 'img_0001')!
    const caption = await readText(join(dir, 'output', 'img_0001.txt'))
    expect(caption).toBe(['ohwx', 'mytag', ...one.tags.map((t) => t.tag)].join(', ') + '\n')
    expect(one.tags.length).toBeGreaterThan(0)
    expect(add.changed).toBe(5)
    expect(await subject(dir)).toMatch(/^autotag 5 images \(m32\): \+/u)
    const status = await loraJson<{images: {auto: number; pending: number; tagged: number}}>(['status'], {cwd: dir})
    expect(status.images).toMatchObject({auto: 5, pending: 0, tagged: 0})
    expect((await loraOk(['status'], {cwd: dir})).stdout).toContain('5 auto (not reviewed)')
    // A person's edit marks the image reviewed.
    await loraOk(['tag', '2', '--add', 'checked'], {cwd: dir})
    expect((await readState(dir)).images[1].status).toBe('tagged')
    // export leaves auto images out unless --include-auto, and says so.
    const out = await loraOk(['export', join(dir, '..', 'train')], {cwd: dir})
    expect(out.stderr).toContain('4 auto images')
    expect(await fsp.readdir(join(dir, '..', 'train'))).toHaveLength(2)
    const all = await loraJson<{count: number; leftAuto: number}>(
      ['export', join(dir, '..', 'train-all'), '--include-auto'],
      {cwd: dir},
    )
    expect(all).toMatchObject({count: 5, leftAuto: 0})
  })
  it('replace replaces the caption; next visits pending images before auto ones', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '1', '--add', 'mytag'], {cwd: dir})
    const r = await inferJson<Report>(['autotag', '1', '--model', m32, '--mode', 'replace'], dir)
    const caption = await readText(join(dir, 'output', 'img_0001.txt'))
    expect(caption).toBe(['ohwx', ...r.images[0].tags.map((t) => t.tag)].join(', ') + '\n')
    expect(caption).not.toContain('mytag')
    expect((await readState(dir)).images[0].status).toBe('auto')
    const next = await loraJson<{id: string}>(['next', '--print'], {cwd: dir})
    expect(next.id).toBe('img_0002')
    await loraOk(['tag', '2', '3', '4', '5', '--add', 'done'], {cwd: dir})
    expect((await loraJson<{id: string}>(['next', '--print'], {cwd: dir})).id).toBe('img_0001')
  })
  it('lora undo of an autotag commit puts the captions and statuses back', async () => {
    const dir = await cloneDataset(template)
    await inferJson<Report>(['autotag', '--model', m32, '--mode', 'add'], dir)
    expect((await readState(dir)).images[0].status).toBe('auto')
    await loraOk(['undo'], {cwd: dir})
    expect(await readText(join(dir, 'output', 'img_0001.txt'))).toBe('ohwx\n')
    expect((await readState(dir)).images.map((i: {status: string}) => i.status)).toEqual(Array(5).fill('pending'))
  })
  it('--dry-run writes nothing, not even the cache', async () => {
    const dir = await cloneDataset(template)
    const r = await inferJson<Report>(['autotag', '--model', m32, '--mode', 'add', '--dry-run'], dir)
    expect(r.changed).toBe(5)
    expect(await readText(join(dir, 'output', 'img_0001.txt'))).toBe('ohwx\n')
    await expect(fsp.readdir(join(dir, '.lora-tagger', 'cache', 'autotag'))).rejects.toThrow()
  })
})
