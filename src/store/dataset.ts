/**
 * A dataset on disk: the folder that holds `.lora-tagger/` (config.yaml, state.json, session.json, journal.json,
 * lock) and the output folder (renamed images, caption files, tags.txt). `locateDataset` finds it like git finds
 * a repository; `openDataset` loads its config and finishes any interrupted change first.
 */
import {dirname, join, relative, resolve} from 'node:path'
import {ConfigError, DatasetError, NoDatasetError} from '../errors.js'
import {type Dirent, exists, isCode, isSystemError, listDirEntries, makeDir, readBytesIfExistsSync, readTextIfExists, readTextIfExistsSync, removeTempFiles, statIfExists, writeFileAtomic} from '../adapters/fs.js'
import {debugLog} from '../adapters/debug.js'
import {type DatasetConfig, validateConfig} from '../core/config.js'
import {JOURNAL_FILE, recoverJournal} from './journal.js'
import {acquireLock, type HeldLock} from './lock.js'
import {type DatasetState, parseSession, parseState, type SessionState} from '../core/state.js'
import {parseVocabulary, VOCABULARY_FILE} from '../core/vocabulary.js'
import {decodeCaption, undecodableCaptionsError} from '../core/caption-encoding.js'

/** Name of the metadata folder that marks a dataset. */
export const META_DIR = '.lora-tagger'

/** Paths of a dataset's files, all absolute. */
export interface DatasetPaths {
  root: string
  meta: string
  config: string
  state: string
  session: string
  output: string
  vocabulary: string
}

/** Computes the paths of a dataset rooted at `root` with the given output folder name. */
export function datasetPaths(root: string, output: string): DatasetPaths {
  const meta = join(root, META_DIR)
  const out = join(root, output)
  return {
    root,
    meta,
    config: join(meta, 'config.yaml'),
    state: join(meta, 'state.json'),
    session: join(meta, 'session.json'),
    output: out,
    vocabulary: join(out, VOCABULARY_FILE),
  }
}

/** Where to look for a dataset. */
export interface LocateOptions {
  /** `-C/--dataset DIR`, if given. */
  explicit?: string
  /** `LORA_DATASET`, if set. */
  env?: string
  /** The current directory. */
  cwd: string
}

/**
 * Finds the dataset folder: `-C/--dataset`, else `LORA_DATASET`, else the nearest folder holding `.lora-tagger/`
 * from `cwd` upwards, else the only immediate subfolder of `cwd` holding one.
 *
 * @returns the absolute dataset folder
 * @throws NoDatasetError (exit 3) when none is found, or when several subfolders qualify (naming them)
 */
export async function locateDataset(options: LocateOptions): Promise<string> {
  const given = options.explicit ?? (options.env ? options.env : undefined)
  if (given !== undefined) {
    const root = resolve(options.cwd, given)
    if (!(await isDir(join(root, META_DIR)))) {
      const how = options.explicit === undefined ? `LORA_DATASET=${given}` : `-C ${given}`
      throw new NoDatasetError(`${how}: ${root} is not a lora dataset (it has no ${META_DIR}/ folder).`, `Run \`lora init ${given}\` first, or point -C at a dataset.`)
    }
    return root
  }
  for (let dir = resolve(options.cwd); ; dir = dirname(dir)) {
    if (await isDir(join(dir, META_DIR))) return dir
    if (dirname(dir) === dir) break
  }
  const candidates: string[] = []
  let entries: Dirent[] = []
  try {
    entries = await listDirEntries(options.cwd)
  } catch (error) {
    // A current folder that was deleted has no subfolders; one we may not read is reported as such.
    if (!isCode(error, 'ENOENT', 'ENOTDIR')) throw error
  }
  for (const entry of entries) {
    if (entry.isDirectory() && (await isDir(join(options.cwd, entry.name, META_DIR), {unreadable: false}))) candidates.push(entry.name)
  }
  if (candidates.length === 1) return resolve(options.cwd, candidates[0])
  if (candidates.length > 1) {
    throw new NoDatasetError(`Several datasets here: ${candidates.sort().join(', ')}.`, `Choose one with -C, e.g. \`lora status -C ${candidates[0]}\`.`)
  }
  throw new NoDatasetError('No lora dataset here (no .lora-tagger/ in this folder, its parents, or its subfolders).', 'Run `lora init <folder-of-images>` first, or point to a dataset with -C <dir> or LORA_DATASET.')
}

