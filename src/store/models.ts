/**
 * Tagger models on disk, for `lora autotag --model PATH|NAME`, and the predictions cache.
 *
 * A model is a folder holding `model.onnx` and `selected_tags.csv` (SmilingWolf's WD14-family layout on Hugging
 * Face). Models pulled with `lora models pull OWNER/NAME [--revision R]` live in the user's cache, one folder per
 * repository and revision (the layout `lora models` writes; `modelsCacheDir` and `pulledModelDir` are its one
 * definition):
 *
 *     $XDG_CACHE_HOME/lora/models/<owner>--<name>/<revision>/{model.onnx,selected_tags.csv}
 *
 * (`~/.cache/lora/models` when XDG_CACHE_HOME is unset or relative; `%LOCALAPPDATA%\lora\models` on Windows).
 *
 * Predictions are cached in the dataset, `.lora-tagger/cache/autotag/<model sha256>/<image sha256>.json`
 * (core/autotag.ts CachedPrediction), written through the fs adapter; the cache is local (never committed).
 */
import {homedir} from 'node:os'
import {basename, join, resolve, win32} from 'node:path'
import {ConfigError, UsageError} from '../errors.js'
import {
  isCode,
  listDirEntries,
  readText,
  NotRegularFileError,
  readRegularTextIfExists,
  resolveReal,
  sha256File,
  statIfExists,
} from '../adapters/fs.js'
import {isInside} from '../core/containment.js'
import {escapeControls} from '../core/terminal-text.js'
import {
  type CachedModelInfo,
  type CachedPrediction,
  fromCached,
  type Label,
  parseCachedModelInfo,
  parseLabels,
} from '../core/autotag.js'
import {MODEL_MANIFEST, modelFolderName, parseRepoId, parseRevision, revisionFolderName} from '../core/model-names.js'
import {userCacheDir} from './user-config.js'
import {cacheDirIsReal, type Dataset, META_DIR, readCacheText, writeCacheFile} from './dataset.js'

/** The files of a model folder. */
export const MODEL_FILE = 'model.onnx'
export const LABELS_FILE = 'selected_tags.csv'

/**
 * The folder pulled models live in: `userCacheDir()/models` (store/user-config.ts: `LORA_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/lora`, else `~/.cache/lora`; `%LOCALAPPDATA%\lora` on Windows). `lora models` writes there.
 * @param env the environment (`LORA_CACHE_DIR`, `XDG_CACHE_HOME`, `LOCALAPPDATA`)
 * @param platform `process.platform`
 * @param home the home folder (for the `~/.cache` default)
 */
export function modelsCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  return cacheSubfolder('models', env, platform, home)
}

/**
 * The folder of the optimised copies of tagger models (adapters/optimized-model.ts): `userCacheDir()/optimized-models`,
 * beside `models/`. A cache: deleting it costs the next run of each model the making of its copy again.
 */
export function optimizedModelsDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  return cacheSubfolder('optimized-models', env, platform, home)
}

/** `name` in lora's folder of the user's cache, joined the platform's way. */
function cacheSubfolder(name: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform, home: string): string {
  const cache = userCacheDir(env, platform, home)
  return platform === 'win32' ? win32.join(cache, name) : join(cache, name)
}

/** A model name as `lora autotag --model` takes it: `owner/name`, optionally `@revision`. */
const MODEL_NAME = /^([^@]+)(?:@(.+))?$/u

/**
 * The folder of a pulled model: `<modelsCacheDir>/<owner>--<name>/<revision>/` (core/model-names.ts
 * modelFolderName and revisionFolderName: the layout `lora models pull` writes).
 * @param name `owner/name` (e.g. `SmilingWolf/wd-vit-tagger-v3`)
 * @param revision the revision pulled (default `main`)
 * @returns undefined when `name` is not a repository id or `revision` not a revision (core/model-names.ts)
 */
export function pulledModelDir(
  name: string,
  revision = 'main',
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  let folder: string
  try {
    folder = join(modelFolderName(parseRepoId(name)), revisionFolderName(parseRevision(revision)))
  } catch (error) {
    if (error instanceof UsageError) return undefined
    throw error
  }
  return join(modelsCacheDir(env, platform), folder)
}

/**
 * `lora-model.json` (core/model-names.ts MODEL_MANIFEST), written by `lora models pull` beside the files it
 * verified: where they came from and their sizes and sha256.
 */
export interface ModelManifest {
  version: 1
  name: string
  revision: string
  commit: string | null
  /** ISO 8601; written after the files were complete and checked. */
  pulledAt: string
  files: {file: string; bytes: number; sha256: string; etag: string | null}[]
}

