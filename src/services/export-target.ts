/**
 * `lora export DEST --target T`: writes what trainer T loads (core/export-targets.ts: layout and config files),
 * the images (copied byte-identically when nothing needs changing, else re-encoded by sharp in parallel), the
 * captions, and `lora-export.json`; then checks the result with `lora validate`'s rules for T.
 *
 * Images: an image is re-encoded when it must be resized (`--max-side`), converted (`--convert`, or a format the
 * trainer does not read, which becomes PNG), turned (EXIF orientation ≠ 1), reduced to 8 bits, or stripped of its
 * metadata (EXIF, XMP, IPTC, PNG text chunks, an ICC profile; unless `--keep-metadata`). Others are copied
 * (a copy-on-write clone where the file system has one, else a copy), or with `--link` hard-linked (an in-place
 * edit of the export then changes the dataset's own file: an explicit choice, never the default).
 *
 * Writes: every file appears under its final name only complete. A new image folder is written as a staging folder
 * (`.lora-export-<name>-<pid>` beside it, files written in place), flushed (`flushFiles`) and renamed into place;
 * into an existing one (`--force`), each file goes through a temp file and a link or rename (adapters/fs.ts).
 * A killed export leaves complete files, temp files and staging folders (removed by the next run); a `--force`
 * rerun finishes it.
 * `--zip` (always for civitai): the export is written into a staging folder beside the zip, validated there,
 * zipped (adapters/zip.ts, streaming), and the staging folder removed.
 */
import {createHash} from 'node:crypto'
import {availableParallelism} from 'node:os'
import {basename, dirname, join, resolve} from 'node:path'
import {DatasetError, LoraError, UsageError} from '../errors.js'
import {
  copyFileIntoStaging,
  createFileBatch,
  createFileExclusive,
  exists,
  flushFiles,
  fsyncDir,
  isAlive,
  linkFileIntoStaging,
  placeFileBatchLinkOrCopy,
  listDir,
  makeDir,
  placeFileBatch,
  removeFile,
  removeTempFiles,
  removeTree,
  renameOwned,
  resolveReal,
  writeFileAtomic,
  writeFileIntoStaging,
} from '../adapters/fs.js'
import {exportImageFacts, type ExportImageFacts, reencodeImage} from '../adapters/images.js'
import {writeZip, zipNameProblem} from '../adapters/zip.js'
import {GitRepo} from '../adapters/git.js'
import {isInside} from '../core/containment.js'
import {
  CIVITAI_MAX_FILES,
  checkTargetOptions,
  type ExportTarget,
  type TargetImage,
  type TargetLayout,
  type TargetOptions,
  targetConfigFiles,
  targetLayout,
} from '../core/export-targets.js'
import {DEFAULT_SEPARATOR} from '../core/caption.js'
import {extensionOf, stemOf} from '../core/naming.js'
import {mapLimit, noProgress, type ProgressFactory} from '../core/progress.js'
import {escapeControls} from '../core/terminal-text.js'
import type {Dataset} from '../store/dataset.js'
import {writingOutside} from '../store/interrupts.js'
import type {ImageFileProblem} from '../store/image-files.js'
import {
  collectRecords,
  mayWrite,
  protectedPlaces,
  refuseNothingToExport,
  refuseOddImages,
  refuseOddTargets,
  refuseProtected,
} from './export.js'
import {type Finding, validateFolder} from './validate.js'

/** Name of the export manifest written at the top of every target export. */
export const EXPORT_MANIFEST = 'lora-export.json'

/** Options of `lora export --target`. */
export interface TargetExportOptions {
  /** DEST: a folder, or with `zip` (always for civitai) the zip file. */
  dest: string
  target: ExportTarget
  flags: TargetOptions
  includePending: boolean
  includeAuto?: boolean
  force: boolean
  /** Plan only: report what would be written, write nothing. */
  dryRun?: boolean
  /** As ExportOptions.confirmReplace (services/export.ts). */
  confirmReplace?: (target: {dest: string; folder: boolean}) => Promise<boolean>
  cwd: string
  skipMissing?: (left: readonly ImageFileProblem[]) => void
  progress?: ProgressFactory
  /** lora's version, recorded in lora-export.json. */
  version: string
  /** Images re-encoded at once (default: the number of CPUs). */
  concurrency?: number
}