/**
 * True when `path` is a folder; false when nothing is there. Other failures (EACCES, ELOOP, EIO) are thrown,
 * unless `options.unreadable` gives the answer for EACCES (a subfolder of the current folder that we may not look
 * into is not a dataset candidate).
 */
async function isDir(path: string, options: {unreadable?: boolean} = {}): Promise<boolean> {
  try {
    return (await statIfExists(path))?.isDirectory() ?? false
  } catch (error) {
    if (options.unreadable !== undefined && isCode(error, 'EACCES')) return options.unreadable
    throw error
  }
}

/** An opened dataset: its config and paths, and the operations every service shares. */
export class Dataset {
  constructor(
    readonly paths: DatasetPaths,
    readonly config: DatasetConfig,
  ) {}

  /** The dataset folder. */
  get root(): string {
    return this.paths.root
  }

  /** Path relative to the dataset folder, `/`-separated. */
  rel(path: string): string {
    return relative(this.root, path).split('\\').join('/')
  }

  /** Absolute path of an image's file in the output folder. */
  imagePath(file: string): string {
    return join(this.paths.output, file)
  }

  /** Caption file name of an image file: same stem, configured extension (`img_0001.jpg` → `img_0001.txt`). */
  captionFile(imageFile: string): string {
    const dot = imageFile.lastIndexOf('.')
    return (dot > 0 ? imageFile.slice(0, dot) : imageFile) + this.config.captionExtension
  }

  /** Reads state.json. */
  async loadState(): Promise<DatasetState> {
    const text = await readTextIfExists(this.paths.state)
    if (text === undefined) throw new DatasetError(`${this.rel(this.paths.state)} is missing.`, 'Run `lora repair` to rebuild it from the output folder and the captions.')
    return parseState(text, this.rel(this.paths.state))
  }

  /** Reads session.json (a fresh session when missing). */
  async loadSession(): Promise<SessionState> {
    return parseSession(await readTextIfExists(this.paths.session))
  }

  /** Writes session.json atomically. */
  async saveSession(session: SessionState): Promise<void> {
    await writeFileAtomic(this.paths.session, JSON.stringify(session, null, 2) + '\n')
  }

  /** Reads tags.txt ([] when missing). */
  async loadVocabulary(): Promise<string[]> {
    const text = await readTextIfExists(this.paths.vocabulary)
    return text === undefined ? [] : parseVocabulary(text)
  }

  /**
   * Reads an image's caption file; undefined when it does not exist. Synchronous underneath: bulk edits read
   * thousands of small captions, and a sync read is ~10× faster than a thread-pool round trip.
   */
  async readCaption(imageFile: string): Promise<string | undefined> {
    const read = await this.readCaptionChecked(imageFile)
    if (read.problem !== undefined) throw undecodableCaptionsError([{id: stemOfFile(imageFile), path: read.path, problem: read.problem}])
    return read.text
  }

  /**
   * Reads an image's caption and decodes it (core/caption-encoding.ts): `text` is undefined when there is no
   * caption file; `problem` says why a caption that is not UTF-8 or BOM-marked UTF-16 cannot be read as text.
   * `path` is the caption's path relative to the dataset folder.
   */
  async readCaptionChecked(imageFile: string): Promise<{text: string | undefined; problem?: undefined; path: string} | {text?: undefined; problem: string; path: string}> {
    const abs = join(this.paths.output, this.captionFile(imageFile))
    const path = this.rel(abs)
    const bytes = readBytesIfExistsSync(abs)
    if (bytes === undefined) return {text: undefined, path}
    const decoded = decodeCaption(bytes)
    return decoded.problem === undefined ? {text: decoded.text, path} : {problem: decoded.problem, path}
  }

