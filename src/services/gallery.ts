/**
 * `lora gallery [DEST]`: a static page of the whole dataset (README "lora gallery"). Writes `index.html`, a
 * `thumbs/` folder of WebP thumbnails named by the image's sha256 and the thumbnail size (so a second run makes only
 * the thumbnails of new or changed images), and `gallery.json` (the mark of a lora gallery folder) into DEST, by
 * default `.lora-tagger/gallery/`. It changes nothing in the dataset, so, as `lora export`, it takes no writer lock:
 * it writes derived files only, each a temp file renamed into place (adapters/fs.ts `replaceDerivedFile`).
 */
import {createHash} from 'node:crypto'
import {availableParallelism} from 'node:os'
import {basename, join, relative, resolve} from 'node:path'
import {DatasetError, LoraError, UsageError} from '../errors.js'
import {
  FileTooLargeError,
  kindOf,
  listDir,
  lstatIfExistsSync,
  makeDir,
  NotRegularFileError,
  readRegularBytesIfExists,
  readRegularTextIfExistsSync,
  removeFile,
  removeTempFiles,
  replaceDerivedFile,
  resolveReal,
} from '../adapters/fs.js'
import {overCapText} from '../core/caption-encoding.js'
import {webpThumbnail} from '../adapters/images.js'
import {isInside, type OddFileKind, oddFileKindText} from '../core/containment.js'
import type {CurationAnalysis} from '../core/curation-report.js'
import {
  type GalleryData,
  type GalleryImage,
  galleryPage,
  pageTemplate,
  relativeUrl,
  tagFrequencies,
} from '../core/gallery.js'
import {mapLimit, noProgress, type ProgressFactory} from '../core/progress.js'
import type {ImageRecord, ImageStatus} from '../core/state.js'
import {escapeControls} from '../core/terminal-text.js'
import {type Dataset, META_DIR} from '../store/dataset.js'
import {checkImageFiles} from '../store/image-files.js'
import {readCurationSummary} from '../store/curation-cache.js'
import {readCurationAnalysis} from './curate.js'
import {imagePrompt} from './prompt-tags.js'

/** The default thumbnail size: the longer side, in pixels. */
export const DEFAULT_THUMB_SIZE = 256
/** The thumbnail sizes `--thumb-size` takes, in pixels. */
export const THUMB_SIZE_RANGE = {min: 16, max: 2048} as const
/** The file that marks a folder as a lora gallery (a DEST holding other files without it is refused). */
export const GALLERY_MARK = 'gallery.json'
/** A thumbnail's name in `thumbs/`: `<sha256>-<size>.webp`. */
const THUMB_NAME = /^([0-9a-f]{64})-(\d+)\.webp$/u

/** Options of `lora gallery`. */
export interface GalleryOptions {
  /** Where the page goes (a folder), as given; undefined for `.lora-tagger/gallery/`. */
  dest?: string
  /** What a relative `dest` is relative to. */
  cwd: string
  /** The thumbnails' longer side in pixels (THUMB_SIZE_RANGE). */
  thumbSize: number
  /** Only images of these statuses go on the page; undefined or empty for all. */
  status?: readonly ImageStatus[]
  /** How many thumbnails are made at once (default: the machine's parallelism). */
  concurrency?: number
  progress?: ProgressFactory
  /** When the page says it was made (default now; for reproducible pages). */
  now?: Date
}

/** `lora gallery --json` (stable shape; README "lora gallery"). */
export interface GalleryReport {
  /** The page, an absolute path. */
  page: string
  /** The folder holding it, its `thumbs/` and `gallery.json`. */
  dir: string
  /** The number of images on the page. */
  images: number
  /** The thumbnails' longer side in pixels. */
  thumbSize: number
  /**
   * `made`: thumbnails made this run; `cached`: images whose thumbnail was already there (from an earlier run, or
   * made this run for another image with the same bytes: same sha256 and size);
   * `removed`: thumbnails of images no longer in the dataset, or of another size, deleted.
   */
  thumbnails: {made: number; cached: number; removed: number}
  /** Images shown without a thumbnail (the page shows the image file itself), and why; `[]` when none. */
  problems: {id: string; reason: string}[]
}