/** One image in `lora-export.json`. */
export interface ManifestImage {
  /** The dataset's image id (`img_0001`). */
  id: string
  /** The original, relative to the dataset folder. */
  original: string
  /** The exported file, relative to DEST (`/`-separated). */
  file: string
  /** sha256 of the exported file's bytes. */
  sha256: string
  /** Size of the exported image in pixels (what training uses). */
  width: number
  height: number
  /**
   * `copied` (byte-identical to the dataset's file), `linked` (`--link`: a hard link to the dataset's file itself) or
   * `converted` (re-encoded).
   */
  how: 'copied' | 'linked' | 'converted'
}

/** `DEST/lora-export.json` (README "lora export": stable shape, version 1). */
export interface ExportManifest {
  version: 1
  lora: string
  target: ExportTarget
  /** The dataset folder (absolute). */
  dataset: string
  /** HEAD of the dataset's git repository when history is on (`git.autoCommit`, `lora git enable`), else null. */
  commit: string | null
  options: TargetOptions & {includePending: boolean; includeAuto: boolean}
  images: ManifestImage[]
}

/** The result of `lora validate`'s rules on the export (the full report is `lora validate DIR --target T`). */
export interface ExportValidation {
  target: string
  /** The folder checked (absolute; for a zip, the staging folder it was made from). */
  path: string
  errors: number
  warnings: number
  findings: Finding[]
}

/** `lora export --target --json`. */
export interface TargetExportReport {
  target: ExportTarget
  /** DEST as given, resolved (the folder, or the zip file). */
  dest: string
  zip: boolean
  /** The image folder relative to DEST (`.` for the root). */
  imageDir: string
  count: number
  /**
   * Images copied byte-identically, hard-linked (`--link`; on a dry run, those that would be), and re-encoded. With
   * `--link`, an image a link cannot reach (another file system) is copied and counted in `copied`.
   */
  copied: number
  linked: number
  converted: number
  /** Config files written, relative to DEST. */
  configs: string[]
  left: number
  leftAuto: number
  dryRun: boolean
  /** null on a dry run. */
  validation: ExportValidation | null
}

/** The caption file a target export writes beside the exported image `name`: its stem and `.txt`. */
function captionNameOf(name: string): string {
  return name.replace(/\.[^.]+$/u, '.txt')
}

interface Planned {
  record: Awaited<ReturnType<typeof collectRecords>>['records'][number]
  facts: ExportImageFacts
  /** Exported file name in the image folder. */
  name: string
  /** Re-encode to this sharp format, or undefined to copy. */
  encode: 'png' | 'jpeg' | 'webp' | undefined
}

const FORMAT_OF_EXT: Record<string, string> = {jpg: 'jpeg', jpeg: 'jpeg', png: 'png', webp: 'webp', bmp: 'bmp'}

/**
 * Runs a target export. Reads the dataset only (no lock, as `lora export --format`).
 * @throws UsageError (exit 2, nothing written) for flags the target does not use or out of range, DEST `-`, a
 *   destination inside the dataset (README "Safety model", rule 3); LoraError `too-many-files` (exit 1) for a civitai
 *   export over 1,000 files; `destination-not-empty` / `destination-not-regular` (exit 1) as `lora export --format`;
 *   `images-missing` (exit 1) without `skipMissing`; LoraError `image-not-convertible` (exit 1) when an image that
 *   must be re-encoded cannot be decoded; CaptionControlError `caption-control` (exit 1, nothing written) for a
 *   caption whose tags hold a control or bidi character (services/export.ts collectRecords); DatasetError (exit 1,
 *   nothing written) when two images would be exported under one name (refuseNameClashes), or, in a zip, under a
 *   name a zip cannot hold (refuseZipNames: `C:x.png` at a civitai zip's root)
 */
