/**
 * Optimised copies of tagger models, made once per model, runtime and CPU and kept in lora's cache folder, so that a
 * large model loads without onnxruntime's graph optimisation (README "lora autotag", "Optimised model copies").
 *
 * Why: at `graphOptimizationLevel: 'all'` onnxruntime holds the parsed model, its initializers and the NCHWc-reordered
 * copy of the convolution weights at once: loading a 304 MB model took the model process to 772–818 MB (2.5× the
 * file). An optimised copy saved with its weights in a separate file (ONNX external data) loads at level `disabled`
 * with its weights mapped from the file (79 MB at the end of the load, about 520 MB once the batches have touched
 * every weight) and runs the same graph, so each batch costs the same CPU. Making the copy goes through a plain copy
 * of the model with external weights (level `disabled`: 421 MB for the 304 MB model), then optimises that one (level
 * `all`: 493 MB, as its weights are mapped rather than parsed): the first use stays under the model size + 500 MB
 * too. Figures: README "Auto-tagging throughput".
 *
 * Layout, under the folder given (lora's cache folder, `optimized-models/`):
 *
 *     <key>/model.onnx            the optimised graph (small)
 *     <key>/weights.bin           its weights (ONNX external data, about the model's size)
 *     <key>/lora-optimized.json   OptimizedManifest: what the key is made of, each file's size and sha256
 *
 * `<key>` is the sha256 of OptimizedKeyParts: the model's sha256, the runtime's version, the CPU (NCHWc layouts and
 * other kernels onnxruntime chooses depend on its instruction sets: the copy is only valid on the CPU it was made on),
 * the platform and the session options. A copy is made in a temp folder (`.lora-tmp-<pid>-…`) renamed into place
 * once complete and fsynced; temp folders of processes no longer running are removed. A copy whose manifest, sizes
 * or hashes do not match, or that does not load, is removed and made again; a copy that cannot be made (no space,
 * a read-only cache) is not an error: the model is then loaded as it is.
 * `lora models rm` removes the copies of the model files it removes (removeCopiesOf); nothing else prunes copies.
 *
 * onnxruntime writes the copy's files itself (native code, as git writes its own files): into the temp folder only,
 * which this module made through the fs adapter, and which it fsyncs, renames and removes through it.
 */
import {createHash} from 'node:crypto'
import {cpus} from 'node:os'
import {dirname, join} from 'node:path'
import {
  flushFiles,
  fsyncDir,
  listDirEntries,
  lstatIfExistsSync,
  makeDir,
  readRegularTextIfExists,
  readTextIfExists,
  removeFile,
  removeTempFiles,
  removeTree,
  renameOwned,
  sha256File,
  tempPathFor,
  writeFileAtomic,
} from './fs.js'
import {debugLog} from './debug.js'

type Ort = typeof import('onnxruntime-node')
type SessionOptions = import('onnxruntime-node').InferenceSession.SessionOptions

/** The optimised graph, its weights and the manifest in a copy's folder. */
export const OPTIMIZED_GRAPH = 'model.onnx'
export const OPTIMIZED_WEIGHTS = 'weights.bin'
export const OPTIMIZED_MANIFEST = 'lora-optimized.json'

/**
 * Models smaller than this (bytes) are loaded as they are: their load peak is small, and a copy would only cost a
 * first run and disk. `LORA_OPTIMIZE_MIN_BYTES` sets another (tests use 0).
 */
export const OPTIMIZE_MIN_BYTES = 64 * 2 ** 20

/** The threshold in effect: `LORA_OPTIMIZE_MIN_BYTES` when it is a whole number, else OPTIMIZE_MIN_BYTES. */
export function optimizeMinBytes(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.LORA_OPTIMIZE_MIN_BYTES
  return value !== undefined && /^\d+$/u.test(value) ? Number(value) : OPTIMIZE_MIN_BYTES
}

/** What an optimised copy depends on; its key is the sha256 of this as JSON. */
export interface OptimizedKeyParts {
  /** The layout of the copy (bumped when lora makes it differently). */
  format: 1
  /** sha256 of the original model.onnx, lowercase hex. */
  model: string
  /**
   * onnxruntime's versions: its JavaScript package and its native binding (`env.versions.common` and `.node`, each
   * a copy made by one runtime is only known to load in that one).
   */
  runtime: string
  /** `process.platform`/`process.arch`. */
  platform: string
  /** The CPU: its model name and, on Linux, its feature flags (/proc/cpuinfo); see cpuIdentity. */
  cpu: string
  /** The session options the copy was optimised with (JSON). */
  options: string
}

