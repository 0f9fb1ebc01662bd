/**
 * The cache of optimised tagger models (src/adapters/optimized-model.ts), through the session lora makes
 * (model-runtime.ts openTagger, built: run `npm run build` first), with models generated in the test (onnx-proto): a copy is made once and
 * reused, predicts exactly what the original model predicts, is keyed by the model's sha256, and a damaged or
 * unloadable copy is made again or set aside; a copy that cannot be made is no failure.
 */
import {execFile} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import type {OptimizedCopies} from '../../src/adapters/model-runtime.js'
import {
  OPTIMIZED_GRAPH,
  OPTIMIZED_MANIFEST,
  OPTIMIZED_WEIGHTS,
  type OptimizedKeyParts,
  type OptimizedManifest,
  optimizedKey,
  optimizeMinBytes,
} from '../../src/adapters/optimized-model.js'
import {cleanupTemps, deadPid, tempDir} from '../e2e/e2e-helpers.js'
import {cleanEnv, ROOT, sha256} from '../helpers.js'

const run = promisify(execFile)
import {writeConvModel} from '../autotag/conv-model.js'

afterAll(async () => {
  await cleanupTemps()
})

const SIZE = 32

/** A batch of 2 images of pseudo-random pixels. */
function pixels(): Uint8Array {
  const data = new Uint8Array(2 * SIZE * SIZE * 3)
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + 13) % 256
  return data
}

/**
 * The scores of a batch, from a session made as lora makes it (the built model-runtime.js's openTagger, its model
 * process): onnxruntime-node makes its output tensors in Node's own realm, which the test's (a vm context) refuses.
 */
async function scores(model: string, optimized?: OptimizedCopies): Promise<number[][]> {
  const script = `
    const {openTagger} = await import(${JSON.stringify(join(ROOT, 'dist', 'adapters', 'model-runtime.js'))})
    const [model, optimized, pixels] = JSON.parse(process.argv[1])
    const session = await openTagger(model, 'cpu', optimized ?? undefined)
    const out = await session.run(Uint8Array.from(pixels), 2)
    await session.release()
    console.log(JSON.stringify(out.map((s) => Array.from(s))))`
  const args = JSON.stringify([join(model, 'model.onnx'), optimized ?? null, Array.from(pixels())])
  const {stdout} = await run(process.execPath, ['--input-type=module', '-e', script, args], {env: cleanEnv()})
  return JSON.parse(stdout) as number[][]
}

/** The copy folders in `dir` (temp folders left out). */
async function entries(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort()
}

async function setup(): Promise<{model: string; cache: string; optimized: OptimizedCopies; plain: number[][]}> {
  const base = await tempDir()
  const model = await writeConvModel(join(base, 'model'), SIZE)
  const cache = join(base, 'cache', 'optimized-models')
  const optimized = {dir: cache, modelSha256: await sha256(join(model, 'model.onnx')), minBytes: 0}
  return {model, cache, optimized, plain: await scores(model)}
}