export async function exportTarget(dataset: Dataset, options: TargetExportOptions): Promise<TargetExportReport> {
  const trigger = dataset.config.trigger ?? undefined
  const flags = options.flags
  if (options.dest === '-')
    throw new UsageError(
      '--target writes files; DEST cannot be `-` (stdout).',
      'Give a folder (or a .zip file with --zip).',
    )
  checkTargetOptions(options.target, flags, trigger)
  const layout = targetLayout(options.target, flags, trigger)
  const zip = flags.zip === true || layout.zipOnly
  const link = flags.link === true
  // The YAML library (ai-toolkit's config, hf's dataset card) loads while the dataset is read (~80 ms of compiling).
  const yamlModule = import('yaml')
  yamlModule.catch(() => undefined) // a failure is reported where it is awaited
  // Captions joined by `, ` whatever the dataset's separator: what the trainers read (kohya's caption_separator,
  // OneTrainer's tag_delimiter `,`, ...) and what the check below (lora validate's rules) expects.
  const {state, records, left, leftAuto} = await collectRecords(dataset, {
    ...options,
    captionSeparator: DEFAULT_SEPARATOR,
  })
  refuseNothingToExport({state, records}, options)
  const fileCount = records.length * (layout.captionFiles ? 2 : 1) + 1
  if (options.target === 'civitai' && fileCount > CIVITAI_MAX_FILES)
    throw new LoraError(
      `A CivitAI zip holds at most ${CIVITAI_MAX_FILES} files; this export would have ${fileCount} (${records.length} images, their captions and ${EXPORT_MANIFEST}). Nothing was written.`,
      {code: 'too-many-files', exitCode: 1, hint: 'Export fewer images (tag or skip some), or use another target.'},
    )

  // Where it goes, resolved before any check (README "Safety model", rule 3).
  const given = resolve(options.cwd, options.dest)
  const places = protectedPlaces(dataset, state.images)
  const real = zip ? join(resolveReal(dirname(given)), basename(given)) : resolveReal(given)
  refuseProtected(given, real, places)
  if (zip) refuseOddTargets(dirname(real), [basename(real)])
  const imageDirOf = (root: string) => (layout.imageDir === '.' ? root : join(root, ...layout.imageDir.split('/')))
  if (!zip) {
    const imageDir = resolveReal(imageDirOf(real))
    refuseProtected(imageDirOf(given), imageDir, places)
    if (!isInside(imageDir, real))
      throw new UsageError(
        `${escapeControls(imageDirOf(given))} leads to ${escapeControls(imageDir)}, outside the export destination (through a symbolic link); nothing was written.`,
        'Remove that link, or choose another destination.',
      )
  }

  // The plan: each image's exported name and whether it is copied or re-encoded.
  const concurrency = options.concurrency ?? Math.max(1, availableParallelism())
  // Header reads wait on the disk more than on a CPU: more of them in flight.
  const plan = await mapLimit(records, Math.max(16, concurrency), async (record): Promise<Planned> => {
    const facts = await exportImageFacts(dataset.imagePath(record.file)).catch((error: unknown) => {
      throw notConvertible(record.file, error)
    })
    return planImage(record, facts, layout, flags)
  })
  refuseNameClashes(dataset, plan, layout)
  if (zip) refuseZipNames(dataset, plan, layout)
  const targetImages: TargetImage[] = plan.map((p) => ({
    file: p.name,
    caption: p.record.caption,
    tags: p.record.tags,
    ...outputSize(p, flags),
  }))
  const configs = targetConfigFiles(options.target, targetImages, {
    root: zip ? undefined : real,
    name: basename(dataset.root),
    trigger,
    options: flags,
    layout,
    toYaml: (await yamlModule).stringify,
  })
  const report: TargetExportReport = {
    target: options.target,
    dest: given,
    zip,
    imageDir: layout.imageDir,
    count: records.length,
    copied: link ? 0 : plan.filter((p) => !p.encode).length,
    linked: link ? plan.filter((p) => !p.encode).length : 0,
    converted: plan.filter((p) => p.encode).length,
    configs: configs.map((c) => c.path),
    left,
    leftAuto,
    dryRun: options.dryRun === true,
    validation: null,
  }
  if (options.dryRun) return report

  // The folder written: DEST itself, or a staging folder beside the zip.
  const force = await mayWrite(real, {...options, format: zip ? 'file' : 'folder'})
  let root = real
  if (zip) {
    await removeTempFiles(dirname(real))
    await removeStaleStaging(dirname(real), basename(real))
    root = join(dirname(real), `${STAGING_PREFIX}${basename(real)}-${process.pid}`)
    await removeTree(root)
  }
  const imageDir = imageDirOf(root)
  for (const dir of new Set([root, imageDir])) await removeTempFiles(dir)
  const imageNames = plan.flatMap((p) => (layout.captionFiles ? [p.name, captionNameOf(p.name)] : [p.name]))
  if (force) {
    refuseOddTargets(imageDir, imageNames)
    refuseOddTargets(root, [...configs.map((c) => c.path), EXPORT_MANIFEST])
  }
  refuseOddImages(dataset, records)
  // A new (or empty) image folder is written as a staging folder beside it, renamed into place once complete: its
  // files need no temp file each, and a kill leaves only the staging folder (removed by the next run). Into an
  // existing folder (--force), each file goes through its own temp file. In a zip's staging folder, files are
  // written in place: the zip is what appears complete.
  const staged = zip || (await listDir(imageDir).catch(() => [])).length === 0
  let writeDir = imageDir
  if (staged && !zip) {
    await makeDir(dirname(imageDir))
    await removeStaleStaging(dirname(imageDir), basename(imageDir))
    writeDir = join(dirname(imageDir), `${STAGING_PREFIX}${basename(imageDir)}-${process.pid}`)
    await removeTree(writeDir)
  }
  await makeDir(writeDir)

  const progress = await (options.progress ?? noProgress)('Exporting', records.length)
  let written = 0
  const stopNote = writingOutside(
    () =>
      `the export to ${given} is incomplete (${written} of ${records.length} images written); export again with --force to complete it`,
  )
  const manifestImages: ManifestImage[] = []
  const batched: string[] = []
  try {
    const relDir = layout.imageDir === '.' ? '' : `${layout.imageDir}/`
    // Images that need no change: into a staging folder, on the thread pool, STAGING_WRITES at once, each with its
    // caption (creating a file waits on the file system's journal more than on a CPU: in parallel they overlap);
    // into an existing folder (--force), one after another, each through a temp file.
    const captionOf = (p: Planned) =>
      layout.captionFiles ? {name: captionNameOf(p.name), text: p.record.caption + '\n'} : undefined
    const unchanged = [...plan.entries()].filter(([, p]) => !p.encode)
    await mapLimit(unchanged, staged ? STAGING_WRITES : 1, async ([i, p]) => {
      const src = dataset.imagePath(p.record.file)
      const target = join(writeDir, p.name)
      let how: 'copied' | 'linked' = 'copied'
      if (staged) {
        if (link) how = await linkFileIntoStaging(src, target)
        else await copyFileIntoStaging(src, target)
        const caption = captionOf(p)
        if (caption) {
          await writeFileIntoStaging(join(writeDir, caption.name), caption.text)
          batched.push(join(writeDir, caption.name))
        }
      } else {
        if (force) await removeFile(target)
        how = link ? placeFileBatchLinkOrCopy(src, target) : (placeFileBatch(src, target, 'copy'), 'copied')
      }
      batched.push(target)
      manifestImages[i] = manifestEntry(p, relDir, p.record.sha256, p.facts.width, p.facts.height, how)
      written++
      progress.tick()
    })
    await mapLimit(
      [...plan.entries()].filter(([, p]) => p.encode),
      concurrency,
      async ([i, p]) => {
        const out = await reencodeImage(dataset.imagePath(p.record.file), {
          format: p.encode!,
          maxSide: flags.maxSide,
          quality: flags.quality,
          keepMetadata: flags.keepMetadata === true,
        }).catch((error: unknown) => {
          throw notConvertible(p.record.file, error)
        })
        const target = join(writeDir, p.name)
        if (staged) {
          await writeFileIntoStaging(target, out.data)
          batched.push(target)
        } else if (force) await writeFileAtomic(target, out.data)
        else await createFileExclusive(target, out.data)
        const sha = createHash('sha256').update(out.data).digest('hex')
        manifestImages[i] = manifestEntry(p, relDir, sha, out.width, out.height, 'converted')
        written++
        progress.tick()
      },
    )
    if (layout.captionFiles) {
      const rest = staged ? plan.filter((p) => p.encode) : plan
      await mapLimit(rest, staged ? STAGING_WRITES : 1, async (p) => {
        const caption = captionOf(p)!
        const target = join(writeDir, caption.name)
        if (staged) await writeFileIntoStaging(target, caption.text)
        else {
          if (force) await removeFile(target)
          createFileBatch(target, caption.text)
        }
        batched.push(target)
      })
    }
    await flushFiles(batched)
    if (writeDir !== imageDir) {
      await renameOwned(writeDir, imageDir)
      await fsyncDir(dirname(imageDir))
    }
    for (const c of configs) await writeFileAtomic(join(root, ...c.path.split('/')), c.content)
    const manifest: ExportManifest = {
      version: 1,
      lora: options.version,
      target: options.target,
      dataset: dataset.root,
      commit: dataset.config.git.autoCommit ? await headCommit(dataset.root) : null,
      options: {...flags, includePending: options.includePending, includeAuto: options.includeAuto === true},
      images: manifestImages,
    }
    await writeFileAtomic(join(root, EXPORT_MANIFEST), JSON.stringify(manifest, null, 2) + '\n')
  } finally {
    stopNote()
  }
  progress.done()
  report.copied = manifestImages.filter((m) => m.how === 'copied').length
  report.linked = manifestImages.filter((m) => m.how === 'linked').length

  const validateRel = layout.validateDir === '.' ? '' : `${layout.validateDir}/`
  const checked = await validateFolder({
    path: layout.validateDir === '.' ? root : join(root, layout.validateDir),
    cwd: options.cwd,
    target: layout.validateTarget,
    captionExtension: '.txt',
    ...(trigger ? {trigger} : {}),
    // hf and kohya-finetune read captions from their metadata file, not from .txt files.
    ignore: layout.captionFiles ? [] : ['missing-caption'],
    // The images were just copied from verified dataset files or encoded by sharp: their sizes are known.
    knownImages: new Map(
      manifestImages.map((m, i) => [
        relativeTo(validateRel, m.file),
        {format: plan[i].encode ?? plan[i].facts.format, width: m.width, height: m.height},
      ]),
    ),
  })
  report.validation = {
    target: layout.validateTarget,
    path: checked.path,
    errors: checked.errors,
    warnings: checked.warnings,
    findings: checked.findings,
  }
  if (zip) {
    const members = [
      ...plan.flatMap((p) =>
        (layout.captionFiles ? [p.name, captionNameOf(p.name)] : [p.name]).map((n) => ({
          name: layout.imageDir === '.' ? n : `${layout.imageDir}/${n}`,
          path: join(imageDir, n),
        })),
      ),
      ...configs.map((c) => ({name: c.path, path: join(root, ...c.path.split('/'))})),
      {name: EXPORT_MANIFEST, path: join(root, EXPORT_MANIFEST)},
    ]
    // An existing zip here is one mayWrite let through (an empty file, or --force): it is replaced.
    try {
      await writeZip(real, members, {replace: force || (await exists(real))})
    } finally {
      await removeTree(root)
    }
  }
  return report
}

