/**
 * `lora export`: writes the dataset in the forms trainers read.
 * - `folder`: images + caption files side by side (kohya sd-scripts, ai-toolkit, CivitAI). With `--repeats N`
 *   they go in a subfolder `N_<trigger> <class>`, kohya's `<repeats>_<class tokens>` rule (kohya sd-scripts
 *   `library/config_util.py`: the part before the first `_` must be an integer).
 * - `csv`, `tsv`, `json`, `jsonl`: one record per image with file, caption, tags, width, height, sha256.
 */
import {dirname, join, resolve} from 'node:path'
import {LoraError, UsageError} from '../errors.js'
import {copyFileExclusive, createFileExclusive, exists, listDir, makeDir, removeFile, removeTempFiles, statPath, writeFileAtomic} from '../adapters/fs.js'
import {parseCaption, serializeCaption, withTrigger} from '../core/caption.js'
import type {Dataset} from '../store/dataset.js'
import {noProgress, type ProgressFactory} from '../core/progress.js'
import {imagesFitToExport} from './image-check.js'
import type {ImageFileProblem} from '../store/image-files.js'

/** Export formats. */
export const EXPORT_FORMATS = ['folder', 'csv', 'tsv', 'json', 'jsonl'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/** Options of `lora export`. */
export interface ExportOptions {
  /** Destination: a folder for `folder`, a file for the others (`-` writes the records to stdout). */
  dest: string
  format: ExportFormat
  repeats?: number
  classWord?: string
  includePending: boolean
  /** Write into a non-empty destination, replacing files of the same name. */
  force: boolean
  /**
   * Asked when the destination is not empty (a folder holding files, or a file that is not empty) and `force` is
   * false: true goes on as with `force`. Without it (no terminal to ask), or on false, such a destination is
   * refused. `dest` is the destination as given; `folder` is true for the folder format.
   */
  confirmReplace?: (target: {dest: string; folder: boolean}) => Promise<boolean>
  cwd: string
  /** `--skip-missing`: go on without images whose file is missing or changed, telling this function which. */
  skipMissing?: (left: readonly ImageFileProblem[]) => void
  progress?: ProgressFactory
  /** Where `-` writes. */
  stdout?: (text: string) => void
}

/** One exported image (the csv/tsv/json/jsonl record). */
export interface ExportRecord {
  /** Image file name (in the export folder, or in the dataset's output folder for file formats). */
  file: string
  /** The caption text as written to the caption file, without the newline. */
  caption: string
  tags: string[]
  width: number
  height: number
  sha256: string
}

/** `lora export --json` summary. */
export interface ExportReport {
  format: ExportFormat
  dest: string
  /** For `folder`: the folder the images went into (the kohya subfolder when `--repeats`). */
  imageDir: string | null
  count: number
  /** Images left out because they are pending or skipped. */
  left: number
}

/**
 * Runs the export. It changes nothing in the dataset, so it takes no writer lock (as `status` and `validate`): a
 * writer running meanwhile neither blocks it nor is blocked by it.
 * @throws LoraError (exit 1, code `destination-not-empty`) for a non-empty destination without `force` or a yes
 *   from `confirmReplace`; UsageError for --repeats without a trigger or --class, or repeats/class with a file
 *   format; CancelledError when `confirmReplace` was cancelled; LoraError `images-missing` (exit 1) when an image to
 *   export is missing or changed and `skipMissing` is not given (services/image-check.ts)
 */
export async function exportDataset(dataset: Dataset, options: ExportOptions): Promise<ExportReport> {
  const state = await dataset.loadState()
  const trigger = dataset.config.trigger ?? undefined
  const chosen = await imagesFitToExport(dataset, state.images.filter((i) => i.status === 'tagged' || (options.includePending && i.status === 'pending')), options.skipMissing)
  const records: ExportRecord[] = []
  for (const image of chosen) {
    const text = (await dataset.readCaption(image.file)) ?? ''
    const tags = withTrigger(parseCaption(text, dataset.config.separator), trigger)
    records.push({file: image.file, caption: serializeCaption(tags, dataset.config.separator).trimEnd(), tags, width: image.width, height: image.height, sha256: image.sha256})
  }
  const left = state.images.length - chosen.length
  if (options.format !== 'folder' && (options.repeats !== undefined || options.classWord !== undefined)) {
    throw new UsageError('--repeats and --class name a kohya folder; they apply to --format folder only.', 'Drop them, or use --format folder.')
  }
  if (options.format !== 'folder' && options.dest === '-') {
    options.stdout?.(await renderRecords(records, options.format))
    return {format: options.format, dest: '-', imageDir: null, count: records.length, left}
  }
  const dest = resolve(options.cwd, options.dest)
  if (dest === dataset.paths.output || dest.startsWith(dataset.paths.output + '/')) {
    throw new UsageError('The export destination is inside the dataset output folder.', 'Choose a destination outside it.')
  }
  // Temp files of an export that was killed are not the user's: remove them before judging the destination.
  if (options.format === 'folder') {
    for (const dir of new Set([dest, join(dest, kohyaFolderName(options.repeats, trigger, options.classWord) ?? '')])) await removeTempFiles(dir)
  }
  const force = await mayWrite(dest, options)
  if (options.format === 'folder') {
    const sub = kohyaFolderName(options.repeats, trigger, options.classWord)
    const imageDir = sub ? join(dest, sub) : dest
    await makeDir(imageDir)
    const progress = await (options.progress ?? noProgress)('Exporting', records.length)
    for (const r of records) {
      const target = join(imageDir, r.file)
      if (force) await removeFile(target)
      await copyFileExclusive(dataset.imagePath(r.file), target)
      const caption = join(imageDir, dataset.captionFile(r.file))
      if (force) await writeFileAtomic(caption, r.caption + '\n')
      else await createFileExclusive(caption, r.caption + '\n')
      progress.tick()
    }
    progress.done()
    return {format: 'folder', dest, imageDir, count: records.length, left}
  }
  await makeDir(dirname(dest))
  await writeFileAtomic(dest, await renderRecords(records, options.format))
  return {format: options.format, dest, imageDir: null, count: records.length, left}
}

/** kohya's `<repeats>_<instance> <class>` folder name, or undefined without --repeats. */
export function kohyaFolderName(repeats: number | undefined, trigger: string | undefined, classWord: string | undefined): string | undefined {
  if (repeats === undefined) {
    if (classWord !== undefined) throw new UsageError('--class needs --repeats (kohya folders are named `<repeats>_<trigger> <class>`).', 'Add --repeats N.')
    return undefined
  }
  if (!Number.isInteger(repeats) || repeats < 1) throw new UsageError(`--repeats must be a whole number of at least 1, not ${repeats}.`, 'For example --repeats 10.')
  const name = [trigger, classWord].filter((p) => p && p.trim() !== '').join(' ')
  if (!name) throw new UsageError('--repeats needs a name for the folder: set a trigger word or give --class.', 'For example: --repeats 10 --class woman.')
  if (/[/\\]/u.test(name)) throw new UsageError(`The folder name "${name}" contains a path separator.`, 'Use a trigger and class without "/".')
  return `${repeats}_${name}`
}

/**
 * Whether the export may write into `dest`, and whether it replaces files there (the `force` behaviour): a new or
 * empty destination needs nothing; a non-empty one needs `force` or a yes from `confirmReplace`.
 * @throws LoraError (exit 1) when it is refused
 */
async function mayWrite(dest: string, options: ExportOptions): Promise<boolean> {
  if (!(await exists(dest))) return options.force
  const st = await statPath(dest)
  const folder = options.format === 'folder'
  if (folder && !st.isDirectory()) throw new UsageError(`${options.dest} exists and is not a folder.`, 'Choose another destination.')
  const empty = folder ? (await listDir(dest)).length === 0 : st.size === 0
  if (empty || options.force) return options.force
  if (await options.confirmReplace?.({dest: options.dest, folder})) return true
  if (folder) {
    throw new LoraError(`${options.dest} is not empty; not writing into it.`, {code: 'destination-not-empty', exitCode: 1, hint: 'Choose an empty or new folder, or add --force to write into it (files of the same name are replaced).'})
  }
  throw new LoraError(`${options.dest} exists; not overwriting it.`, {code: 'destination-not-empty', exitCode: 1, hint: 'Choose a new file name, or add --force to replace it.'})
}

/** Renders records in a file format. CSV/TSV through csv-stringify (RFC 4180 quoting; tags joined by ", "). */
export async function renderRecords(records: readonly ExportRecord[], format: Exclude<ExportFormat, 'folder'>): Promise<string> {
  if (format === 'json') return JSON.stringify(records, null, 2) + '\n'
  if (format === 'jsonl') return records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '')
  const {stringify} = await import('csv-stringify/sync')
  return stringify(
    records.map((r) => [r.file, r.caption, r.tags.join(', '), r.width, r.height, r.sha256]),
    {header: true, columns: ['file', 'caption', 'tags', 'width', 'height', 'sha256'], delimiter: format === 'tsv' ? '\t' : ','},
  )
}
