/**
 * `lora export`: writes the dataset in the forms trainers read.
 * - `folder`: images + caption files side by side (kohya sd-scripts, ai-toolkit, CivitAI). With `--repeats N`
 *   they go in a subfolder `N_<trigger> <class>`, kohya's `<repeats>_<class tokens>` rule (kohya sd-scripts
 *   `library/config_util.py`: the part before the first `_` must be an integer).
 * - `csv`, `tsv`, `json`, `jsonl`: one record per image with file, caption, tags, width, height, sha256.
 */
import {basename, dirname, join, resolve} from 'node:path'
import {LoraError, UsageError} from '../errors.js'
import {writingOutside} from '../store/interrupts.js'
import {
  copyFileExclusive,
  createFileExclusive,
  exists,
  kindOf,
  listDir,
  lstatIfExistsSync,
  makeDir,
  removeFile,
  removeTempFiles,
  resolveReal,
  statPath,
  writeFileAtomic,
} from '../adapters/fs.js'
import {
  exportDestinationProblem,
  isInside,
  type OddFileKind,
  oddFileError,
  oddFileKindText,
  type ProtectedPlace,
} from '../core/containment.js'
import {captionTagsProblem, type ControlCaption, controlCaptionsError, escapeControls} from '../core/terminal-text.js'
import type {ImageRecord} from '../core/state.js'
import {parseCaption, serializeCaption, withTrigger} from '../core/caption.js'
import {type Dataset, META_DIR} from '../store/dataset.js'
import {noProgress, type ProgressFactory} from '../core/progress.js'
import {imagesFitToExport} from './image-check.js'
import type {ImageFileProblem} from '../store/image-files.js'
import {counted, plural} from '../core/plural.js'

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
  /** Also export `auto` images (captioned by `lora autotag`, not reviewed by a person). */
  includeAuto?: boolean
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
  /** Images left out because they are pending, skipped or auto. */
  left: number
  /** Of those, `auto` images (captioned by a model, not reviewed) left out for want of `--include-auto`. */
  leftAuto: number
}

/** `-` with the folder format (the default): a usage error naming the file formats `-` takes. */
export function stdoutNeedsFileFormat(): UsageError {
  const files = EXPORT_FORMATS.filter((f) => f !== 'folder')
  const list = `${files.slice(0, -1).join(', ')} or ${files[files.length - 1]}`
  return new UsageError(
    `\`-\` writes to stdout, so it needs a file format (${list}); the folder format (the default) writes a folder. Nothing was written.`,
    'Add a file format (`lora export - --format csv`), or give a folder (`lora export ./train`).',
  )
}

/**
 * Runs the export. It changes nothing in the dataset, so it takes no writer lock (as `status` and `validate`): a
 * writer running meanwhile neither blocks it nor is blocked by it.
 * @throws LoraError (exit 1, code `destination-not-empty`) for a non-empty destination without `force` or a yes
 *   from `confirmReplace`; UsageError for --repeats without a trigger or --class, or repeats/class with a file
 *   format; CancelledError when `confirmReplace` was cancelled; UsageError (exit 2, nothing written) for a
 *   destination that is or lies inside the dataset folder, its output folder, `.lora-tagger/` or a folder holding
 *   originals, resolved (symbolic links followed; README "Safety model", rule 3), a kohya subfolder that leads
 *   outside the destination, or `-` with the folder format; LoraError (exit 1, code `destination-not-regular`)
 *   when a file the export would replace is a symbolic link, folder, FIFO or device; DatasetError when an image or
 *   caption to export is not a regular file; LoraError `images-missing` (exit 1)
 *   when an image to export is missing or changed and `skipMissing` is not given (services/image-check.ts);
 *   CaptionControlError (exit 1, code `caption-control`) when a caption to export holds a tag with a control or
 *   bidi character (collectRecords)
 */