/**
 * Prefix of the staging folders: a zip export's (`.lora-export-<zip name>-<pid>` beside the zip), a new image
 * folder's (`.lora-export-<folder name>-<pid>` beside it).
 */
const STAGING_PREFIX = '.lora-export-'

/**
 * Images (and captions) written into a staging folder at once: creating a file waits on the file system's journal
 * more than on a CPU, so several in flight overlap (1,000 copies and captions of bench/export.bench.js's dataset,
 * measured alone: 2.2–2.5 s at 8 in flight against 3.2–4.2 s one at a time on the loaded ext4 disk of README
 * "Benchmarks"; on tmpfs 0.2–0.37 s against 0.35–0.47 s; libuv's default 4 threads).
 */
const STAGING_WRITES = 8

/** Removes staging folders for `zipName` (a zip or an image folder) in `dir` whose process is gone (killed). */
async function removeStaleStaging(dir: string, zipName: string): Promise<void> {
  const prefix = `${STAGING_PREFIX}${zipName}-`
  for (const name of await listDir(dir)) {
    if (!name.startsWith(prefix)) continue
    const pid = Number(name.slice(prefix.length))
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) await removeTree(join(dir, name))
  }
}

/** Decides an image's exported name and whether it is copied or re-encoded (see the module comment). */
function planImage(
  record: Planned['record'],
  facts: ExportImageFacts,
  layout: TargetLayout,
  flags: TargetOptions,
): Planned {
  const ext = extensionOf(record.file)
  const stem = stemOf(record.file)
  const sourceFormat = FORMAT_OF_EXT[ext] ?? facts.format
  let outExt = ext
  if (flags.convert !== undefined && FORMAT_OF_EXT[flags.convert] !== sourceFormat) outExt = flags.convert
  else if (!layout.reads.includes(ext)) outExt = 'png'
  const resize = flags.maxSide !== undefined && Math.max(facts.width, facts.height) > flags.maxSide
  const change =
    outExt !== ext || resize || facts.orientation > 1 || facts.deep || (flags.keepMetadata !== true && facts.metadata)
  const encode = change ? (FORMAT_OF_EXT[outExt] as 'png' | 'jpeg' | 'webp') : undefined
  return {record, facts, name: `${stem}.${outExt}`, encode}
}

