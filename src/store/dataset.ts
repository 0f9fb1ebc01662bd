/**
 * A dataset on disk: the folder that holds `.lora-tagger/` (config.yaml, state.json, session.json, journal.json,
 * lock) and the output folder (renamed images, caption files, tags.txt). `locateDataset` finds it like git finds
 * a repository; `openDataset` loads its config and finishes any interrupted change first.
 */
import {dirname, join, relative, resolve} from 'node:path'
import {ConfigError, DatasetError, NoDatasetError, UsageError} from '../errors.js'
import {
  type Dirent,
  exists,
  FileTooLargeError,
  isCode,
  isSystemError,
  listDirEntries,
  makeDirBelow,
  realFolderBelow,
  removeFile,
  NotRegularFileError,
  readRegularBytesIfExists,
  readRegularBytesIfExistsSync,
  readRegularTextIfExists,
  readRegularTextIfExistsSync,
  removeTempFiles,
  resolveReal,
  statIfExists,
  statIfExistsSync,
  kindOf,
  lstatIfExistsSync,
  writeFileAtomic,
} from '../adapters/fs.js'
import {checkStatePaths, isInside, oddFileError, oddFileKindText, tooLargeFileError} from '../core/containment.js'
import {debugLog} from '../adapters/debug.js'
import {type DatasetConfig, validateConfig} from '../core/config.js'
import {JOURNAL_FILE, recoverJournal} from './journal.js'
import {commitRecovered} from './transaction.js'
import {acquireLock, type HeldLock} from './lock.js'
import {type DatasetState, parseSession, parseState, type SessionState} from '../core/state.js'
import {parseVocabulary, VOCABULARY_FILE} from '../core/vocabulary.js'
import {
  CAPTION_MAX_BYTES,
  CaptionTooLargeError,
  decodeCaption,
  undecodableCaptionsError,
} from '../core/caption-encoding.js'

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
    const via = options.explicit === undefined ? 'LORA_DATASET' : '-C'
    const how = options.explicit === undefined ? `LORA_DATASET=${given}` : `-C ${given}`
    const st = await statIfExists(root)
    if (st && !st.isDirectory()) {
      // A file (an image, a caption, state.json): say what -C wants, and which dataset holds that file, if one does.
      const holder = await enclosingDataset(dirname(root))
      throw new UsageError(
        `${how}: ${via} expects the dataset folder; ${root} is a file.`,
        holder
          ? `That file belongs to the dataset ${holder}: use \`${via === '-C' ? '-C ' : 'LORA_DATASET='}${holder}\`.`
          : 'Give the folder that holds .lora-tagger/ (the folder you ran `lora init` on).',
      )
    }
    if (!st) {
      throw new NoDatasetError(
        `${how}: ${root} does not exist.`,
        `Check the path; \`${via}\` takes the folder you ran \`lora init\` on.`,
      )
    }
    if (!(await isDir(join(root, META_DIR)))) {
      throw new NoDatasetError(
        `${how}: ${root} is not a lora dataset (it has no ${META_DIR}/ folder).`,
        `Run \`lora init ${given}\` first, or point ${via} at a dataset.`,
      )
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
    if (entry.isDirectory() && (await isDir(join(options.cwd, entry.name, META_DIR), {unreadable: false})))
      candidates.push(entry.name)
  }
  if (candidates.length === 1) return resolve(options.cwd, candidates[0])
  if (candidates.length > 1) {
    throw new NoDatasetError(
      `Several datasets here: ${candidates.sort().join(', ')}.`,
      `Choose one with -C, e.g. \`lora status -C ${candidates[0]}\`.`,
    )
  }
  throw new NoDatasetError(
    'No lora dataset here (no .lora-tagger/ in this folder, its parents, or the folders right inside it).',
    'Run `lora init <folder-of-images>` first, or point to a dataset with -C <dir> or LORA_DATASET.',
  )
}

/**
 * The nearest folder from `dir` upwards (`dir` included) holding `.lora-tagger/`, or undefined. Folders that cannot
 * be looked into count as not holding one.
 */