/**
 * The manifest of a pulled model folder, or undefined when it has none or it cannot be read as one (a folder
 * not made by `lora models pull`, an unreadable or damaged file).
 * @throws the file system's error for anything but a missing, unreadable or misplaced file
 */
export async function readModelManifest(folder: string): Promise<ModelManifest | undefined> {
  let text: string | undefined
  try {
    // Never through a link, never blocking on a FIFO (a FIFO here held lora autotag for good).
    text = await readRegularTextIfExists(join(folder, MODEL_MANIFEST))
  } catch (error) {
    if (error instanceof NotRegularFileError || isCode(error, 'EISDIR', 'EACCES', 'EPERM')) return undefined
    throw error
  }
  if (text === undefined) return undefined
  try {
    const parsed = JSON.parse(text) as ModelManifest
    return parsed.version === 1 && Array.isArray(parsed.files) ? parsed : undefined
  } catch {
    return undefined
  }
}

/**
 * sha256 of a folder's model.onnx: for a model pulled into the user's cache (`pulled`), the one `lora models pull`
 * verified and recorded, while the file still has the recorded size and was not modified after the pull; else
 * computed (a whole read of a file of up to ~1.3 GB). A manifest in any other folder is not believed: the sha256 keys
 * the predictions and the optimised copies in the user's cache, and a folder from elsewhere (a dataset's) could
 * claim another model's.
 */
async function modelSha256(dir: string, modelPath: string, pulled: boolean): Promise<string> {
  if (!pulled) return sha256File(modelPath)
  const [manifest, st] = await Promise.all([readModelManifest(dir), statIfExists(modelPath)])
  const recorded = manifest?.files.find((f) => f.file === MODEL_FILE)
  if (
    recorded &&
    st &&
    /^[0-9a-f]{64}$/u.test(recorded.sha256) &&
    recorded.bytes === st.size &&
    st.mtimeMs <= Date.parse(manifest!.pulledAt)
  )
    return recorded.sha256
  return sha256File(modelPath)
}

/** A model ready to load. */
export interface ModelFolder {
  /** Short name for messages and commits: the repository name of a pulled model, else the folder's name. */
  name: string
  /** The folder, absolute. */
  dir: string
  /** model.onnx, absolute. */
  modelPath: string
  /** sha256 of model.onnx, lowercase hex: the predictions cache's key. */
  sha256: string
  labels: Label[]
}

/**
 * Resolves `--model`: a folder (relative to `cwd`) holding model.onnx and selected_tags.csv, or the name of a
 * pulled model (`owner/name[@revision]`, see pulledModelDir). A folder that exists wins over a name.
 * @param options.datasetConfig the spec is a dataset's `autotag.model` and `cwd` its folder: a folder must lie inside
 *   the dataset, its two files too once links are followed (a dataset may come from a stranger: README "Safety
 *   model"); a pulled model's name is the user's cache, as with `--model`
 * @throws UsageError when neither is found, a file is missing or not a regular file, or the labels do not parse;
 *   ConfigError when a dataset's `autotag.model` leads outside it
 */
export async function openModelFolder(
  spec: string,
  cwd: string,
  options: {datasetConfig?: boolean} = {},
): Promise<ModelFolder> {
  const asPath = resolve(cwd, spec)
  let dir: string | undefined
  let name = basename(asPath)
  let fromCache = false
  if ((await statIfExists(asPath))?.isDirectory()) {
    dir = asPath
    if (options.datasetConfig) refuseOutside(asPath, cwd, [MODEL_FILE, LABELS_FILE])
  } else {
    const m = MODEL_NAME.exec(spec)
    const pulled = m ? pulledModelDir(m[1], m[2] ?? 'main') : undefined
    if (m && pulled && (await statIfExists(pulled))?.isDirectory()) {
      fromCache = true
      dir = pulled
      name = m[1].slice(m[1].indexOf('/') + 1)
    }
  }
  if (dir === undefined)
    throw new UsageError(
      `No model folder or pulled model ${JSON.stringify(spec)}.`,
      `Pass a folder holding ${MODEL_FILE} and ${LABELS_FILE}, or pull one: \`lora models pull SmilingWolf/wd-vit-tagger-v3\`.`,
    )
  const modelPath = join(dir, MODEL_FILE)
  const labelsPath = join(dir, LABELS_FILE)
  for (const path of [modelPath, labelsPath]) {
    // Links are followed (a Hugging Face snapshot links its files to blobs: the user named this folder), but the
    // file must be a regular file: never a FIFO or a device.
    if (!(await statIfExists(path))?.isFile())
      throw new UsageError(
        `${path} is missing or not a regular file.`,
        `A model folder holds ${MODEL_FILE} and ${LABELS_FILE} (SmilingWolf's WD14-family layout on Hugging Face).`,
      )
  }
  const labels = parseLabels(await readText(labelsPath), labelsPath)
  return {name, dir, modelPath, labels, sha256: await modelSha256(dir, modelPath, fromCache)}
}