describe('optimised copies of tagger models', () => {
  it('are made once, then reused; they predict exactly what the model predicts', async () => {
    const {model, cache, optimized, plain} = await setup()
    // A copy a killed run was making (its maker gone) is removed; one a running lora is making is left alone.
    const dead = join(cache, `.lora-tmp-${await deadPid()}-0a1b2c3d0-copy`)
    const alive = join(cache, `.lora-tmp-${process.pid}-0a1b2c3d0-copy`)
    for (const dir of [dead, alive]) {
      await fsp.mkdir(dir, {recursive: true})
      await fsp.writeFile(join(dir, 'plain.bin'), 'partial')
    }
    expect(await scores(model, optimized)).toEqual(plain)
    expect((await fsp.readdir(cache)).filter((n) => n.startsWith('.'))).toEqual([alive.slice(cache.length + 1)])
    await fsp.rm(alive, {recursive: true})
    const [entry] = await entries(cache)
    expect(await entries(cache)).toHaveLength(1)
    const folder = join(cache, entry)
    expect((await fsp.readdir(folder)).sort()).toEqual([OPTIMIZED_MANIFEST, OPTIMIZED_GRAPH, OPTIMIZED_WEIGHTS].sort())
    const manifest = JSON.parse(await fsp.readFile(join(folder, OPTIMIZED_MANIFEST), 'utf8')) as OptimizedManifest
    expect(manifest.key.model).toBe(optimized.modelSha256)
    expect(entry).toBe(optimizedKey(manifest.key))
    for (const f of manifest.files) expect(await sha256(join(folder, f.file))).toBe(f.sha256)
    // The copy is the optimised graph: its weights are outside it.
    expect((await fsp.stat(join(folder, OPTIMIZED_WEIGHTS))).size).toBeGreaterThan(0)
    const before = await fsp.stat(join(folder, OPTIMIZED_WEIGHTS))
    expect(await scores(model, optimized)).toEqual(plain)
    const after = await fsp.stat(join(folder, OPTIMIZED_WEIGHTS))
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs])
    expect(await entries(cache)).toEqual([entry])
    expect((await fsp.readdir(cache)).filter((n) => n.startsWith('.'))).toEqual([])
  })

  it('are keyed by the model sha256 (and the runtime, CPU and options)', async () => {
    const {model, cache, optimized} = await setup()
    await scores(model, optimized)
    await scores(model, {...optimized, modelSha256: 'f'.repeat(64)})
    expect(await entries(cache)).toHaveLength(2)
    const parts: OptimizedKeyParts = {
      format: 1,
      model: 'a',
      runtime: '1.30.0',
      platform: 'linux/x64',
      cpu: 'c',
      options: 'o',
    }
    const keys = new Set(
      [
        parts,
        {...parts, model: 'b'},
        {...parts, runtime: '1.31.0'},
        {...parts, cpu: 'd'},
        {...parts, options: 'p'},
      ].map(optimizedKey),
    )
    expect(keys.size).toBe(5)
  })

  it('a damaged copy (a changed byte, a cut file, no manifest) is made again', async () => {
    const {model, cache, optimized, plain} = await setup()
    await scores(model, optimized)
    const folder = join(cache, (await entries(cache))[0])
    const weights = join(folder, OPTIMIZED_WEIGHTS)
    const bytes = await fsp.readFile(weights)
    bytes[bytes.length >> 1] ^= 0x40
    await fsp.writeFile(weights, bytes)
    expect(await scores(model, optimized)).toEqual(plain)
    // Made again: the damaged bytes are gone. (Not by inode number: the damaged copy's is freed first and may be
    // given to the new file, which made this check fail now and then.)
    expect((await fsp.readFile(weights)).equals(bytes)).toBe(false)

    await fsp.truncate(join(folder, OPTIMIZED_GRAPH), 100)
    expect(await scores(model, optimized)).toEqual(plain)
    expect((await fsp.stat(join(folder, OPTIMIZED_GRAPH))).size).toBeGreaterThan(100)

    await fsp.rm(join(folder, OPTIMIZED_MANIFEST))
    expect(await scores(model, optimized)).toEqual(plain)
    expect(await entries(cache)).toHaveLength(1)
    expect((await fsp.readdir(folder)).sort()).toEqual([OPTIMIZED_MANIFEST, OPTIMIZED_GRAPH, OPTIMIZED_WEIGHTS].sort())
  })

  it('a copy whose hashes match but that does not load is removed; the model is loaded as it is', async () => {
    const {model, cache, optimized, plain} = await setup()
    await scores(model, optimized)
    const folder = join(cache, (await entries(cache))[0])
    const graph = join(folder, OPTIMIZED_GRAPH)
    await fsp.writeFile(graph, 'not a model')
    const manifestPath = join(folder, OPTIMIZED_MANIFEST)
    const manifest = JSON.parse(await fsp.readFile(manifestPath, 'utf8')) as OptimizedManifest
    const entry = manifest.files.find((f) => f.file === OPTIMIZED_GRAPH)!
    entry.bytes = 11
    entry.sha256 = await sha256(graph)
    await fsp.writeFile(manifestPath, JSON.stringify(manifest))
    expect(await scores(model, optimized)).toEqual(plain)
    expect(await entries(cache)).toEqual([])
  })

  it('no copy below the size threshold, nor where none can be made (a file in the way): the model loads as it is', async () => {
    const {model, cache, optimized, plain} = await setup()
    expect(await scores(model, {...optimized, minBytes: 2 ** 30})).toEqual(plain)
    expect(await entries(cache)).toEqual([])
    await fsp.mkdir(join(cache, '..'), {recursive: true})
    await fsp.writeFile(cache, 'a file where the folder goes')
    expect(await scores(model, optimized)).toEqual(plain)
    expect(await fsp.readFile(cache, 'utf8')).toBe('a file where the folder goes')
  })

  it('the threshold is 64 MiB unless LORA_OPTIMIZE_MIN_BYTES says otherwise', () => {
    expect(optimizeMinBytes({})).toBe(64 * 2 ** 20)
    expect(optimizeMinBytes({LORA_OPTIMIZE_MIN_BYTES: '0'})).toBe(0)
    expect(optimizeMinBytes({LORA_OPTIMIZE_MIN_BYTES: 'lots'})).toBe(64 * 2 ** 20)
  })
})