/**
 * Writes the gallery (see the file comment). Reads the state and the image files (never through a symbolic link);
 * writes only in DEST.
 * @throws UsageError (exit 2, nothing written) for a `thumbSize` out of range, a DEST that is not a folder, or a DEST
 *   inside the dataset folder (resolved, symbolic links followed) other than `.lora-tagger/gallery/` and below:
 *   the dataset's output folder, `.lora-tagger/` itself, beside the originals, where `lora init` would take the
 *   thumbnails in as images;
 *   LoraError (exit 1, code `destination-not-empty`) for a DEST holding files but no `gallery.json`;
 *   LoraError (exit 1, code `destination-not-regular`) when the default `.lora-tagger/gallery` is not a real folder
 *   (a symbolic link), or when `thumbs/`, `index.html` or `gallery.json` in DEST is a
 *   symbolic link, FIFO, folder or device (nothing is written through it);
 *   the file system's error when a write fails
 */
export async function makeGallery(dataset: Dataset, options: GalleryOptions): Promise<GalleryReport> {
  const size = options.thumbSize
  if (!Number.isInteger(size) || size < THUMB_SIZE_RANGE.min || size > THUMB_SIZE_RANGE.max)
    throw new UsageError(
      `--thumb-size must be a whole number of pixels from ${THUMB_SIZE_RANGE.min} to ${THUMB_SIZE_RANGE.max}, not ${size}.`,
      `For example --thumb-size ${DEFAULT_THUMB_SIZE}.`,
    )
  const dir = destination(dataset, options)
  const state = await dataset.loadState()
  const statuses = options.status && options.status.length > 0 ? new Set(options.status) : undefined
  const images = state.images.filter((i) => !statuses || statuses.has(i.status))
  await prepareFolder(dir)
  await ignoreInHistory(dataset, dir)
  const thumbsDir = join(dir, 'thumbs')
  const page = join(dir, 'index.html')
  const markPath = join(dir, GALLERY_MARK)
  // What DEST holds is lora's own only as far as gallery.json can tell, by what a file from elsewhere cannot have (a
  // dataset from a stranger may ship a gallery folder: its page, with a gallery.json forged to match, was kept and
  // opened, script and all, and its thumbnails shown for images they are not): gallery.json must name this thumbs/
  // folder (its inode); a thumbnail is then lora's when it last changed no later than the page lora last wrote, and
  // the page is when it is that page (its inode and change time).
  const mark = readMark(markPath)
  const {ownUntil, ownPage} = whatLoraWrote(mark, thumbsDir, page)

  // Which thumbnails are there, and which each image needs (an image changed by hand: its bytes now).
  const fileProblems = new Map((await checkImageFiles(dataset, images)).map((p) => [p.id, p]))
  // A thumbnail counts only with bytes in it: derived files are written without fsync, and a power cut can keep a
  // rename but not the data (an empty file under the final name), which is made again.
  // Only a regular file is a thumbnail lora wrote: anything else of that name (a symbolic link, a FIFO, planted in a
  // dataset from a stranger) is never shown nor followed, but removed, and made again if an image needs it; so is a
  // regular file lora cannot tell it wrote (above).
  const present = new Set<string>()
  for (const n of await listDir(thumbsDir)) {
    if (!THUMB_NAME.test(n)) continue
    const entry = lstatIfExistsSync(join(thumbsDir, n))
    if (!entry) continue
    if (entry.isFile() && entry.ctimeMs <= ownUntil) {
      if (entry.size > 0) present.add(n)
    } else if (entry.isDirectory()) {
      throw new DatasetError(
        `${join(thumbsDir, n)} is a folder where lora keeps a thumbnail; nothing was written.`,
        'Remove that folder (lora does not delete folders it did not make), then run lora gallery again.',
      )
    } else await removeFile(join(thumbsDir, n))
  }
  const problems: {id: string; reason: string}[] = []
  let made = 0
  let cached = 0
  const making = new Map<string, Promise<boolean>>()
  const progress = await (options.progress ?? noProgress)('Making thumbnails', images.length)
  const thumbs = await mapLimit(images, options.concurrency ?? availableParallelism(), async (image) => {
    try {
      const problem = fileProblems.get(image.id)
      if (problem?.kind === 'missing') {
        problems.push({id: image.id, reason: `its file is ${problem.reason}`})
        return null
      }
      let bytes: Buffer | undefined
      let sha = image.sha256
      if (problem?.kind === 'changed') {
        bytes = await readRegularBytesIfExists(dataset.imagePath(image.file))
        if (!bytes) {
          problems.push({id: image.id, reason: 'its file is gone'})
          return null
        }
        sha = createHash('sha256').update(bytes).digest('hex')
      }
      const name = `${sha}-${size}.webp`
      // Images with the same bytes share a thumbnail: the first makes it, the others wait for it.
      const inFlight = making.get(name)
      if (present.has(name) || inFlight) {
        if (inFlight && !(await inFlight)) {
          problems.push({id: image.id, reason: 'no thumbnail (as for the image with the same bytes)'})
          return null
        }
        cached++
        return name
      }
      let finish: (ok: boolean) => void = () => undefined
      making.set(name, new Promise<boolean>((done) => (finish = done)))
      let ok = false
      try {
        bytes ??= await readRegularBytesIfExists(dataset.imagePath(image.file))
        if (!bytes) {
          problems.push({id: image.id, reason: 'its file is gone'})
          return null
        }
        let data: Buffer
        try {
          data = (await webpThumbnail(bytes, size)).data
        } catch (error) {
          problems.push({id: image.id, reason: `no thumbnail: ${(error as Error).message.split('\n')[0]}`})
          return null
        }
        await replaceDerivedFile(join(thumbsDir, name), data)
        present.add(name)
        made++
        ok = true
        return name
      } finally {
        making.delete(name)
        finish(ok)
      }
    } catch (error) {
      if (error instanceof NotRegularFileError) {
        problems.push({id: image.id, reason: `its file is ${oddFileKindText(error.kind)} now`})
        return null
      }
      if (error instanceof FileTooLargeError) {
        problems.push({
          id: image.id,
          reason: `its file ${overCapText(error.size, error.maxBytes)} of an image`,
        })
        return null
      }
      throw error
    } finally {
      progress.tick()
    }
  })
  progress.done()

  // Thumbnails no image of the dataset needs any more (another size, images gone or changed) are removed; those of
  // images left off this page by `status` are kept for the next page that shows them.
  const onPage = new Set(images.map((i) => i.id))
  const wanted = new Set(state.images.filter((i) => !onPage.has(i.id)).map((i) => `${i.sha256}-${size}.webp`))
  for (const name of thumbs) if (name) wanted.add(name)
  let removed = 0
  for (const name of present) {
    if (wanted.has(name)) continue
    await removeFile(join(thumbsDir, name))
    removed++
  }

  // The page is written again only when what it shows may differ: a digest of everything it is made from (the
  // images' records, their thumbnails and file problems, the dataset's trigger and folders, the page's own code) is
  // kept in gallery.json. So a second run with nothing new reads no image file (prompts are read only for a page).
  // The duplicate groups and findings of the last `lora curate`, from its cache (no image work), when it ran.
  const curation = readCurationSummary(dataset) ? await readCurationAnalysis(dataset) : undefined
  const analysis = curation && {groups: curation.groups, findings: curation.findings}
  const digest = createHash('sha256')
    .update(
      JSON.stringify([
        pageTemplate(),
        images,
        thumbs,
        [...fileProblems.values()],
        dataset.config.trigger,
        dataset.root,
        dataset.paths.output,
        dir,
        analysis ?? null,
      ]),
    )
    .digest('hex')
  if (made > 0 || removed > 0 || !ownPage || mark?.digest !== digest) {
    const data = galleryData(dataset, images, thumbs, fileProblems, analysis, dir, options.now ?? new Date())
    await replaceDerivedFile(page, galleryPage(data))
    const written = lstatIfExistsSync(page)
    const thumbsFolder = lstatIfExistsSync(thumbsDir)
    const next: GalleryMark = {
      version: 1,
      tool: 'lora gallery',
      dataset: dataset.root,
      thumbSize: size,
      digest,
      ...(written && thumbsFolder && {made: {thumbs: thumbsFolder.ino, page: written.ino, until: written.ctimeMs}}),
    }
    await replaceDerivedFile(markPath, JSON.stringify(next, null, 2) + '\n')
  }
  problems.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return {page, dir, images: images.length, thumbSize: size, thumbnails: {made, cached, removed}, problems}
}

