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
  makeDirBelow,
  realFolderBelow,
  NotRegularFileError,
  openRegularForReadSync,
  resolveReal,
  removeFile,
  statPath,
  writeFileAtomic,
} from '../adapters/fs.js'
import {debugLog} from '../adapters/debug.js'
import {type Dataset, readCacheBytes, readOwnedText, removeCacheFile, writeCacheFile} from '../store/dataset.js'
import {
  filterReference,
  parsePlainList,
  parseStoredReference,
  readTagcompleteCsv,
  type ReferenceFilter,
  type ReferenceInfo,
  referenceScheme,
  type ReferenceTag,
  serializeReference,
  type SkippedRow,
} from '../core/reference.js'
import {type CategoryScheme, parseCategories, schemeForFile} from '../core/categories.js'
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
  /**
   * The category scheme (`--categories`); by default from the file name: `danbooru*` → danbooru, `e621*` → e621,
   * else numbers (core/categories.ts schemeForFile).
   */
  categories?: CategoryScheme
  /** `--min-count`. */
  minCount?: number
  /** `--category`: names in the scheme, or numbers, as typed. */
  category?: string[]
  cwd: string
}

/** What an import stored. */
export interface ImportReport extends ReferenceInfo {
  /** The category scheme its numbers are read in. */
  categories: CategoryScheme
  aliases: number
  /** Rows left out by the filters. */
  filteredOut: number
  /**
   * CSV rows no tool can use, left out: how many, and the first few with their line (1-based) and problem. Always
   * `{count: 0, rows: []}` for a plain list.
   */
  skipped: {count: number; rows: SkippedRow[]}
}

/** The largest tag list `lora tags import` reads, in bytes (100 MiB; danbooru.csv with its aliases is about 5 MB). */
export const REFERENCE_MAX_BYTES = 100 * 2 ** 20

/**
 * Imports a reference vocabulary, replacing one of the same name, and rebuilds the index. Unusable CSV rows are left
 * out and reported (`skipped`); see core/reference.ts readTagcompleteCsv.
 * @throws ReferenceFormatError (nothing imported) for a CSV that is not a tagcomplete CSV at all (no usable row, or
 *   more unusable rows than usable ones), or a tag holding a control or bidi character (core/terminal-text.ts)
 * @throws UsageError for a missing file, one that is not a regular file (a symbolic link, FIFO, device or folder:
 *   never followed or opened for reading; core/containment.ts notRegularInputError), a bad name, or a `--category`
 *   name the scheme does not have
 * @throws DatasetBusyError when another writer holds the dataset
 */
export async function importReference(dataset: Dataset, options: ImportOptions): Promise<ImportReport> {
  const path = resolve(options.cwd, options.file)
  let text: string | undefined
  try {
    // A regular file only: never through a symbolic link, never a FIFO or device that would block or never end; and
    // no larger than any tag list is (a 1 GB file would not fit in a string).
    const file = openRegularForReadSync(path)
    if (file) {
      try {
        if (file.size > REFERENCE_MAX_BYTES)
          throw new UsageError(
            `${options.file} is ${(file.size / 2 ** 20).toFixed(0)} MiB; lora imports tag lists of up to ${REFERENCE_MAX_BYTES / 2 ** 20} MiB.`,
            "Give a tag list: an a1111 tagcomplete CSV (danbooru's is about 5 MB) or a text file with one tag per line.",
          )
        text = file.read(0, file.size).toString('utf8')
      } finally {
        file.close()
      }
    }
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
  const categories = options.categories ?? schemeForFile(path)
  const filter: ReferenceFilter = {}
  if (options.minCount !== undefined) filter.minCount = options.minCount
  if (options.category !== undefined)
    filter.categories = parseCategories(categories, options.category, basename(options.file))
  const reading =
    format === 'csv'
      ? await readTagcompleteCsv(text, options.file)
      : {tags: parsePlainList(text, options.file), skippedCount: 0, skipped: []}
  const all = reading.tags
  const kept = filterReference(all, filter)
  const info: ReferenceInfo = {
    name,
    source: path,
    importedAt: new Date().toISOString(),
    tags: kept.length,
    filter,
    categories,
  }
  // Reference vocabularies are local files (not in the dataset's history): never committed, git not checked.
  await withWriteTransaction(dataset, {command: 'lora tags import', history: 'none'}, async () => {
    await makeDirBelow(dataset.paths.meta, REFERENCE_DIR)
    await writeFileAtomic(referencePath(dataset, name), serializeReference(info, kept))
    await loadTagIndex(dataset)
    return {result: undefined}
  })
  return {
    ...info,
    categories,
    aliases: kept.reduce((n, t) => n + t.aliases.length, 0),
    filteredOut: all.length - kept.length,
    skipped: {count: reading.skippedCount, rows: reading.skipped},
  }
}

/**
 * The stored reference vocabularies' details, by name, each with the category scheme it is read in (`categories`:
 * for one stored by an older lora without it, the scheme its file name gives; an unknown one reads `numbers`).
 */
export async function listReferences(dataset: Dataset): Promise<(ReferenceInfo & {categories: CategoryScheme})[]> {
  const out: (ReferenceInfo & {categories: CategoryScheme})[] = []
  for (const file of await referenceFiles(dataset)) {
    const text = readStored(dataset, file)
    const {info} = parseStoredReference(text.slice(0, text.indexOf('\n') + 1))
    out.push({...info, categories: referenceScheme(info)})
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
    if (!realFolderBelow(dataset.paths.meta, REFERENCE_DIR) || !(await exists(path))) {
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
    await removeCacheFile(dataset.paths.meta, cachePath)
    return undefined
  }
  const [stats, cached] = await Promise.all([
    Promise.all(files.map((f) => statPath(f))),
    readCacheBytes(dataset.paths.meta, cachePath).catch((error: unknown) => {
      // A cache that is a link or a FIFO is never read (rule 1); it is rebuilt and replaced below.
      if (error instanceof NotRegularFileError) return undefined
      throw error
    }),
  ])
  const sourceKey = files.map((f, i) => `${basename(f)}:${stats[i].size}:${Math.trunc(stats[i].mtimeMs)}`).join('|')
  if (cached !== undefined) {
    const index = TagIndex.parse(cached)
    if (index && index.sourceKey === sourceKey) return index
  }
  const tags: ReferenceTag[] = []
  for (const f of files) {
    const stored = parseStoredReference(readStored(dataset, f))
    const scheme = referenceScheme(stored.info)
    for (const t of stored.tags) {
      t.scheme = scheme
      tags.push(t)
    }
  }
  const index = TagIndex.build(tags, sourceKey)
  try {
    await writeCacheFile(dataset.paths.meta, cachePath, index.serialize())
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
  // Never listed or read through a symbolic link (the ENOTDIR error names it).
  if (!realFolderBelow(dataset.paths.meta, REFERENCE_DIR)) return []
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