/** One file of a copy as its manifest records it. */
export interface OptimizedFile {
  file: string
  bytes: number
  sha256: string
}

/** `lora-optimized.json`: written last into the temp folder, before it is renamed into place. */
export interface OptimizedManifest {
  version: 1
  key: OptimizedKeyParts
  /** ISO 8601. */
  madeAt: string
  files: OptimizedFile[]
}

/** The key of a copy: sha256 (hex) of `parts` as JSON. */
export function optimizedKey(parts: OptimizedKeyParts): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex')
}

/**
 * The CPU as far as onnxruntime's choice of kernels goes: the model name (`os.cpus()`) and, on Linux, the feature
 * flags of /proc/cpuinfo's first processor (`flags`, or `Features` on Arm), which say which instruction sets (AVX2,
 * AVX-512, …) there are.
 */
export async function cpuIdentity(): Promise<string> {
  const model = cpus()[0]?.model ?? 'unknown'
  if (process.platform !== 'linux') return model
  let info: string | undefined
  try {
    info = await readTextIfExists('/proc/cpuinfo')
  } catch {
    info = undefined
  }
  const flags = /^(?:flags|Features)\s*:\s*(.*)$/mu.exec(info ?? '')?.[1]?.trim()
  return flags ? `${model}; ${flags}` : model
}

/** The options onnxruntime saves a copy with: `file` (the model's name in its folder) gets its weights as external data. */
function savingOptions(base: SessionOptions, level: 'disabled' | 'all', file: string, weights: string): SessionOptions {
  const extra = (base.extra ?? {}) as {session?: Record<string, unknown>}
  return {
    ...base,
    graphOptimizationLevel: level,
    optimizedModelFilePath: file,
    // Level `all` warns that the saved model holds hardware-specific optimisations: known, and why the copy is keyed
    // by the CPU; only errors are printed.
    logSeverityLevel: 3,
    extra: {
      ...extra,
      session: {
        ...extra.session,
        optimized_model_external_initializers_file_name: weights,
        optimized_model_external_initializers_min_size_in_bytes: '1024',
      },
    },
  }
}

/**
 * The path of the optimised copy of `modelPath` for this runtime and CPU, made when there is none (or the one there
 * is damaged). Load it with `graphOptimizationLevel: 'disabled'` and otherwise the same options.
 * @param ort the loaded runtime
 * @param modelPath the original model.onnx
 * @param modelSha256 its sha256 (hex)
 * @param dir the folder copies live in (made when missing)
 * @param options the session options a session of the original model would have (level `all`)
 * @returns the copy's model.onnx; undefined when no copy could be made (the error is logged under `DEBUG=lora:cache`):
 *   load the original then. Errors of the original model itself come from loading it.
 */
export async function optimizedModel(
  ort: Ort,
  modelPath: string,
  modelSha256: string,
  dir: string,
  options: SessionOptions,
): Promise<{path: string; made: boolean} | undefined> {
  const key: OptimizedKeyParts = {
    format: 1,
    model: modelSha256,
    runtime: `${ort.env.versions.common}/${(ort.env.versions as {node?: string}).node ?? ''}`,
    platform: `${process.platform}/${process.arch}`,
    cpu: await cpuIdentity(),
    options: JSON.stringify(options),
  }
  const entry = join(dir, optimizedKey(key))
  try {
    if (await checkCopy(entry, key)) return {path: join(entry, OPTIMIZED_GRAPH), made: false}
    if (lstatIfExistsSync(entry)) await removeTree(entry)
    await makeCopy(ort, modelPath, dir, entry, key, options)
    return {path: join(entry, OPTIMIZED_GRAPH), made: true}
  } catch (error) {
    await debugLog('lora:cache', `no optimised copy of ${modelPath} in ${dir}; loading the model as it is`, error)
    return undefined
  }
}

/**
 * Removes every optimised copy in `dir` that was made from a model whose sha256 is in `models` (whatever runtime,
 * CPU or options it was made for): what `lora models rm` frees with the model. A copy is recognised by its manifest
 * only; entries that are not plain folders (links included), temp folders and folders without a readable manifest
 * are left alone.
 * @param dir the folder copies live in (nothing when it does not exist)
 * @param models sha256 (lowercase hex) of the models whose copies go
 * @returns each removed copy's folder and the bytes its files held
 * @throws the file system's errors other than a missing folder
 */