/** `gallery.json`: the mark of a gallery folder, and the digest of what its page was made from. */
interface GalleryMark {
  version: 1
  tool: 'lora gallery'
  /** The dataset folder the page shows. */
  dataset: string
  thumbSize: number
  /** sha256 (hex) of what the page was made from (see makeGallery). */
  digest: string
  /**
   * What lora wrote, by what a file from elsewhere cannot have (lstat): the inode of `thumbs/`, and of the page with
   * its change time (`until`: every thumbnail lora made changed no later).
   */
  made?: {thumbs: number; page: number; until: number}
}

/**
 * What of DEST lora wrote, as far as gallery.json (`mark`) can tell by what a file from elsewhere cannot have: it must
 * name this `thumbs/` folder (its inode); then a thumbnail is lora's when it last changed no later than `ownUntil`
 * (the change time of the page lora last wrote; -Infinity when gallery.json tells nothing), and the page is lora's
 * (`ownPage`) when it is that page (its inode and change time) and not empty.
 */
function whatLoraWrote(
  mark: Partial<GalleryMark> | undefined,
  thumbsDir: string,
  page: string,
): {ownUntil: number; ownPage: boolean} {
  const wrote = mark?.made !== null && typeof mark?.made === 'object' ? mark.made : undefined
  if (wrote === undefined || typeof wrote.until !== 'number' || wrote.thumbs !== lstatIfExistsSync(thumbsDir)?.ino)
    return {ownUntil: -Infinity, ownPage: false}
  const now = lstatIfExistsSync(page)
  return {
    ownUntil: wrote.until,
    ownPage: now?.isFile() === true && now.size > 0 && wrote.page === now.ino && wrote.until === now.ctimeMs,
  }
}