export async function exportDataset(dataset: Dataset, options: ExportOptions): Promise<ExportReport> {
  // Refused before anything is read: `-` is stdout, and a folder cannot be written there.
  if (options.format === 'folder' && options.dest === '-') throw stdoutNeedsFileFormat()
  const collected = await collectRecords(dataset, options)
  const {state, left, leftAuto} = collected
  // A training folder of no image is a mistake (nothing reviewed yet); a file format may list none, for a script.
  if (options.format === 'folder') refuseNothingToExport(collected, options)
  const records: ExportRecord[] = collected.records.map((r) => ({
    file: r.file,
    caption: r.caption,
    tags: r.tags,
    width: r.width,
    height: r.height,
    sha256: r.sha256,
  }))
  const trigger = dataset.config.trigger ?? undefined
  if (options.format !== 'folder' && (options.repeats !== undefined || options.classWord !== undefined)) {
    throw new UsageError(
      '--repeats and --class name a kohya folder; they apply to --format folder only.',
      'Drop them, or use --format folder.',
    )
  }
  if (options.format !== 'folder' && options.dest === '-') {
    options.stdout?.(await renderRecords(records, options.format))
    return {format: options.format, dest: '-', imageDir: null, count: records.length, left, leftAuto}
  }
  // Resolved before any check (README "Safety model", rule 3): a link to the output folder is the output folder.
  const given = resolve(options.cwd, options.dest)
  const real = resolveReal(given)
  const places = protectedPlaces(dataset, state.images)
  refuseProtected(given, real, places)
  // A folder is written where it really is; a file is written in its real folder, never through a link at its
  // own name (refused below), so the file replaced is the one named.
  const dest = options.format === 'folder' ? real : join(resolveReal(dirname(given)), basename(given))
  if (options.format !== 'folder') refuseOddTargets(dirname(dest), [basename(dest)])
  const sub = options.format === 'folder' ? kohyaFolderName(options.repeats, trigger, options.classWord) : undefined
  const imageDir = sub ? resolveReal(join(dest, sub)) : dest
  if (sub) {
    refuseProtected(join(given, sub), imageDir, places)
    if (!isInside(imageDir, dest))
      throw new UsageError(
        `${join(options.dest, sub)} leads to ${imageDir}, outside the export destination (through a symbolic link); nothing was written.`,
        'Remove that link, or choose another destination.',
      )
  }
  // Temp files of an export that was killed are not the user's: remove them before judging the destination.
  if (options.format === 'folder') {
    for (const dir of new Set([dest, imageDir])) await removeTempFiles(dir)
  }
  const force = await mayWrite(dest, {...options, format: options.format === 'folder' ? 'folder' : 'file'})
  if (options.format === 'folder') {
    // Only files the export writes are replaced, and only regular files: all checked before the first write.
    const names = records.flatMap((r) => [r.file, dataset.captionFile(r.file)])
    if (force) refuseOddTargets(imageDir, names)
    refuseOddImages(dataset, records)
    await makeDir(imageDir)
    const progress = await (options.progress ?? noProgress)('Exporting', records.length)
    let written = 0
    // A stop signal meanwhile says the destination is incomplete (store/interrupts.ts).
    const stopNote = writingOutside(
      () =>
        `the export to ${dest} is incomplete (${written} of ${records.length} images written); export again with --force to complete it`,
    )
    try {
      for (const r of records) {
        const target = join(imageDir, r.file)
        if (force) await removeFile(target)
        await copyFileExclusive(dataset.imagePath(r.file), target)
        const caption = join(imageDir, dataset.captionFile(r.file))
        if (force) await writeFileAtomic(caption, r.caption + '\n')
        else await createFileExclusive(caption, r.caption + '\n')
        written++
        progress.tick()
      }
    } finally {
      stopNote()
    }
    progress.done()
    return {
      format: 'folder',
      dest: given,
      imageDir: sub ? join(given, sub) : given,
      count: records.length,
      left,
      leftAuto,
    }
  }
  await makeDir(dirname(dest))
  await writeFileAtomic(dest, await renderRecords(records, options.format))
  return {format: options.format, dest: given, imageDir: null, count: records.length, left, leftAuto}
}