export async function removeCopiesOf(
  dir: string,
  models: ReadonlySet<string>,
): Promise<{path: string; bytes: number}[]> {
  if (models.size === 0 || !lstatIfExistsSync(dir)?.isDirectory()) return []
  const removed: {path: string; bytes: number}[] = []
  for (const entry of await listDirEntries(dir)) {
    if (!entry.isDirectory() || !/^[0-9a-f]{64}$/u.test(entry.name)) continue
    const path = join(dir, entry.name)
    const manifest = await readManifest(path)
    if (!manifest || !models.has(manifest.key.model)) continue
    const bytes = (Array.isArray(manifest.files) ? manifest.files : []).reduce(
      (sum, f) => sum + (typeof f.bytes === 'number' ? f.bytes : 0),
      0,
    )
    await removeTree(path)
    removed.push({path, bytes})
  }
  if (removed.length > 0) await fsyncDir(dir)
  return removed
}

/** A copy's manifest, or undefined when it has none that reads as one (missing, not a regular file, not JSON). */
async function readManifest(entry: string): Promise<OptimizedManifest | undefined> {
  try {
    const manifest = JSON.parse(
      (await readRegularTextIfExists(join(entry, OPTIMIZED_MANIFEST))) ?? 'null',
    ) as OptimizedManifest | null
    return manifest?.version === 1 && typeof manifest.key?.model === 'string' ? manifest : undefined
  } catch {
    return undefined
  }
}

/** Removes a copy that did not load (it is made again next time). */
export async function discardCopy(path: string): Promise<void> {
  await removeTree(dirname(path))
}

/** True when `entry` holds a complete copy for `key`: its manifest matches, and each file has its size and sha256. */
async function checkCopy(entry: string, key: OptimizedKeyParts): Promise<boolean> {
  if (!lstatIfExistsSync(entry)?.isDirectory()) return false
  const manifest = await readManifest(entry)
  if (!manifest || JSON.stringify(manifest.key) !== JSON.stringify(key)) return false
  const names = [OPTIMIZED_GRAPH, OPTIMIZED_WEIGHTS]
  if (!Array.isArray(manifest.files) || names.some((n) => !manifest.files.some((f) => f.file === n))) return false
  for (const f of manifest.files) {
    if (!names.includes(f.file)) return false
    const st = lstatIfExistsSync(join(entry, f.file))
    if (!st?.isFile() || st.size !== f.bytes) return false
  }
  for (const f of manifest.files) if ((await sha256File(join(entry, f.file))) !== f.sha256) return false
  return true
}

/**
 * Makes the copy in a temp folder of `dir` and renames it to `entry`. Two sessions, one after the other: the model
 * as it is, saved with its weights as external data (no optimisation); then that copy optimised at the options' level
 * and saved the same way. Each session is released before the next (peaks: README "Auto-tagging throughput").
 */
async function makeCopy(
  ort: Ort,
  modelPath: string,
  dir: string,
  entry: string,
  key: OptimizedKeyParts,
  options: SessionOptions,
): Promise<void> {
  await makeDir(dir)
  await removeTempFiles(dir)
  const tmp = tempPathFor(join(dir, 'copy'))
  await makeDir(tmp)
  try {
    const plain = join(tmp, 'plain.onnx')
    const plainWeights = 'plain.bin'
    await (
      await ort.InferenceSession.create(modelPath, savingOptions(options, 'disabled', plain, plainWeights))
    ).release()
    const graph = join(tmp, OPTIMIZED_GRAPH)
    await (await ort.InferenceSession.create(plain, savingOptions(options, 'all', graph, OPTIMIZED_WEIGHTS))).release()
    await removeFile(plain)
    await removeFile(join(tmp, plainWeights))
    const files: OptimizedFile[] = []
    for (const file of [OPTIMIZED_GRAPH, OPTIMIZED_WEIGHTS]) {
      const st = lstatIfExistsSync(join(tmp, file))
      if (!st?.isFile()) throw new Error(`onnxruntime did not write ${file}`)
      files.push({file, bytes: st.size, sha256: await sha256File(join(tmp, file))})
    }
    await flushFiles(files.map((f) => join(tmp, f.file)))
    const manifest: OptimizedManifest = {version: 1, key, madeAt: new Date().toISOString(), files}
    await writeFileAtomic(join(tmp, OPTIMIZED_MANIFEST), JSON.stringify(manifest, null, 2) + '\n')
    try {
      await renameOwned(tmp, entry)
    } catch (error) {
      // Another lora made the same copy meanwhile: keep theirs.
      if (!(await checkCopy(entry, key))) throw error
      await removeTree(tmp)
      return
    }
    await fsyncDir(dir)
  } catch (error) {
    await removeTree(tmp)
    throw error
  }
}