/** The gallery.json at `path`, or undefined when it is missing, not a regular file, or not one lora wrote. */
function readMark(path: string): Partial<GalleryMark> | undefined {
  try {
    const value: unknown = JSON.parse(readRegularTextIfExistsSync(path) ?? 'null')
    return typeof value === 'object' && value !== null ? value : undefined
  } catch {
    return undefined
  }
}

/**
 * The page's data: one entry per image in the state's order, its thumbnail and file as URLs relative to `dir`; with
 * a curation analysis (`lora curate`), its duplicate groups with two or more images on the page (keeper first) and
 * the findings of the images on the page.
 */
function galleryData(
  dataset: Dataset,
  images: readonly ImageRecord[],
  thumbs: readonly (string | null)[],
  fileProblems: ReadonlyMap<string, {kind: string; reason: string}>,
  analysis: CurationAnalysis | undefined,
  dir: string,
  now: Date,
): GalleryData {
  const realDir = resolveReal(dir)
  const outputUrl = relative(realDir, resolveReal(dataset.paths.output))
  const entries: GalleryImage[] = images.map((image, index) => {
    const problem = fileProblems.get(image.id)
    const thumb = thumbs[index]
    return {
      id: image.id,
      file: image.file,
      src: relativeUrl(outputUrl === '' ? image.file : join(outputUrl, image.file)),
      thumb: thumb ? relativeUrl(join('thumbs', thumb)) : null,
      width: image.width,
      height: image.height,
      status: image.status,
      reason: problem
        ? `file ${problem.kind}: ${problem.reason}`
        : image.status === 'skipped'
          ? (image.skipReason ?? 'skipped (no reason recorded)')
          : null,
      tags: image.tags,
      prompt: imagePrompt(dataset, image),
      problems: problem ? [{kind: problem.kind, reason: problem.reason}] : [],
    }
  })
  return {
    version: 1,
    title: basename(dataset.root),
    trigger: dataset.config.trigger,
    generatedAt: now.toISOString(),
    tags: tagFrequencies(images),
    images: entries,
    ...(analysis && curationData(analysis, new Set(images.map((i) => i.id)))),
  }
}

/** A curation analysis as the page shows it, limited to the images on the page (`onPage`). */
function curationData(
  analysis: CurationAnalysis,
  onPage: ReadonlySet<string>,
): Pick<GalleryData, 'groups' | 'findings'> {
  const groups = analysis.groups.flatMap((group) => {
    const members = group.images.filter((i) => onPage.has(i.id))
    if (members.length < 2) return []
    const others = members.filter((i) => i.id !== group.keep).map((i) => `${i.id} ${i.distance}`)
    const reason =
      group.kind === 'exact'
        ? `the same pixels; keep ${group.keep}`
        : `near-duplicates; keep ${group.keep}; pHash distance to it: ${others.join(', ')}`
    return [
      {kind: group.kind === 'exact' ? 'exact duplicates' : 'near-duplicates', ids: members.map((i) => i.id), reason},
    ]
  })
  const findings = analysis.findings
    .filter((f) => onPage.has(f.id))
    .map((f) => ({id: f.id, kind: f.rule, reason: f.message}))
  return {groups, findings}
}

/**
 * Where the gallery goes, resolved (symbolic links followed): `.lora-tagger/gallery/` by default; a given DEST must
 * be that folder (or below it) or lie outside the dataset folder.
 * @throws UsageError, LoraError (`destination-not-regular`: a `.lora-tagger/gallery` that is a link) as makeGallery
 */