/** The images an export writes, with their captions (trigger first), and how many were left out. */
export interface CollectedRecords {
  state: Awaited<ReturnType<Dataset['loadState']>>
  /** In the dataset's order; each with its id and original (for lora-export.json). */
  records: (ExportRecord & {id: string; source: string})[]
  left: number
  leftAuto: number
}

/**
 * Chooses the images to export (tagged; pending with `includePending`; auto with `includeAuto`), checks their files
 * (services/image-check.ts) and reads their captions with the trigger word first, joined by `captionSeparator`
 * (default: the dataset's separator; target exports give `, `, what the trainers' configs and validate rules expect).
 * @throws LoraError `images-missing` (exit 1) for a missing or changed image without `skipMissing`;
 *   CaptionControlError (exit 1, code `caption-control`, nothing written) naming each caption to export whose tags
 *   hold a control or bidi character (core/terminal-text.ts captionTagsProblem)
 */
export async function collectRecords(
  dataset: Dataset,
  options: Pick<ExportOptions, 'includePending' | 'includeAuto' | 'skipMissing'> & {captionSeparator?: string},
): Promise<CollectedRecords> {
  const state = await dataset.loadState()
  const trigger = dataset.config.trigger ?? undefined
  const chosen = await imagesFitToExport(
    dataset,
    state.images.filter(
      (i) =>
        i.status === 'tagged' ||
        (options.includePending && i.status === 'pending') ||
        (options.includeAuto === true && i.status === 'auto'),
    ),
    options.skipMissing,
  )
  const records: CollectedRecords['records'] = []
  const unsafe: ControlCaption[] = []
  for (const image of chosen) {
    const text = (await dataset.readCaption(image.file)) ?? ''
    const parsed = parseCaption(text, dataset.config.separator)
    // The rule every command that reads a caption applies (core/terminal-text.ts captionTagsProblem): a tag holding
    // a control or bidi character is not taken in, so it is not written into an export either.
    const problem = captionTagsProblem(parsed)
    if (problem !== undefined) {
      unsafe.push({id: image.id, path: dataset.rel(dataset.imagePath(dataset.captionFile(image.file))), problem})
      continue
    }
    const tags = withTrigger(parsed, trigger)
    records.push({
      id: image.id,
      source: image.source,
      file: image.file,
      caption: serializeCaption(tags, options.captionSeparator ?? dataset.config.separator).trimEnd(),
      tags,
      width: image.width,
      height: image.height,
      sha256: image.sha256,
    })
  }
  if (unsafe.length > 0)
    throw controlCaptionsError(unsafe, {
      lead:
        unsafe.length === 1
          ? 'A caption to export holds a tag lora does not take in'
          : `${unsafe.length} captions to export hold tags lora does not take in`,
      hint: 'Remove that character from each caption named by hand, then run `lora status --rescan` to take the fixed caption in, and export again. lora writes no control or bidirectional characters into an export (README "Safety model").',
    })
  const left = state.images.length - chosen.length
  const leftAuto = options.includeAuto ? 0 : state.images.filter((i) => i.status === 'auto').length
  return {state, records, left, leftAuto}
}

/**
 * Refuses an export that would hold no image while the dataset has some (README "lora export"): none is tagged yet, or
 * those that are were left out; the message counts them by status and the hint says how to have some.
 * @throws LoraError `nothing-to-export` (exit 1), before anything is written
 */
export function refuseNothingToExport(
  collected: Pick<CollectedRecords, 'records' | 'state'>,
  options: Pick<ExportOptions, 'includePending' | 'includeAuto'>,
): void {
  const images = collected.state.images
  if (collected.records.length > 0 || images.length === 0) return
  const count = (status: string) => images.filter((i) => i.status === status).length
  const counts = `${count('tagged')} tagged, ${count('pending')} pending, ${count('skipped')} skipped, ${count('auto')} auto`
  const ways = [
    `tag ${plural(images.length, 'it', 'them')} first (\`lora next\`, or \`lora tag\` in scripts)`,
    ...(options.includePending ? [] : ['`--include-pending` exports pending images too (the trigger word as caption)']),
    ...(options.includeAuto ? [] : ['`--include-auto` the ones a model captioned (`lora autotag`)']),
  ]
  throw new LoraError(
    `Nothing to export: ${images.length === 1 ? 'the 1 image is not' : `none of the ${counted(images.length, 'image')} is`} ready to export (${counts}). Nothing was written.`,
    {code: 'nothing-to-export', hint: `${ways.join('; ')}.`},
  )
}