export async function enclosingDataset(dir: string): Promise<string | undefined> {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (await isDir(join(d, META_DIR), {unreadable: false})) return d
    if (dirname(d) === d) return undefined
  }
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

  /**
   * The dataset's folders, besides the dataset folder itself, whose `.gitattributes` and `.gitignore` git reads when
   * lora runs it on the dataset: the output folder and `.lora-tagger/` (adapters/git.ts `GitRepo.open` checks them).
   */
  get gitFolders(): string[] {
    return [this.paths.output, this.paths.meta]
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

  /**
   * Reads state.json and checks that its records stay inside the dataset (README "Safety model", rule 1).
   * @throws DatasetError when it is missing, not a regular file, not a state, or a record points elsewhere
   */
  async loadState(): Promise<DatasetState> {
    const text = readOwnedText(this.root, this.paths.state, 'state file')
    if (text === undefined)
      throw new DatasetError(
        `${this.rel(this.paths.state)} is missing.`,
        'Run `lora repair` to rebuild it from the output folder and the captions.',
      )
    return parseCheckedState(text, this.rel(this.paths.state))
  }

  /** Reads session.json (a fresh session when missing). @throws DatasetError when it is not a regular file */
  async loadSession(): Promise<SessionState> {
    return parseSession(readOwnedText(this.root, this.paths.session, 'session file'))
  }

  /** Writes session.json atomically. */
  async saveSession(session: SessionState): Promise<void> {
    await writeFileAtomic(this.paths.session, JSON.stringify(session, null, 2) + '\n')
  }

  /** Reads tags.txt ([] when missing). @throws DatasetError when it is not a regular file */
  async loadVocabulary(): Promise<string[]> {
    const text = readOwnedText(this.root, this.paths.vocabulary, 'vocabulary file (tags.txt)')
    return text === undefined ? [] : parseVocabulary(text)
  }

  /**
   * Reads an image's caption file; undefined when it does not exist. Synchronous underneath: bulk edits read
   * thousands of small captions, and a sync read is ~10× faster than a thread-pool round trip. Never through a
   * symbolic link, and never blocking (adapters/fs.ts `readRegularTextIfExistsSync`), and never more than
   * CAPTION_MAX_BYTES (1 MiB).
   * @throws DatasetError naming the caption when it is a symbolic link, FIFO, device, socket or folder;
   *   CaptionTooLargeError when it is larger than CAPTION_MAX_BYTES (nothing of it is read); the caption-encoding
   *   LoraError when it is not UTF-8 or BOM-marked UTF-16 text
   */
  async readCaption(imageFile: string): Promise<string | undefined> {
    const read = await this.readCaptionChecked(imageFile)
    if (read.problem !== undefined)
      throw undecodableCaptionsError([{id: stemOfFile(imageFile), path: read.path, problem: read.problem}])
    return read.text
  }

  /**
   * Reads an image's caption and decodes it (core/caption-encoding.ts): `text` is undefined when there is no
   * caption file; `problem` says why a caption that is not UTF-8 or BOM-marked UTF-16 cannot be read as text.
   * `path` is the caption's path relative to the dataset folder.
   * @throws DatasetError naming the caption when it is not a regular file; CaptionTooLargeError when it is larger
   *   than CAPTION_MAX_BYTES (1 MiB; nothing of it is read)
   */
  async readCaptionChecked(
    imageFile: string,
  ): Promise<
    {text: string | undefined; problem?: undefined; path: string} | {text?: undefined; problem: string; path: string}
  > {
    const abs = join(this.paths.output, this.captionFile(imageFile))
    const path = this.rel(abs)
    const bytes = readCaptionBytes(this.root, abs)
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
      // A finished change that was to be committed is committed as its command would have (an undo keeps its
      // Lora-Undoes trailer); store/transaction.ts commitRecovered.
      await recoverJournal(this.root, this.paths.meta, this.paths.output, async (journal) => {
        if (journal.commit) await commitRecovered(this, journal.commit, journal.ops)
      })
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

/** The longest config.yaml lora reads, in characters (64 Ki: a config is a few hundred bytes). */
export const CONFIG_MAX_CHARS = 64 * 1024

/**
 * Reads `.lora-tagger/config.yaml` of the dataset at `root`. The parsed document is cached as JSON in
 * `.lora-tagger/cache/config.json`, keyed by the file's exact text, so most commands skip loading the YAML parser
 * (~25 ms of start-up); the cache is only a speed-up and is rewritten whenever the YAML changes.
 * @param options.writeCache false: do not write the cache (reading another dataset's config, which is not ours to change)
 * @throws ConfigError for unknown keys, bad values or bad YAML, or a file longer than CONFIG_MAX_CHARS
 */
export async function loadConfig(root: string, options: {writeCache?: boolean} = {}): Promise<DatasetConfig> {
  const path = join(root, META_DIR, 'config.yaml')
  const text = readOwnedText(root, path, 'config file')
  if (text === undefined) return checkOutputFolder(root, validateConfig(undefined))
  // A config is a few hundred bytes; one from a stranger may be made to take the YAML parser minutes (200 MB took
  // more than 20 s) and then be cached as a copy of that size.
  if (text.length > CONFIG_MAX_CHARS)
    throw new ConfigError(
      `${META_DIR}/config.yaml is ${text.length.toLocaleString('en-US')} characters long; lora reads configs of up to ${CONFIG_MAX_CHARS.toLocaleString('en-US')}.`,
      'A lora config is a few lines (README "Config keys"): replace it with one, or remove it to use the defaults.',
    )
  const cachePath = join(root, META_DIR, 'cache', 'config.json')
  let doc: unknown
  try {
    // Any failure to read the cache (damaged, or a folder put there by hand) only costs the speed-up.
    const cachedText = readCacheTextSync(join(root, META_DIR), cachePath)
    const cached = JSON.parse(cachedText ?? 'null') as {text: string; doc: unknown} | null
    if (cached && cached.text === text) doc = cached.doc
  } catch (error) {
    if (!isSystemError(error) && !(error instanceof SyntaxError)) throw error
    await debugLog('lora:cache', `${cachePath} is damaged or unreadable; it is rewritten`, error)
  }
  if (doc === undefined) {
    const {parse} = await import('yaml')
    try {
      doc = parse(text) ?? null
    } catch (error) {
      throw new ConfigError(
        `${META_DIR}/config.yaml is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
        'Fix the file; see README "Config keys".',
      )
    }
    const config = checkOutputFolder(root, validateConfig(doc, `${META_DIR}/config.yaml`))
    if (options.writeCache === false) return config
    try {
      await writeCacheFile(join(root, META_DIR), cachePath, JSON.stringify({text, doc}))
    } catch (error) {
      // A read-only (or full) dataset: no cache, still correct. Anything but a file-system error is not hidden.
      if (!isSystemError(error)) throw error
      await debugLog('lora:cache', `could not write ${cachePath}; config.yaml is parsed again next time`, error)
    }
    return config
  }
  return checkOutputFolder(root, validateConfig(doc, `${META_DIR}/config.yaml`))
}

/**
 * Parses state.json text and checks its paths (core/containment.ts `checkStatePaths`): every image's `file` a
 * plain name in the output folder, every `source` inside the dataset folder.
 * @param source the file's name relative to the dataset folder, for messages
 * @throws DatasetError when it is not a state, or a record points elsewhere
 */
export function parseCheckedState(text: string, source: string): DatasetState {
  const state = parseState(text, source)
  checkStatePaths(state, source)
  return state
}

/**
 * Reads one of the dataset's own files (`what`: `caption file`, `state file`, ...), never through a symbolic link
 * and never blocking; undefined when missing.
 * @throws DatasetError naming the file (relative to `root`) when it is not a regular file
 */
export function readOwnedText(root: string, path: string, what: string): string | undefined {
  return readOwnedBytes(root, path, what)?.toString('utf8')
}

/**
 * `readOwnedText`, returning the bytes (captions: their encoding is checked before use).
 * @param options.maxBytes the most it reads: a larger file is refused before any byte is read
 * @throws DatasetError naming the file (relative to `root`) when it is not a regular file, or, without `maxBytes`,
 *   when it is larger than the fs adapter's WHOLE_READ_MAX_BYTES (core/containment.ts `tooLargeFileError`); the fs
 *   adapter's FileTooLargeError past `maxBytes`
 */
export function readOwnedBytes(
  root: string,
  path: string,
  what: string,
  options: {maxBytes?: number} = {},
): Buffer | undefined {
  try {
    return readRegularBytesIfExistsSync(path, options)
  } catch (error) {
    if (error instanceof NotRegularFileError) throw oddFileError(relativeName(root, path), error.kind, what)
    if (error instanceof FileTooLargeError && options.maxBytes === undefined)
      throw tooLargeFileError(relativeName(root, path), error.size, error.maxBytes, what)
    throw error
  }
}

/**
 * Reads a caption file of the dataset's (`path` absolute) as `readOwnedBytes` does, and at most CAPTION_MAX_BYTES
 * (1 MiB) of it: a larger file is refused before any byte is read (README "Safety model").
 * @returns its bytes, or undefined when there is none
 * @throws DatasetError naming the file when it is not a regular file; CaptionTooLargeError naming it (relative to
 *   `root`), its size and the cap when it is larger
 */
export function readCaptionBytes(root: string, path: string): Buffer | undefined {
  try {
    return readOwnedBytes(root, path, 'caption file', {maxBytes: CAPTION_MAX_BYTES})
  } catch (error) {
    if (error instanceof FileTooLargeError) throw new CaptionTooLargeError(relativeName(root, path), error.size)
    throw error
  }
}

/** `path` relative to `root`, `/`-separated, for messages. */
function relativeName(root: string, path: string): string {
  return relative(root, path).split('\\').join('/')
}

/**
 * Checks that the output folder, resolved (symbolic links followed), lies inside the dataset folder and is not
 * `.lora-tagger/` (README "Safety model", rule 1): a dataset whose `output` is a link to elsewhere would make lora
 * write captions there.
 * @returns `config`, checked
 * @throws ConfigError naming the folder and where it leads; DatasetError when it exists and is not a folder
 */
export function checkOutputFolder(root: string, config: DatasetConfig): DatasetConfig {
  const realRoot = resolveReal(root)
  const realOutput = resolveReal(join(root, config.output))
  if (!isInside(realOutput, realRoot) || realOutput === realRoot || isInside(realOutput, join(realRoot, META_DIR))) {
    throw new ConfigError(
      `The output folder "${config.output}" leads to ${realOutput} (through a symbolic link), which is not a folder of its own inside the dataset folder ${realRoot}; nothing was done.`,
      `A dataset keeps its images in a folder of its own. Replace the link ${config.output} with a real folder, or set "output" in ${META_DIR}/config.yaml to one.`,
    )
  }
  const st = statIfExistsSync(realOutput)
  if (st && !st.isDirectory()) {
    const kind = kindOf(st)
    throw new DatasetError(
      `The output folder "${config.output}" is not a folder but ${kind === 'file' ? 'a regular file' : oddFileKindText(kind)}; nothing was done.`,
      `Move that file out of the way (it is not lora's), then rerun the command.`,
    )
  }
  return config
}

/**
 * Opens the dataset at `root`: loads its config and, when a previous command was interrupted, finishes its change
 * (taking the lock for that; if another writer holds the lock, the change is left to it).
 * @param command the command opening it (`lora tag`), named in the lock while it finishes a change
 */
export async function openDataset(root: string, command = 'lora'): Promise<Dataset> {
  refuseLinkedMetaFolder(root)
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

/**
 * Refuses a dataset whose `.lora-tagger` is a symbolic link: every write of lora's own files (state, journal, lock,
 * caches) would land wherever it points, outside the dataset (README "Safety model": a dataset may come from a
 * stranger, and nothing outside it is ever touched).
 * @throws DatasetError naming the link and where it leads
 */
export function refuseLinkedMetaFolder(root: string): void {
  const meta = join(root, META_DIR)
  if (!lstatIfExistsSync(meta)?.isSymbolicLink()) return
  let target = 'a path that does not exist'
  try {
    const real = resolveReal(meta)
    if (real !== meta) target = real
  } catch {
    // a looping link: said as a path that does not exist
  }
  throw new DatasetError(
    `${META_DIR} in ${root} is a symbolic link (to ${target}), not a folder of the dataset's own; nothing was done.`,
    `lora keeps a dataset's state, journal and caches in a real ${META_DIR}/ folder inside it. If the link is yours, replace it with the folder it points to (mv).`,
  )
}

/**
 * Writes one of the dataset's cache files, `path` below `meta` (`.lora-tagger/`, e.g. `.lora-tagger/cache/summary.json`):
 * its folders made one level at a time and never through a symbolic link (adapters/fs.ts `makeDirBelow`: a link
 * planted at `.lora-tagger/cache` by whoever made the dataset would lead the write outside it), then the file
 * replaced atomically (temp file, fsync, rename).
 * @throws an ENOTDIR system error when a folder on the way is a symbolic link or not a folder (callers that cache
 *   best-effort take it as any other failure to write); the file system's error otherwise
 */
export async function writeCacheFile(meta: string, path: string, data: string | Uint8Array): Promise<void> {
  await makeDirBelow(meta, folderBelow(meta, dirname(path)))
  await writeFileAtomic(path, data)
}

/** The folder `dir` relative to `meta`. @throws Error when `dir` is not `meta` or below it */
function folderBelow(meta: string, dir: string): string {
  const rel = relative(meta, dir)
  if (rel.startsWith('..') || resolve(meta, rel) !== resolve(dir)) throw new Error(`${dir} is not below ${meta}`)
  return rel
}

/**
 * Removes one of the dataset's cache files, `path` below `meta`, when every folder on the way is a real one (never
 * through a symbolic link planted at `.lora-tagger/cache`: then, as when the file is not there, nothing is done).
 * @throws the file system's error for anything else
 */
export async function removeCacheFile(meta: string, path: string): Promise<void> {
  if (!cacheFolderIsReal(meta, path)) return
  if (await exists(path)) await removeFile(path)
}

/**
 * Whether the folder of the cache file `path` below `meta` is there and reached without a symbolic link (each level
 * a real folder, as `writeCacheFile` makes them). A cache behind a link planted at `.lora-tagger/cache` (or below) is
 * never read nor listed: to its readers it is a cache miss, as a missing one is.
 * @throws Error when `path` is not below `meta`; the file system's error other than ENOTDIR
 */
export function cacheFolderIsReal(meta: string, path: string): boolean {
  return cacheDirIsReal(meta, dirname(path))
}

/** `cacheFolderIsReal` for the folder `dir` itself (before listing it). */
export function cacheDirIsReal(meta: string, dir: string): boolean {
  try {
    return realFolderBelow(meta, folderBelow(meta, dir))
  } catch (error) {
    if (isCode(error, 'ENOTDIR')) return false
    throw error
  }
}

/**
 * Reads one of the dataset's cache files, `path` below `meta`, as UTF-8 text; undefined when it is not there, when
 * its folder is not reached without a symbolic link (`cacheFolderIsReal`), or when it is larger than the fs
 * adapter's WHOLE_READ_MAX_BYTES (not one lora wrote: nothing of it is read, and the cache is made again over it).
 * @throws NotRegularFileError (fs adapter) when the file itself is a link, FIFO, folder or device; the file system's
 *   error otherwise
 */
export function readCacheTextSync(meta: string, path: string): string | undefined {
  if (!cacheFolderIsReal(meta, path)) return undefined
  try {
    return readRegularTextIfExistsSync(path)
  } catch (error) {
    if (error instanceof FileTooLargeError) return undefined
    throw error
  }
}

/** `readCacheTextSync`, asynchronous. */
export async function readCacheText(meta: string, path: string): Promise<string | undefined> {
  return cacheFolderIsReal(meta, path) ? await readRegularTextIfExists(path).catch(tooLargeIsMissing) : undefined
}

/** `readCacheText`, returning the bytes. */
export async function readCacheBytes(meta: string, path: string): Promise<Buffer | undefined> {
  return cacheFolderIsReal(meta, path) ? await readRegularBytesIfExists(path).catch(tooLargeIsMissing) : undefined
}

/**
 * A cache file's read error: undefined (a miss) for the fs adapter's FileTooLargeError, as a cache is only a speed-up.
 * @throws `error` otherwise
 */
function tooLargeIsMissing(error: unknown): undefined {
  if (error instanceof FileTooLargeError) return undefined
  throw error
}