  /**
   * Takes the writer lock, finishes any interrupted change, and returns the lock. Only for the write transaction
   * (store/transaction.ts) and openDataset: services write through withWriteTransaction.
   * @throws DatasetBusyError when another writer holds it
   */
  async lock(command: string): Promise<HeldLock> {
    const lock = await acquireLock(this.paths.meta, command)
    try {
      // Temp files of killed writers outside a journal (config, lock, the journal's own temp file, caches).
      await removeTempFiles(this.paths.meta)
      await removeTempFiles(join(this.paths.meta, 'cache'))
      await recoverJournal(this.root, this.paths.meta, this.paths.output)
    } catch (error) {
      await lock.release()
      throw error
    }
    return lock
  }

  /** True when an interrupted change waits in journal.json. */
  async hasPendingJournal(): Promise<boolean> {
    return exists(join(this.paths.meta, JOURNAL_FILE))
  }
}

/** An image file's id: its name without the extension (`img_0001.jpg` → `img_0001`). */
function stemOfFile(file: string): string {
  const dot = file.lastIndexOf('.')
  return dot > 0 ? file.slice(0, dot) : file
}

/**
 * Reads `.lora-tagger/config.yaml` of the dataset at `root`. The parsed document is cached as JSON in
 * `.lora-tagger/cache/config.json`, keyed by the file's exact text, so most commands skip loading the YAML parser
 * (~25 ms of start-up); the cache is only a speed-up and is rewritten whenever the YAML changes.
 * @throws ConfigError for unknown keys, bad values or bad YAML
 */
export async function loadConfig(root: string): Promise<DatasetConfig> {
  const path = join(root, META_DIR, 'config.yaml')
  const text = await readTextIfExists(path)
  if (text === undefined) return validateConfig(undefined)
  const cachePath = join(root, META_DIR, 'cache', 'config.json')
  let doc: unknown
  const cachedText = readTextIfExistsSync(cachePath)
  try {
    const cached = JSON.parse(cachedText ?? 'null') as {text: string; doc: unknown} | null
    if (cached && cached.text === text) doc = cached.doc
  } catch (error) {
    await debugLog('lora:cache', `${cachePath} is damaged; it is rewritten`, error)
  }
  if (doc === undefined) {
    const {parse} = await import('yaml')
    try {
      doc = parse(text) ?? null
    } catch (error) {
      throw new ConfigError(`${META_DIR}/config.yaml is not valid YAML: ${(error as Error).message.split('\n')[0]}`, 'Fix the file; see README "Config keys".')
    }
    const config = validateConfig(doc, `${META_DIR}/config.yaml`)
    try {
      await makeDir(dirname(cachePath))
      await writeFileAtomic(cachePath, JSON.stringify({text, doc}))
    } catch (error) {
      // A read-only (or full) dataset: no cache, still correct. Anything but a file-system error is not hidden.
      if (!isSystemError(error)) throw error
      await debugLog('lora:cache', `could not write ${cachePath}; config.yaml is parsed again next time`, error)
    }
    return config
  }
  return validateConfig(doc, `${META_DIR}/config.yaml`)
}

/**
 * Opens the dataset at `root`: loads its config and, when a previous command was interrupted, finishes its change
 * (taking the lock for that; if another writer holds the lock, the change is left to it).
 * @param command the command opening it (`lora tag`), named in the lock while it finishes a change
 */
export async function openDataset(root: string, command = 'lora'): Promise<Dataset> {
  const config = await loadConfig(root)
  const dataset = new Dataset(datasetPaths(root, config.output), config)
  // Housekeeping any command may do without the lock: temp files of killed processes (dead pids only).
  await removeTempFiles(dataset.paths.meta)
  await removeTempFiles(join(dataset.paths.meta, 'cache'))
  if (await dataset.hasPendingJournal()) {
    try {
      const lock = await dataset.lock(`${command}, finishing an interrupted change`)
      await lock.release()
    } catch (error) {
      if (!isCode(error, 'EEXIST') && (error as {code?: string}).code !== 'busy') throw error
    }
  }
  return dataset
}