/**
 * The places an export never writes into (README "Safety model", rule 3), resolved, narrowest first: `.lora-tagger/`,
 * the output folder, the dataset folder, each folder holding originals (the folder of an image's `source`, where
 * that original is a regular file reached without following a symbolic link).
 */
export function protectedPlaces(dataset: Dataset, images: readonly ImageRecord[]): ProtectedPlace[] {
  const places: ProtectedPlace[] = [
    {path: resolveReal(dataset.paths.meta), name: `the dataset's ${META_DIR}/ folder`},
    {path: resolveReal(dataset.paths.output), name: "the dataset's output folder"},
    {path: resolveReal(dataset.root), name: 'the dataset folder'},
  ]
  // A folder holds originals only where one really is: a regular file reached from the dataset folder without
  // following a symbolic link (lora init never follows one). A record whose source leads through a link (a
  // dataset's `root -> /` and a source `root/x.jpg`) names no such folder, so it cannot make every destination
  // refused. One original found is enough for its folder.
  // Each folder's path is looked at once (a dataset of 100,000 moved originals has one or a few folders), then one
  // lstat per original until one is there.
  const seen: string[] = [] // folders in the order first met
  const linked = new Set<string>()
  const clear = new Set<string>()
  const held = new Set<string>()
  for (const image of images) {
    const parts = image.source.split('/').filter((p) => p !== '' && p !== '.')
    const folder = parts.slice(0, -1).join('/')
    if (held.has(folder) || linked.has(folder)) continue
    if (!clear.has(folder)) {
      seen.push(folder)
      if (!folderReachedWithoutLinks(dataset.root, folder)) {
        linked.add(folder)
        continue
      }
      clear.add(folder)
    }
    if (parts.length > 0 && lstatIfExistsSync(join(dataset.root, ...parts))?.isFile()) held.add(folder)
  }
  for (const folder of seen)
    if (held.has(folder))
      places.push({path: resolveReal(join(dataset.root, folder)), name: 'a folder holding originals'})
  return places
}

/**
 * True when `folder` (relative to `root`, `/`-separated, without `..`: state.json records are checked for it; '' for
 * `root` itself) is reached from `root` through folders only, no component of it a symbolic link (lstat each).
 */
function folderReachedWithoutLinks(root: string, folder: string): boolean {
  let at = root
  for (const part of folder.split('/').filter((p) => p !== '')) {
    at = join(at, part)
    if (lstatIfExistsSync(at)?.isDirectory() !== true) return false
  }
  return true
}

/** @throws UsageError (exit 2) when `resolved` is or lies inside a protected place */
export function refuseProtected(given: string, resolved: string, places: readonly ProtectedPlace[]): void {
  const problem = exportDestinationProblem(given, resolved, places)
  if (problem) throw problem
}

/**
 * Checks, before anything is written, that each file a forced export would replace in `dir` is a regular file (or
 * absent): a symbolic link, folder, FIFO or device there is refused, never deleted or written through.
 * @throws LoraError (exit 1, code `destination-not-regular`) naming the first such file
 */
export function refuseOddTargets(dir: string, names: readonly string[]): void {
  for (const name of names) {
    const st = lstatIfExistsSync(join(dir, name))
    if (!st || st.isFile()) continue
    const path = join(dir, name)
    throw new LoraError(
      `${escapeControls(path)} is ${oddFileKindText(kindOf(st) as OddFileKind)}, not a regular file; an export replaces only regular files it would write, so nothing was written.`,
      {
        code: 'destination-not-regular',
        exitCode: 1,
        hint: 'Remove it or move it out of the way, or choose another destination.',
      },
    )
  }
}

