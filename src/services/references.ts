/**
 * Reference vocabularies stored in a dataset (`.lora-tagger/reference/<name>.tsv`) and the prebuilt autocomplete
 * index over all of them (`.lora-tagger/cache/vocabulary.idx`), rebuilt whenever a reference file changes.
 */
import {basename, extname, join, resolve} from 'node:path'
import {DatasetError, UsageError} from '../errors.js'
import {
  exists,
  isCode,
  isSystemError,
  listDir,
  makeDir,
  NotRegularFileError,
  readRegularTextIfExistsSync,
  resolveReal,
  removeFile,
  statPath,
  writeFileAtomic,
} from '../adapters/fs.js'
import {debugLog} from '../adapters/debug.js'
import {type Dataset, readOwnedText} from '../store/dataset.js'
import {
  filterReference,
  parsePlainList,
  parseStoredReference,
  parseTagcompleteCsv,
  type ReferenceFilter,
  type ReferenceInfo,
  type ReferenceTag,
  serializeReference,
} from '../core/reference.js'
import {TagIndex} from '../core/tag-index.js'
import {notRegularInputError} from '../core/containment.js'
import {withWriteTransaction} from '../store/transaction.js'

/** Folder of stored reference vocabularies, inside `.lora-tagger/`. */
export const REFERENCE_DIR = 'reference'
/** The cached index, inside `.lora-tagger/`. */
export const INDEX_CACHE = join('cache', 'vocabulary.idx')

/** Options of `lora tags import`. */
export interface ImportOptions {
  file: string
  /** `csv` (a1111 tagcomplete) or `text` (one tag per line); by default from the extension (.csv → csv). */
  format?: 'csv' | 'text'
  /** Stored name; default: the file name without extension. */
  name?: string
  filter: ReferenceFilter
  cwd: string
}

/** What an import stored. */
export interface ImportReport extends ReferenceInfo {
  aliases: number
  /** Rows left out by the filters. */
  filteredOut: number
}

/**
 * Imports a reference vocabulary, replacing one of the same name, and rebuilds the index.
 * @throws ReferenceFormatError (nothing imported) for a malformed CSV line, or a tag holding a control or bidi
 *   character (core/terminal-text.ts)
 * @throws UsageError for a missing file, one that is not a regular file (a symbolic link, FIFO, device or folder:
 *   never followed or opened for reading; core/containment.ts notRegularInputError), or a bad name
 * @throws DatasetBusyError when another writer holds the dataset
 */
export async function importReference(dataset: Dataset, options: ImportOptions): Promise<ImportReport> {
  const path = resolve(options.cwd, options.file)
  let text: string | undefined
  try {
    // A regular file only: never through a symbolic link, never a FIFO or device that would block or never end.
    text = readRegularTextIfExistsSync(path)
  } catch (error) {
    if (!(error instanceof NotRegularFileError)) throw error
    throw notRegularInputError(
      options.file,
      error.kind,
      'lora tags import',
      error.kind === 'symlink' ? realTarget(path) : undefined,
    )
  }
  if (text === undefined)
    throw new UsageError(
      `${options.file} does not exist.`,
      'Give the path of a tag list: an a1111 tagcomplete CSV or a text file with one tag per line.',
    )
  const name = options.name ?? basename(path, extname(path))
  if (!/^[\w.-]+$/u.test(name) || name.startsWith('.'))
    throw new UsageError(
      `"${name}" cannot name a reference vocabulary.`,
      'Use --name with letters, digits, "-", "_" or ".".',
    )
  const format = options.format ?? (extname(path).toLowerCase() === '.csv' ? 'csv' : 'text')
  const all = format === 'csv' ? await parseTagcompleteCsv(text, options.file) : parsePlainList(text, options.file)
  const kept = filterReference(all, options.filter)
  const info: ReferenceInfo = {
    name,
    source: path,
    importedAt: new Date().toISOString(),
    tags: kept.length,
    filter: options.filter,
  }
  // Reference vocabularies are local files (not in the dataset's history): never committed, git not checked.
  await withWriteTransaction(dataset, {command: 'lora tags import', history: 'none'}, async () => {
    await makeDir(join(dataset.paths.meta, REFERENCE_DIR))
    await writeFileAtomic(referencePath(dataset, name), serializeReference(info, kept))
    await loadTagIndex(dataset)
    return {result: undefined}
  })
  return {...info, aliases: kept.reduce((n, t) => n + t.aliases.length, 0), filteredOut: all.length - kept.length}
}