/**
 * Refuses a model folder named by a dataset's config that lies outside the dataset `root`, or whose `files` lead
 * outside it (symbolic links followed: resolveReal).
 * @throws ConfigError naming where it leads, saying to pass `--model` for a folder of the user's own
 */
function refuseOutside(dir: string, root: string, files: string[]): void {
  const home = resolveReal(root)
  for (const path of [dir, ...files.map((f) => join(dir, f))]) {
    const real = resolveReal(path)
    if (!isInside(real, home))
      throw new ConfigError(
        `autotag.model in ${META_DIR}/config.yaml leads outside the dataset (${escapeControls(real)}); a dataset's config may name a model folder inside the dataset or a pulled model (OWNER/NAME), nothing else.`,
        'To use that model, pass it yourself: lora autotag --model PATH (or pull it: lora models pull OWNER/NAME).',
      )
  }
}

function predictionPath(dataset: Dataset, model: string, image: string): string {
  return join(dataset.paths.meta, 'cache', 'autotag', model, `${image}.json`)
}

/** The cached scores of one image under one model, or undefined (never cached, or damaged). */
export async function readPrediction(
  dataset: Dataset,
  model: string,
  image: string,
): Promise<Map<number, number> | undefined> {
  try {
    const text = await readCacheText(dataset.paths.meta, predictionPath(dataset, model, image))
    return text === undefined ? undefined : fromCached(text, model, image)
  } catch {
    return undefined
  }
}

/** Caches one image's scores (atomically, through the fs adapter). */
export async function writePrediction(dataset: Dataset, record: CachedPrediction): Promise<void> {
  const path = predictionPath(dataset, record.model, record.image)
  await writeCacheFile(dataset.paths.meta, path, JSON.stringify(record) + '\n')
}

function modelInfoPath(dataset: Dataset, model: string): string {
  return join(dataset.paths.meta, 'cache', 'autotag', model, 'model.json')
}

/** Records what reading a model's cached predictions needs (core/autotag.ts CachedModelInfo), atomically. */
export async function writeModelInfo(dataset: Dataset, model: string, info: CachedModelInfo): Promise<void> {
  const path = modelInfoPath(dataset, model)
  await writeCacheFile(dataset.paths.meta, path, JSON.stringify(info) + '\n')
}

/** An image's cached predictions under one model, with what reading them needs. */
export interface StoredPredictions {
  /** sha256 of the model. */
  model: string
  info: CachedModelInfo
  scores: Map<number, number>
}

/**
 * Reads the cached predictions of lora autotag's models (each with its model.json) once per tagging session and
 * answers per image. Only regular files are read (never a link or a FIFO); anything damaged counts as absent.
 */
export class PredictionReader {
  private models: Promise<{model: string; info: CachedModelInfo}[]> | undefined

  constructor(private readonly dataset: Dataset) {}

  /** The cached predictions of the image whose bytes have `imageSha256`, from the model used last; undefined: none. */
  async forImage(imageSha256: string): Promise<StoredPredictions | undefined> {
    this.models ??= this.listModels()
    for (const {model, info} of await this.models) {
      const scores = await readPrediction(this.dataset, model, imageSha256)
      if (scores) return {model, info, scores}
    }
    return undefined
  }

  private async listModels(): Promise<{model: string; info: CachedModelInfo}[]> {
    const dir = join(this.dataset.paths.meta, 'cache', 'autotag')
    let entries: Awaited<ReturnType<typeof listDirEntries>>
    try {
      // Never listed through a link (store/dataset.ts cacheDirIsReal).
      if (!cacheDirIsReal(this.dataset.paths.meta, dir)) return []
      entries = await listDirEntries(dir)
    } catch {
      return []
    }
    const found: {model: string; info: CachedModelInfo}[] = []
    for (const entry of entries) {
      if (!entry.isDirectory() || !/^[0-9a-f]{64}$/u.test(entry.name)) continue
      let text: string | undefined
      try {
        text = await readCacheText(this.dataset.paths.meta, modelInfoPath(this.dataset, entry.name))
      } catch {
        continue
      }
      const info = text === undefined ? undefined : parseCachedModelInfo(text)
      if (info) found.push({model: entry.name, info})
    }
    // The model used last first.
    return found.sort((a, b) => (a.info.usedAt < b.info.usedAt ? 1 : a.info.usedAt > b.info.usedAt ? -1 : 0))
  }
}