/**
 * Checks, before anything is written, that no two planned files share a name in the image folder, compared case
 * ignored (a case-insensitive file system, or a zip unpacked on one, would make them one file): two images (`a.gif`
 * converted to `a.png` beside `a.png`) or two captions (`a.jpg` and `a.png` both → `a.txt`). Stems are compared for
 * every target, as `lora validate`'s `stem-collision` rule (which checks the export) does: for hf and kohya-finetune
 * too, whose metadata is keyed by the image (kohya-finetune: by its stem).
 * @throws DatasetError (exit 1, nothing written) naming both images and the name they would share
 */
function refuseNameClashes(dataset: Dataset, plan: readonly Planned[], layout: TargetLayout): void {
  const seen = new Map<string, Planned>()
  for (const p of plan) {
    const names = [p.name, captionNameOf(p.name)]
    for (const name of names) {
      const other = seen.get(name.toLowerCase())
      if (other === undefined) {
        seen.set(name.toLowerCase(), p)
        continue
      }
      const shown = (q: Planned) => `${q.record.id} (${escapeControls(dataset.rel(dataset.imagePath(q.record.file)))})`
      const where = layout.imageDir === '.' ? name : `${layout.imageDir}/${name}`
      throw new DatasetError(
        `${shown(other)} and ${shown(p)} would both be exported as ${escapeControls(where)} (names are compared case ignored); nothing was written.`,
        `Each exported file needs a name of its own: leave one of them out (\`lora tag ${escapeControls(p.record.id)} --skip\`) and export again.`,
      )
    }
  }
}