/** The stored reference vocabularies' details, by name. */
export async function listReferences(dataset: Dataset): Promise<ReferenceInfo[]> {
  const out: ReferenceInfo[] = []
  for (const file of await referenceFiles(dataset)) {
    const text = readStored(dataset, file)
    out.push(parseStoredReference(text.slice(0, text.indexOf('\n') + 1)).info)
  }
  return out
}

/**
 * Removes a stored reference vocabulary and rebuilds the index.
 * @throws UsageError when there is none of that name
 * @throws DatasetBusyError when another writer holds the dataset
 */
export async function removeReference(dataset: Dataset, name: string): Promise<void> {
  await withWriteTransaction(dataset, {command: 'lora tags import --remove', history: 'none'}, async () => {
    const path = referencePath(dataset, name)
    if (!(await exists(path))) {
      const names = (await listReferences(dataset)).map((r) => r.name)
      throw new UsageError(
        `No reference vocabulary named "${name}".`,
        names.length ? `Imported: ${names.join(', ')}.` : 'None is imported; see `lora tags import FILE`.',
      )
    }
    await removeFile(path)
    await loadTagIndex(dataset)
    return {result: undefined}
  })
}

/**
 * Loads the autocomplete index over every stored reference vocabulary: from the cache when it was built from the
 * files as they are now, else rebuilt (and the cache rewritten; a cache that cannot be written is reported with
 * `DEBUG=lora:cache` and the index still returned). Undefined when no reference is imported (the folder is
 * missing or holds no `.tsv`), and then a stale cache is removed.
 * @throws the file system's error when the reference folder or a file in it cannot be read (EACCES, ...)
 */
export async function loadTagIndex(dataset: Dataset): Promise<TagIndex | undefined> {
  const files = await referenceFiles(dataset)
  const cachePath = join(dataset.paths.meta, INDEX_CACHE)
  if (files.length === 0) {
    if (await exists(cachePath)) await removeFile(cachePath)
    return undefined
  }
  const stats = await Promise.all(files.map((f) => statPath(f)))
  const sourceKey = files.map((f, i) => `${basename(f)}:${stats[i].size}:${Math.trunc(stats[i].mtimeMs)}`).join('|')
  let cached: string | undefined
  try {
    cached = readRegularTextIfExistsSync(cachePath)
  } catch (error) {
    // A cache that is a link or a FIFO is never read (rule 1); it is rebuilt and replaced below.
    if (!(error instanceof NotRegularFileError)) throw error
  }
  if (cached !== undefined) {
    const index = TagIndex.parse(cached)
    if (index && index.sourceKey === sourceKey) return index
  }
  const tags: ReferenceTag[] = []
  for (const f of files) for (const t of parseStoredReference(readStored(dataset, f)).tags) tags.push(t)
  const index = TagIndex.build(tags, sourceKey)
  try {
    await makeDir(join(dataset.paths.meta, 'cache'))
    await writeFileAtomic(cachePath, index.serialize())
  } catch (error) {
    // A read-only (or full) dataset still autocompletes; it just rebuilds the index next time.
    if (!isSystemError(error)) throw error
    await debugLog('lora:cache', `could not write ${cachePath}; the index is rebuilt next time`, error)
  }
  return index
}

function referencePath(dataset: Dataset, name: string): string {
  return join(dataset.paths.meta, REFERENCE_DIR, `${name}.tsv`)
}

/**
 * The stored reference files, by name; [] when the folder does not exist (none was ever imported).
 * @throws the file system's error for an unreadable folder (EACCES, ...): that is not "no references"
 */
async function referenceFiles(dataset: Dataset): Promise<string[]> {
  const dir = join(dataset.paths.meta, REFERENCE_DIR)
  let names: string[]
  try {
    names = await listDir(dir)
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return []
    throw error
  }
  return names
    .filter((n) => n.endsWith('.tsv'))
    .sort()
    .map((n) => join(dir, n))
}

/**
 * Reads a stored reference vocabulary (a file of `.lora-tagger/reference/`): a regular file only, never through a
 * symbolic link and never blocking (README "Safety model", rule 1).
 * @throws DatasetError naming it when it is not a regular file, or vanished since it was listed
 */
function readStored(dataset: Dataset, file: string): string {
  const text = readOwnedText(dataset.root, file, 'reference vocabulary file')
  if (text === undefined)
    throw new DatasetError(`${dataset.rel(file)} vanished while it was read.`, 'Rerun the command.')
  return text
}

/** Where a symbolic link leads (resolved), or undefined when it cannot be resolved (dangling, a loop). */
function realTarget(path: string): string | undefined {
  try {
    const real = resolveReal(path)
    return real === path ? undefined : real
  } catch {
    return undefined
  }
}