function destination(dataset: Dataset, options: GalleryOptions): string {
  // A dataset may come from a stranger: a `.lora-tagger/gallery` that is a link (to a folder of the user's, or into
  // the output folder) is refused, never followed, whether DEST is given or not (a DEST through it would otherwise
  // count as the gallery's own folder).
  const ownPath = join(dataset.paths.meta, 'gallery')
  refuseOdd(ownPath, true)
  const own = resolveReal(ownPath)
  if (options.dest === undefined) return own
  const given = resolve(options.cwd, options.dest)
  const real = resolveReal(given)
  if (isInside(real, own)) return real
  const places = [
    {path: resolveReal(dataset.paths.meta), name: `the dataset's ${META_DIR}/ folder`},
    {path: resolveReal(dataset.paths.output), name: "the dataset's output folder"},
    {path: resolveReal(dataset.root), name: 'the dataset folder'},
  ]
  const place = places.find((p) => isInside(real, p.path))
  if (place) {
    const through = real === given ? '' : ` (it resolves to ${escapeControls(real)})`
    throw new UsageError(
      `The gallery destination ${escapeControls(given)}${through} is ${real === place.path ? '' : 'inside '}${place.name} (${escapeControls(place.path)}); inside the dataset a gallery goes only in ${META_DIR}/gallery/ (the default), where lora init never takes its thumbnails in as images. Nothing was written.`,
      'Leave DEST out for .lora-tagger/gallery/, or choose a folder outside the dataset, e.g. `lora gallery ../gallery`.',
    )
  }
  return real
}

/**
 * What `.lora-tagger/gallery/.gitignore` holds: the gallery is made again from the dataset, so it stays out of the
 * dataset's history (README "Dataset history in git"), also in a dataset whose `.lora-tagger/.gitignore` was written
 * before it listed `gallery/`; otherwise the next change's commit took the page and thumbnails in, and `lora undo`
 * refused to undo that commit.
 */
export const GALLERY_GITIGNORE = '# lora: the gallery is made again from the dataset; not part of its history\n*\n'

/**
 * Writes GALLERY_GITIGNORE into the dataset's own gallery folder when the gallery goes there (`dir` is it or below
 * it) and it has no `.gitignore` yet (one that is there, yours or lora's, is kept; a link or FIFO there is refused).
 * @throws LoraError (`destination-not-regular`) as refuseOdd
 */
async function ignoreInHistory(dataset: Dataset, dir: string): Promise<void> {
  const own = resolveReal(join(dataset.paths.meta, 'gallery'))
  if (!isInside(dir, own)) return
  const path = join(own, '.gitignore')
  refuseOdd(path, false)
  if (!lstatIfExistsSync(path)) await replaceDerivedFile(path, GALLERY_GITIGNORE)
}

/**
 * Makes `dir` and `dir/thumbs` (real folders, not links), removes temp files a killed run left there, and checks
 * that the files the gallery replaces are regular files or absent.
 * @throws as makeGallery
 */
async function prepareFolder(dir: string): Promise<void> {
  const st = lstatIfExistsSync(dir)
  if (st && !st.isDirectory())
    throw new UsageError(
      `${escapeControls(dir)} exists and is not a folder; a gallery is a folder (index.html, thumbs/).`,
      'Choose another destination.',
    )
  if (st) {
    // A .gitignore alone (ignoreInHistory's, from a run stopped before its gallery.json) does not make it not empty.
    const names = (await listDir(dir)).filter((n) => !n.startsWith('.lora-tmp-') && n !== '.gitignore')
    if (names.length > 0 && !names.includes(GALLERY_MARK))
      throw new LoraError(
        `${escapeControls(dir)} holds files and is not a lora gallery (no ${GALLERY_MARK}); not writing into it.`,
        {
          code: 'destination-not-empty',
          exitCode: 1,
          hint: 'Choose an empty or new folder, or the folder of an earlier `lora gallery`.',
        },
      )
    for (const name of ['index.html', GALLERY_MARK, 'thumbs']) refuseOdd(join(dir, name), name === 'thumbs')
  }
  await makeDir(join(dir, 'thumbs'))
  refuseOdd(join(dir, 'thumbs'), true)
  await removeTempFiles(dir)
  await removeTempFiles(join(dir, 'thumbs'))
}

/**
 * @throws LoraError (exit 1, `destination-not-regular`) when `path` is there and is not a regular file (`folder`:
 *   not a real folder)
 */
function refuseOdd(path: string, folder: boolean): void {
  const st = lstatIfExistsSync(path)
  if (!st || (folder ? st.isDirectory() : st.isFile())) return
  throw new LoraError(
    `${escapeControls(path)} is ${st.isFile() ? 'a file' : oddFileKindText(kindOf(st) as OddFileKind)}, not ${folder ? 'a folder' : 'a regular file'}; the gallery never writes through it, so nothing was written.`,
    {
      code: 'destination-not-regular',
      exitCode: 1,
      hint: 'Remove it or move it out of the way, or choose another destination.',
    },
  )
}