/**
 * Checks, before anything is written, that each image and caption of a zip export has a name the zip can hold
 * (adapters/zip.ts zipNameProblem): at the zip's root (civitai), a file name such as `C:x.png` reads as a Windows
 * drive path, which yazl refuses and an unzipper could write outside its folder.
 * @throws DatasetError (exit 1, nothing written) naming the image and the member name
 */
function refuseZipNames(dataset: Dataset, plan: readonly Planned[], layout: TargetLayout): void {
  const prefix = layout.imageDir === '.' ? '' : `${layout.imageDir}/`
  for (const p of plan) {
    for (const name of layout.captionFiles ? [p.name, captionNameOf(p.name)] : [p.name]) {
      const problem = zipNameProblem(prefix + name)
      if (problem === undefined) continue
      throw new DatasetError(
        `${p.record.id} (${escapeControls(dataset.rel(dataset.imagePath(p.record.file)))}) would be the zip member ${escapeControls(prefix + name)}, which ${problem}; a zip cannot hold it, so nothing was written.`,
        `Leave that image out (\`lora tag ${escapeControls(p.record.id)} --skip\`) and export again; or, for a target other than civitai (always a zip), export a folder (without --zip).`,
      )
    }
  }
}

/** The exported size an image will have (for the configs, before it is written). */
function outputSize(p: Planned, flags: TargetOptions): {width: number; height: number} {
  const {width, height} = p.facts
  if (!p.encode || flags.maxSide === undefined || Math.max(width, height) <= flags.maxSide) return {width, height}
  const scale = flags.maxSide / Math.max(width, height)
  return {width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale))}
}

function manifestEntry(
  p: Planned,
  relDir: string,
  sha256: string,
  width: number,
  height: number,
  how: ManifestImage['how'],
): ManifestImage {
  return {id: p.record.id, original: p.record.source, file: relDir + p.name, sha256, width, height, how}
}

function notConvertible(file: string, error: unknown): LoraError {
  return new LoraError(
    `${escapeControls(file)} could not be read for the export: ${escapeControls(String((error as Error).message ?? error).split('\n')[0])}.`,
    {
      code: 'image-not-convertible',
      exitCode: 1,
      hint: 'Check the image with `lora validate --deep`; re-export it from its original, or skip it (`lora tag ID --skip`).',
    },
  )
}

/** `file` (relative to DEST) relative to the folder `lora validate` checks (`prefix` is that folder plus `/`, or ''). */
function relativeTo(prefix: string, file: string): string {
  return file.startsWith(prefix) ? file.slice(prefix.length) : file
}

/** HEAD of the git repository holding the dataset, or null (no repository, no commit, or git missing). */
async function headCommit(root: string): Promise<string | null> {
  try {
    const repo = await GitRepo.open(root)
    return (await repo?.head()) ?? null
  } catch {
    return null
  }
}