/**
 * Checks, before anything is written, that each image to export is a regular file in the output folder: an image
 * that was replaced by a symbolic link (to `/dev/zero`, to a secret), a FIFO or a folder is never read or copied.
 * Missing images are left to the copy (and its error).
 * @throws DatasetError naming the first such image (core/containment.ts `oddFileError`)
 */
export function refuseOddImages(dataset: Dataset, records: readonly Pick<ExportRecord, 'file'>[]): void {
  for (const r of records) {
    const st = lstatIfExistsSync(dataset.imagePath(r.file))
    if (st && !st.isFile())
      throw oddFileError(dataset.rel(dataset.imagePath(r.file)), kindOf(st) as OddFileKind, 'image file')
  }
}

/** kohya's `<repeats>_<instance> <class>` folder name, or undefined without --repeats. */
export function kohyaFolderName(
  repeats: number | undefined,
  trigger: string | undefined,
  classWord: string | undefined,
): string | undefined {
  if (repeats === undefined) {
    if (classWord !== undefined)
      throw new UsageError(
        '--class needs --repeats (kohya folders are named `<repeats>_<trigger> <class>`).',
        'Add --repeats N.',
      )
    return undefined
  }
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new UsageError(`--repeats must be a whole number of at least 1, not ${repeats}.`, 'For example --repeats 10.')
  const name = [trigger, classWord].filter((p) => p && p.trim() !== '').join(' ')
  if (!name)
    throw new UsageError(
      '--repeats needs a name for the folder: set a trigger word or give --class.',
      'For example: --repeats 10 --class woman.',
    )
  if (/[/\\]/u.test(name))
    throw new UsageError(`The folder name "${name}" contains a path separator.`, 'Use a trigger and class without "/".')
  return `${repeats}_${name}`
}

/**
 * Whether the export may write into `dest`, and whether it replaces files there (the `force` behaviour): a new or
 * empty destination needs nothing; a non-empty one needs `force` or a yes from `confirmReplace`.
 * @throws LoraError (exit 1) when it is refused
 */
export async function mayWrite(
  dest: string,
  options: Pick<ExportOptions, 'dest' | 'force' | 'confirmReplace'> & {format: 'folder' | 'file'},
): Promise<boolean> {
  if (!(await exists(dest))) return options.force
  const st = await statPath(dest)
  const folder = options.format === 'folder'
  if (folder && !st.isDirectory())
    throw new UsageError(`${options.dest} exists and is not a folder.`, 'Choose another destination.')
  const empty = folder ? (await listDir(dest)).length === 0 : st.size === 0
  if (empty || options.force) return options.force
  if (await options.confirmReplace?.({dest: options.dest, folder})) return true
  if (folder) {
    throw new LoraError(`${options.dest} is not empty; not writing into it.`, {
      code: 'destination-not-empty',
      exitCode: 1,
      hint: 'Choose an empty or new folder, or add --force to write into it (files of the same name are replaced).',
    })
  }
  throw new LoraError(`${options.dest} exists; not overwriting it.`, {
    code: 'destination-not-empty',
    exitCode: 1,
    hint: 'Choose a new file name, or add --force to replace it.',
  })
}

/** Renders records in a file format. CSV/TSV through csv-stringify (RFC 4180 quoting; tags joined by ", "). */
export async function renderRecords(
  records: readonly ExportRecord[],
  format: Exclude<ExportFormat, 'folder'>,
): Promise<string> {
  if (format === 'json') return JSON.stringify(records, null, 2) + '\n'
  if (format === 'jsonl') return records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '')
  const {stringify} = await import('csv-stringify/sync')
  return stringify(
    records.map((r) => [r.file, r.caption, r.tags.join(', '), r.width, r.height, r.sha256]),
    {
      header: true,
      columns: ['file', 'caption', 'tags', 'width', 'height', 'sha256'],
      delimiter: format === 'tsv' ? '\t' : ',',
    },
  )
}
