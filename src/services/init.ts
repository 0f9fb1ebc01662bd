/**
 * `lora init`: makes a folder of images a dataset, or adds new images to one. Plans everything first (hashes,
 * headers, new names, captions), refuses before touching anything when a target name is taken, then applies the
 * plan as one journaled change (see store/journal.ts), so a kill at any instant followed by a rerun ends with every
 * image present exactly once.
 */
import {basename, dirname, isAbsolute, join, relative, resolve} from 'node:path'
import {DatasetError, FileSystemError, LoraError, UsageError} from '../errors.js'
import {
  exists,
  FileTooLargeError,
  isCode,
  makeDir,
  nearestExisting,
  NotRegularFileError,
  readRegularBytesIfExistsSync,
  removeTree,
  removeTreeSync,
  sha256File,
  statIfExists,
  statPath,
  writeProblem,
} from '../adapters/fs.js'
import {loadQuickProbe} from '../adapters/image-header.js'
import {findEntries} from '../adapters/listing.js'
import {probeImage} from '../adapters/images.js'
import {readEmbeddedPrompt} from '../adapters/image-metadata.js'
import type {OtherFormats} from '../core/naming.js'
import {shellQuote} from '../core/shell.js'
import {counted, plural} from '../core/plural.js'
import type {GenerationPrompt} from '../core/generation-prompt.js'
import {normalizeTag, parseCaption, serializeCaption, withTrigger} from '../core/caption.js'
import {CAPTION_MAX_BYTES, captionEncodingFix, captionTooLargeProblem, decodeCaption} from '../core/caption-encoding.js'
import {styleTags} from '../core/tag-style.js'
import {type DatasetConfig, validateConfig} from '../core/config.js'
import {
  checkOutputFolder,
  Dataset,
  datasetPaths,
  enclosingDataset,
  loadConfig,
  refuseLinkedMetaFolder,
  META_DIR,
  parseCheckedState,
  readOwnedText,
} from '../store/dataset.js'
import {type OddFileKind, oddFileKindText} from '../core/containment.js'
import type {JournalOp, PlaceMode} from '../store/journal.js'
import {onStopBeforeChange} from '../store/interrupts.js'
import {
  extensionOf,
  IMAGE_EXTENSIONS,
  imageId,
  naturalSort,
  OTHER_FORMATS_ADVICE,
  OTHER_IMAGE_EXTENSIONS,
  otherFormatsText,
  padWidthFor,
  stemOf,
} from '../core/naming.js'
import {mapLimit, noProgress, type ProgressFactory} from '../core/progress.js'
import {emptyState, type DatasetState, type ImageRecord, serializeState} from '../core/state.js'
import {VOCABULARY_FILE, serializeVocabulary} from '../core/vocabulary.js'
import {summarizeImages, type ImageCounts} from './status.js'
import {captionTagsProblem} from '../core/terminal-text.js'
import {refreshSummary} from '../store/summary-cache.js'
import {type EditDone, prepareWrite, type WriteTransaction} from '../store/transaction.js'
import {enableHistory, type GitEnableReport, leftUntracked} from './history.js'
import {checkImageFiles} from '../store/image-files.js'
import {newNearDuplicates, type NewNearDuplicate} from './curate.js'

/** What `lora init` is asked to do. Config fields left undefined keep the dataset's (or the defaults). */
export interface InitOptions {
  /** The folder of images (absolute). */
  dir: string
  mode: PlaceMode
  recursive: boolean
  /** Problem files are an error instead of a warning. */
  strict: boolean
  /** Decode every image fully (catches truncation the header check misses). */
  verify: boolean
  prefix?: string
  output?: string
  captionExtension?: string
  trigger?: string
  progress?: ProgressFactory
  /** `--git`: turn dataset history on (enclosing repository, or a new one), with `lfs` for images in git-lfs. */
  git?: {lfs: boolean}
  /** False for `--no-commit`. */
  commit?: boolean
}

/** One image added by this run. */
export interface AddedImage {
  id: string
  file: string
  source: string
  width: number
  height: number
  status: ImageRecord['status']
  /** Tags adopted from an existing caption next to the original. */
  tags: string[]
}

/** The summary `lora init` prints (`--json` shape, documented in README). */
export interface InitSummary {
  dataset: string
  outputDir: string
  /** True when this run created the dataset. */
  created: boolean
  mode: PlaceMode
  added: AddedImage[]
  /** Images found again that were imported before. */
  alreadyImported: number
  /** Captions adopted from files next to the originals. */
  adoptedCaptions: number
  duplicates: {source: string; of: string}[]
  problems: {source: string; reason: string}[]
  images: ImageCounts
  /**
   * Ids of images imported earlier whose file in the output folder is gone or no longer a regular file; they are
   * not imported again (their originals are known): restore them (README "Safety model").
   */
  missing: string[]
  /** The commit recording this change, when history is on. */
  commit?: string
  /** With `--git`: the repository and whether it was created. */
  git?: GitEnableReport
  /**
   * New images that are near-duplicates of images already in the dataset (services/curate.ts newNearDuplicates):
   * found only when `lora curate` has analysed the dataset before; `[]` otherwise.
   */
  nearDuplicates: NewNearDuplicate[]
  /** Image files this run did not look at or cannot import (NotImported), so that none is left out without a word. */
  notImported: NotImported
}

/**
 * What `lora init` left out without looking (README "lora init"): the image files in subfolders when `--recursive`
 * was not given (null with it; other datasets' images not counted), and files with an image extension lora does
 * not import (OTHER_IMAGE_EXTENSIONS: HEIC, RAW, ...), by extension, most first.
 */
export interface NotImported {
  inSubfolders: {images: number; folders: number} | null
  otherFormats: OtherFormats
}

/** A scanned candidate: an image file found in the folder. */
interface Candidate {
  source: string
  ext: string
  probe?: Awaited<ReturnType<typeof probeImage>>
  sha256?: string
  bytes?: number
  mtimeMs?: number
  /** The prompt an image generator embedded in it (null: none). */
  prompt?: GenerationPrompt | null
}

/**
 * Runs `lora init`.
 * @throws UsageError for a folder that does not exist or flags that contradict the dataset's config
 * @throws LoraError with `--strict` when problem files were found (nothing is touched)
 * @throws NoImagesError (exit 1) for a new dataset when the folder holds no image file (nothing is created)
 * @throws DatasetBusyError when another writer holds the dataset
 * @throws GitError when history is on (or `--git`) and the repository cannot take a commit (nothing is touched);
 *   NotCommittedError when the images were imported but the commit failed
 */
export async function initDataset(options: InitOptions): Promise<InitSummary> {
  const root = resolve(options.dir)
  // Missing is a usage error; any other failure (EACCES on a parent, ELOOP, EIO) is reported as what it is.
  const st = await statIfExists(root)
  if (!st)
    throw new UsageError(
      `${options.dir} does not exist.`,
      'Give the folder that holds your images: `lora init ./imgs`.',
    )
  if (!st.isDirectory())
    throw new UsageError(
      `${options.dir} is not a folder.`,
      st.isFile()
        ? `Give the folder that holds your images, e.g. the one this file is in: \`lora init ${shellQuote(dirname(options.dir))}\`.`
        : 'Give the folder that holds your images: `lora init ./imgs`.',
    )
  await refuseInsideAnotherDataset(root)
  refuseLinkedMetaFolder(root)

  // A dataset exists once its config is written, which happens in the same journaled change as the first import;
  // a run that fails or is killed before that leaves nothing worth keeping.
  const created = !(await exists(join(root, META_DIR, 'config.yaml')))
  const config = created ? checkOutputFolder(root, newConfig(options)) : await checkConfig(root, options)
  const paths = datasetPaths(root, config.output)
  const dataset = new Dataset(paths, config)
  // Check git before touching anything (the import's commit, and turning history on), so a git problem leaves
  // nothing half-done.
  const importing = await prepareWrite(dataset, {command: 'lora init', commit: options.commit})
  const enabling = options.git
    ? await prepareWrite(dataset, {command: 'lora init --git', history: {enable: {lfs: options.git.lfs}}})
    : undefined
  const madeMeta = !(await exists(paths.meta))
  if (madeMeta) await makeDir(paths.meta)
  // A stop signal before the import's first change removes the .lora-tagger/ made here (store/interrupts.ts).
  const forgetUndo = madeMeta ? onStopBeforeChange(() => removeTreeSync(paths.meta)) : () => false
  let summary: InitSummary
  try {
    const {result, commit} = await importing.run((tx) => importImages(tx, options, created))
    summary = {...result, commit, nearDuplicates: [], notImported: {inSubfolders: null, otherFormats: []}}
  } catch (error) {
    // Refused before anything was imported (no config written, no change pending): remove the metadata folder this
    // run made, so nothing changed.
    if (madeMeta && !(await exists(paths.config)) && !(await exists(join(paths.meta, 'journal.json'))))
      await removeTree(paths.meta)
    throw error
  } finally {
    forgetUndo()
  }
  const {inSubfolders, otherFormats} = await notImported(root, config.output, options)
  summary.notImported = {inSubfolders, otherFormats}
  if (!created)
    summary.nearDuplicates = await newNearDuplicates(
      dataset,
      summary.added.map((a) => a.id),
    )
  if (!enabling || !options.git) return summary
  const {result, commit} = await enabling.run(
    enableHistory(dataset, {lfs: options.git.lfs, subject: 'lora: init \u2014 {n} images'}),
  )
  return {
    ...summary,
    commit: commit ?? summary.commit,
    git: {...result, commit, subject: commit ? result.subject : undefined, ...(await leftUntracked(dataset))},
  }
}

/**
 * Refuses `lora init` on a folder inside another dataset's output folder or `.lora-tagger/` (or equal to one):
 * the new dataset would copy that dataset's images into itself, and its own files would be mistaken for the other
 * dataset's. Checks every dataset enclosing `root` (a dataset's own folder may enclose another's, which is fine).
 * @throws UsageError (exit 2) naming the enclosing dataset
 */
async function refuseInsideAnotherDataset(root: string): Promise<void> {
  for (let dir = dirname(root); ; dir = dirname(dir)) {
    const holder = await enclosingDataset(dir)
    if (!holder) return
    let output = 'output'
    try {
      output = (await loadConfig(holder, {writeCache: false})).output
    } catch (error) {
      // A dataset whose config is unreadable still has a .lora-tagger/; its output folder is then the default.
      if (!(error instanceof LoraError)) throw error
    }
    for (const [inside, what] of [
      [join(holder, META_DIR), `${META_DIR}/ folder`],
      [join(holder, output), `output folder (${output}/)`],
    ] as const) {
      const rel = relative(inside, root)
      if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
        throw new UsageError(
          `${root} is inside the ${what} of the dataset ${holder}; not making a dataset there.`,
          `lora keeps that dataset's own files there. Run \`lora init\` on a folder outside it; to add images to that dataset, put them in ${holder} and run \`lora init ${holder}\`.`,
        )
      }
    }
    if (dirname(holder) === holder) return
    dir = holder
  }
}

/** Scans, plans and imports the images not imported yet, in the write transaction `tx` (under the lock). */
async function importImages(
  tx: WriteTransaction,
  options: InitOptions,
  created: boolean,
): Promise<EditDone<Omit<InitSummary, 'commit' | 'git' | 'nearDuplicates' | 'notImported'>>> {
  const {dataset} = tx
  const {root, config, paths} = dataset
  const progress = options.progress ?? noProgress
  const stateText = readOwnedText(root, paths.state, 'state file')
  if (stateText === undefined && !created) {
    throw new DatasetError(
      `${dataset.rel(paths.state)} is missing; importing again would not know the images already in ${config.output}/.`,
      'Run `lora repair` to rebuild it from the output folder and the captions, then run lora init again.',
    )
  }
  const state = stateText === undefined ? emptyState() : parseCheckedState(stateText, dataset.rel(paths.state))
  // Images placed earlier whose file is gone or no longer a regular file are reported, never imported again quietly.
  const missing = (await checkImageFiles(dataset, state.images)).filter((f) => f.kind === 'missing').map((f) => f.id)
  const {candidates, otherDatasets} = await scan(root, config.output, options.recursive)
  // A new dataset of no images is a mistake (the wrong folder, or images in subfolders): nothing is created.
  if (created && candidates.length === 0) throw await noImagesError(root, config.output, options)
  const known = new Set([...state.images.map((i) => i.source), ...state.duplicates.map((d) => d.source)])
  const fresh = candidates.filter((c) => !known.has(c.source))

  const probing = await progress('Reading images', fresh.length)
  // A fast header read answers for ordinary JPEG/PNG/WebP/BMP files; sharp for the rest (and for --verify).
  const quick = options.verify ? undefined : await loadQuickProbe()
  await mapLimit(fresh, 4, async (c) => {
    if (c.probe) {
      probing.tick()
      return
    }
    const abs = join(root, c.source)
    const info = quick?.(abs)
    c.probe = info ? {ok: true, info} : await probeImage(abs, {verify: options.verify})
    if (c.probe.ok) {
      c.sha256 = await sha256File(abs)
      const st = await statPath(abs)
      c.bytes = st.size
      c.mtimeMs = st.mtimeMs
      // Bounded reads of the text chunks only; never fails (a malformed chunk is no prompt).
      c.prompt = readEmbeddedPrompt(abs)
    }
    probing.tick()
  })
  probing.done()
  // libvips keeps one error buffer per thread, so a failure read concurrently may carry another file's message;
  // read the undecodable ones again, one at a time, for a reason that belongs to them.
  for (const c of fresh) {
    if (c.probe && !c.probe.ok && c.probe.reason.startsWith('not a decodable image'))
      c.probe = await probeImage(join(root, c.source), {verify: options.verify})
  }

  const plan = await planImport(dataset, state, fresh, options.mode)
  if (options.strict && plan.problems.length > 0) {
    throw new LoraError(
      `${counted(plan.problems.length, 'file')} ${plural(plan.problems.length, 'is not a usable image', 'are not usable images')}: ${plan.problems.map((p) => `${p.source} (${p.reason})`).join('; ')}.`,
      {
        code: 'problem-files',
        hint: 'Fix or remove them, or run without --strict to import the rest and list them.',
      },
    )
  }
  await checkPlacement(dataset, plan.ops, options.mode)
  if (created) plan.ops.unshift({op: 'write', path: dataset.rel(paths.config), text: await configYaml(config)})
  // A rerun that finds nothing new writes nothing.
  if (created || serializeState(plan.state) !== stateText) {
    await makeDir(paths.output)
    const applying = await progress(
      `${options.mode === 'move' ? 'Moving' : options.mode === 'link' ? 'Linking' : 'Copying'} images`,
      plan.ops.length,
    )
    await tx.journal('init', plan.ops, () => applying.tick())
    applying.done()
    await refreshSummary(dataset, plan.state, plan.vocabulary)
  }
  const result = {
    dataset: root,
    outputDir: paths.output,
    created,
    mode: options.mode,
    added: plan.added,
    alreadyImported: candidates.length - fresh.length,
    adoptedCaptions: plan.added.filter((a) => a.tags.length > 0).length,
    duplicates: plan.duplicates,
    // Other datasets below are reported with the files left out, but are no problem of this dataset's: not kept in
    // its state (`lora status` does not list them) and no error with --strict.
    problems: [...plan.problems, ...otherDatasets.map(otherDatasetProblem)],
    images: summarizeImages(plan.state.images),
    missing,
  }
  return {
    result,
    message:
      plan.added.length > 0
        ? {subject: `init: +${counted(plan.added.length, 'image')}`, kind: 'init', images: plan.added.map((a) => a.id)}
        : undefined,
  }
}

/**
 * `lora init` found no image file for a new dataset (exit 1, code `no-images`; README "lora init"). The message
 * names the extensions looked for; without `--recursive`, it counts the images in subfolders and suggests it.
 */
export class NoImagesError extends LoraError {
  /**
   * @param otherDatasets folders below `dir` that are other datasets (their images were not looked at), relative
   */
  constructor(
    dir: string,
    recursive: boolean,
    inSubfolders: {images: number; folders: number},
    otherDatasets: readonly string[] = [],
    otherFormats: OtherFormats = [],
  ) {
    const shown = shellQuote(dir)
    const where = recursive ? `${dir} or its subfolders` : dir
    const others =
      otherDatasets.length > 0
        ? `${otherDatasets.map((d) => `${d}/`).join(', ')} ${otherDatasets.length === 1 ? 'is another dataset' : 'are other datasets'} (with ${META_DIR}/), whose images belong to ${otherDatasets.length === 1 ? 'it' : 'them'} and are never taken in. `
        : ''
    const formats = otherFormats.length > 0 ? `${otherFormatsText(otherFormats)} ${OTHER_FORMATS_ADVICE} ` : ''
    super(`No images in ${where}: looked for ${IMAGE_EXTENSIONS.join(', ')} files (any case). Nothing was created.`, {
      code: 'no-images',
      hint:
        others +
        formats +
        (inSubfolders.images > 0
          ? `${counted(inSubfolders.images, 'image')} ${plural(inSubfolders.images, 'is', 'are')} in ${counted(inSubfolders.folders, 'subfolder')}; to include ${plural(inSubfolders.images, 'it', 'them')}: lora init ${shown} --recursive`
          : 'Give the folder that holds your images (`lora init ./imgs`), or put the images in it.'),
    })
  }
}

/**
 * NotImported for `root` (output folder `output`), with the other datasets below it (scan's `otherDatasets`): one
 * more walk of the subfolders, and one of the folder (with `--recursive`, the tree) for OTHER_IMAGE_EXTENSIONS.
 * Reads only.
 */
async function notImported(
  root: string,
  output: string,
  options: InitOptions,
): Promise<NotImported & {otherDatasets: string[]}> {
  const deep = await scan(root, output, true)
  const below = options.recursive ? [] : deep.candidates.filter((c) => c.probe === undefined && c.source.includes('/'))
  const inOther = (path: string) => deep.otherDatasets.some((d) => path.startsWith(`${d}/`))
  const others = await findEntries(root, `${options.recursive ? '**/' : ''}*.{${OTHER_IMAGE_EXTENSIONS.join(',')}}`, [
    META_DIR,
    output,
  ])
  const byExtension = new Map<string, number>()
  for (const e of others) {
    if (e.kind !== 'file' || inOther(e.path)) continue
    const ext = extensionOf(e.path)
    byExtension.set(ext, (byExtension.get(ext) ?? 0) + 1)
  }
  return {
    inSubfolders: options.recursive
      ? null
      : {images: below.length, folders: new Set(below.map((c) => dirname(c.source))).size},
    otherFormats: [...byExtension]
      .map(([extension, files]) => ({extension, files}))
      .sort((a, b) => b.files - a.files || (a.extension < b.extension ? -1 : 1)),
    otherDatasets: deep.otherDatasets,
  }
}

/**
 * The NoImagesError for `root`: what notImported finds (the image files in its subfolders when `--recursive` was not
 * given, files of other formats) and the other datasets below.
 */
async function noImagesError(root: string, output: string, options: InitOptions): Promise<NoImagesError> {
  const left = await notImported(root, output, options)
  return new NoImagesError(
    options.dir,
    options.recursive,
    left.inSubfolders ?? {images: 0, folders: 0},
    left.otherDatasets,
    left.otherFormats,
  )
}

/**
 * Checks, before anything is written, what would stop placing the images half-way: `--link` needs the originals
 * and the output folder on one file system (a hard link cannot cross devices; `--copy` and `--move` can), and
 * `--move` needs write permission in the folders holding the originals (to remove them).
 * @throws UsageError (exit 2) for `--link` across file systems, with the `--copy` hint
 * @throws FileSystemError for a folder of originals that cannot be written with `--move`
 */
async function checkPlacement(dataset: Dataset, ops: readonly JournalOp[], mode: PlaceMode): Promise<void> {
  const sources = ops.flatMap((op) => (op.op === 'place-image' ? [op.source] : []))
  if (sources.length === 0) return
  if (mode === 'link') {
    const output = await nearestExisting(dataset.paths.output)
    for (const source of sources) {
      if ((await statPath(join(dataset.root, source))).dev === output.stats.dev) continue
      throw new UsageError(
        `--link cannot work here: ${source} and the output folder (${output.path}) are on different file systems, and a hard link cannot cross them; nothing was changed.`,
        'Use --copy (copies the images; the originals stay) or --move, or choose an output folder on the same disk with --out.',
      )
    }
  }
  if (mode === 'move') {
    for (const dir of new Set(sources.map((source) => dirname(join(dataset.root, source))))) {
      const problem = await writeProblem(dir)
      if (!problem) continue
      throw new FileSystemError(
        `--move cannot remove the originals in ${problem.path}: ${problem.code === 'EROFS' ? 'read-only file system' : 'permission denied'}; nothing was changed.`,
        'Use --copy (the originals stay), or make that folder writable.',
      )
    }
  }
}

function newConfig(options: InitOptions): DatasetConfig {
  return validateConfig(
    Object.fromEntries(
      Object.entries({
        prefix: options.prefix,
        output: options.output,
        captionExtension: options.captionExtension,
        trigger: options.trigger,
      }).filter(([, v]) => v !== undefined),
    ),
    'the flags',
  )
}

/** On a re-init, flags must agree with the dataset's config (changing them would rename existing files). */
async function checkConfig(root: string, options: InitOptions): Promise<DatasetConfig> {
  const config = await loadConfig(root)
  const flags: [keyof DatasetConfig, string | undefined, string][] = [
    ['prefix', options.prefix, '--prefix'],
    ['output', options.output, '--out'],
    ['captionExtension', options.captionExtension, '--caption-ext'],
    ['trigger', options.trigger, '--trigger'],
  ]
  for (const [key, given, flag] of flags) {
    // The config's trigger is normalised as a tag when read (core/config.ts): compare the flag's the same way.
    const value = key === 'trigger' && given !== undefined ? normalizeTag(given) : given
    if (value !== undefined && value !== config[key]) {
      throw new UsageError(
        `${flag} ${value} differs from this dataset's ${key} (${JSON.stringify(config[key])}).`,
        key === 'trigger'
          ? // The trigger word is in every caption: changing it is a config edit and one bulk tag edit, not a flag.
            `Drop ${flag} to import into this dataset. To ${config.trigger === null ? 'give it a' : 'change its'} trigger word: set \`trigger: ${value}\` in ${META_DIR}/config.yaml, then \`lora tag --all --add ${shellQuote(value)}\` puts it first in every caption${config.trigger === null ? '' : ` (and \`lora tags rm ${shellQuote(config.trigger)}\` takes the old one out)`}.`
          : `Existing files keep their names; drop ${flag}, or change "${key}" in ${META_DIR}/config.yaml if you mean it for new images.`,
      )
    }
  }
  return config
}

async function configYaml(config: DatasetConfig): Promise<string> {
  const {stringify} = await import('yaml')
  const header = '# lora dataset config; keys are documented in the README ("Config keys").\n'
  // No `viewer` key: a dataset cannot choose a program (the user's own config does; README "Safety model").
  const written: Partial<DatasetConfig> = {...config}
  delete written.viewer
  // No `curate` key either: its defaults are the published ones (README "Curation"); a user adds what they change.
  delete written.curate
  return header + stringify(written)
}

/** What `scan` found. */
interface ScanResult {
  candidates: Candidate[]
  /**
   * Folders below the dataset folder that hold a `.lora-tagger` (other datasets' own folders), relative and
   * `/`-separated, outermost only, in natural order: nothing under them is a candidate (their files belong to
   * those datasets). Found with `--recursive` only (without it no subfolder is looked into).
   */
  otherDatasets: string[]
}

/**
 * Finds image files (by extension, any case) below `root`, skipping the dataset's own folders and, with
 * `recursive`, every folder below that is another dataset (holds a `.lora-tagger`) with all it holds: importing
 * its output folder or originals would take that dataset's images away from it (with `--move`, out of it). Entries
 * with an image name that are not regular files (symbolic links, FIFOs, sockets, devices, folders) are returned
 * with the reason they are not imported, so the summary lists them; they are never opened.
 */
async function scan(root: string, output: string, recursive: boolean): Promise<ScanResult> {
  const images = `${recursive ? '**/' : ''}*.{${IMAGE_EXTENSIONS.join(',')}}`
  // One walk finds the images and, below the top folder, other datasets' .lora-tagger entries (of any kind: a link
  // or a file of that name marks a folder lora must not take files from as well).
  const found = await findEntries(root, recursive ? [images, `**/${META_DIR}`] : images, [META_DIR, output])
  // The listing matches names in any case; a `.LORA-TAGGER` is taken as a mark too (the same folder on a file system
  // that ignores case), which at worst leaves a folder out.
  const isMark = (path: string) => basename(path).toLowerCase() === META_DIR
  const marks = found.filter((e) => isMark(e.path) && e.path.includes('/')).map((e) => dirname(e.path))
  const otherDatasets = naturalSort(marks).filter((d) => !marks.some((m) => m !== d && d.startsWith(`${m}/`)))
  const inOther = (path: string) => otherDatasets.some((d) => path.startsWith(`${d}/`))
  const entries = found.filter((e) => !isMark(e.path) && !inOther(e.path))
  const kinds = new Map(entries.map((e) => [e.path, e.kind]))
  const candidates = naturalSort(entries.map((e) => e.path)).map((source) => {
    const kind = kinds.get(source)
    const reason =
      kind === 'file'
        ? undefined
        : kind === 'symlink'
          ? 'a symbolic link; lora imports only regular files (copy the image itself into the folder)'
          : kind === 'folder'
            ? 'a folder, not an image file'
            : 'not a regular file (a FIFO, socket or device)'
    return {source, ext: extensionOf(source), ...(reason ? {probe: {ok: false as const, reason}} : {})}
  })
  return {candidates, otherDatasets}
}

/** The `problems` entry of `lora init` for a folder below that is another dataset (scan's `otherDatasets`). */
function otherDatasetProblem(folder: string): {source: string; reason: string} {
  return {
    source: `${folder}/`,
    reason: `another dataset (it has its own ${META_DIR}/); nothing in it is imported, as its images belong to that dataset`,
  }
}

interface ImportPlan {
  ops: JournalOp[]
  state: DatasetState
  vocabulary: Set<string>
  added: AddedImage[]
  duplicates: {source: string; of: string}[]
  problems: {source: string; reason: string}[]
}

/** Assigns numbers in natural order, finds duplicates and adopted captions, and builds the journal ops. */
async function planImport(
  dataset: Dataset,
  previous: DatasetState,
  fresh: Candidate[],
  mode: PlaceMode,
): Promise<ImportPlan> {
  const {config} = dataset
  const state: DatasetState = {
    ...previous,
    images: [...previous.images],
    duplicates: [...previous.duplicates],
    problems: previous.problems.filter((p) => !fresh.some((c) => c.source === p.source)),
  }
  const bySha = new Map(state.images.map((i) => [i.sha256, i.id]))
  const newcomers = fresh.filter((c) => c.probe?.ok && !bySha.has(c.sha256!))
  if (state.images.length === 0) state.padWidth = padWidthFor(new Set(newcomers.map((c) => c.sha256)).size)
  const ops: JournalOp[] = []
  const added: AddedImage[] = []
  const duplicates: ImportPlan['duplicates'] = []
  const problems: ImportPlan['problems'] = []
  const captionOps: JournalOp[] = []
  const vocabulary = new Set(await dataset.loadVocabulary())
  for (const c of fresh) {
    if (!c.probe?.ok) {
      const reason = c.probe && !c.probe.ok ? c.probe.reason : 'not read'
      problems.push({source: c.source, reason})
      continue
    }
    const of = bySha.get(c.sha256!)
    if (of) {
      duplicates.push({source: c.source, of})
      state.duplicates.push({source: c.source, sha256: c.sha256!, of})
      continue
    }
    // A caption beside the original whose tags hold a control or bidi character is not adopted, and its image waits
    // in the problems until the caption is fixed (README "Safety model").
    const found = await adoptCaption(dataset.root, c.source, config)
    if (found.odd) {
      problems.push({
        source: c.source,
        reason: `its caption ${found.file} is ${oddFileKindText(found.odd)}, not a regular file; lora does not read captions through it (replace it with a regular file or remove it, then run lora init again)`,
      })
      continue
    }
    if (found.problem !== undefined) {
      const fix = found.tooLarge
        ? "replace it with the image's tags or remove it"
        : captionEncodingFix(found.file!, found.problem)
      problems.push({
        source: c.source,
        reason: `its caption ${found.file} ${found.problem}; not imported: ${fix}, then run lora init again`,
      })
      continue
    }
    const unsafe = captionTagsProblem(found.tags)
    if (unsafe) {
      problems.push({
        source: c.source,
        reason: `its caption ${found.file}: ${unsafe}; remove that character from the caption, then run lora init again`,
      })
      continue
    }
    const n = state.nextNumber++
    const id = imageId(config.prefix, n, state.padWidth)
    const file = `${id}.${c.ext}`
    const captionName = dataset.captionFile(file)
    for (const name of [file, captionName]) {
      if (await exists(dataset.imagePath(name))) {
        throw new LoraError(
          `${dataset.rel(dataset.imagePath(name))} already exists and is not part of this dataset; nothing was changed.`,
          {
            code: 'target-exists',
            hint: `Move it out of ${config.output}/, or choose another output folder with --out.`,
          },
        )
      }
    }
    const adopted = styleTags(found.tags, config).filter((t) => t !== config.trigger)
    const tags = withTrigger(adopted, config.trigger ?? undefined)
    for (const t of adopted) vocabulary.add(t)
    const record: ImageRecord = {
      id,
      n,
      file,
      source: c.source,
      sha256: c.sha256!,
      bytes: c.bytes!,
      // A hard link (and a move, which links) keeps the original's mtime; a copy gets a new one, so none is recorded.
      ...(mode !== 'copy' && c.mtimeMs !== undefined ? {mtimeMs: c.mtimeMs} : {}),
      width: c.probe.info.width,
      height: c.probe.info.height,
      format: c.probe.info.format,
      status: adopted.length > 0 ? 'tagged' : 'pending',
      tags,
      updatedAt: adopted.length > 0 ? new Date().toISOString() : null,
      ...(c.prompt ? {prompt: c.prompt} : {}),
    }
    bySha.set(record.sha256, id)
    state.images.push(record)
    added.push({
      id,
      file,
      source: c.source,
      width: record.width,
      height: record.height,
      status: record.status,
      tags: adopted,
    })
    ops.push({
      op: 'place-image',
      source: c.source,
      target: dataset.rel(dataset.imagePath(file)),
      sha256: record.sha256,
      mode,
    })
    captionOps.push({
      op: 'create',
      path: dataset.rel(dataset.imagePath(captionName)),
      text: serializeCaption(tags, config.separator),
    })
  }
  for (const p of problems) state.problems.push(p)
  if (config.trigger) vocabulary.delete(config.trigger)
  for (const op of captionOps) ops.push(op)
  ops.push({
    op: 'write',
    path: dataset.rel(join(dataset.paths.output, VOCABULARY_FILE)),
    text: serializeVocabulary(vocabulary),
  })
  ops.push({op: 'write', path: dataset.rel(dataset.paths.state), text: serializeState(state)})
  return {ops, state, vocabulary, added, duplicates, problems}
}

/**
 * Tags from an existing caption next to the original: `stem<captionExtension>` first, then `stem.txt` and
 * `stem.caption` (the names kohya sd-scripts, TagGUI and WD14 taggers write). `file` is the caption read (relative
 * to the dataset folder), absent when there is none; `problem` says why it cannot be read as text (not UTF-8 or BOM-marked UTF-16,
 * or, with `tooLarge`, larger than CAPTION_MAX_BYTES: such a file is not read at all).
 */
async function adoptCaption(
  root: string,
  source: string,
  config: DatasetConfig,
): Promise<{tags: string[]; file?: string; odd?: OddFileKind; problem?: string; tooLarge?: boolean}> {
  const dir = source.includes('/') ? source.slice(0, source.lastIndexOf('/') + 1) : ''
  const stem = stemOf(source)
  const exts = [...new Set([config.captionExtension, '.txt', '.caption'])]
  for (const ext of exts) {
    let bytes: Uint8Array | undefined
    try {
      // Never through a symbolic link and never blocking (a FIFO, a link to /dev/zero or to a secret file):
      // such a caption is not adopted, and its image is listed as a problem (README "Safety model", rule 1).
      bytes = readRegularBytesIfExistsSync(join(root, dir + stem + ext), {maxBytes: CAPTION_MAX_BYTES})
    } catch (error) {
      // Nor one of more than 1 MiB (not a caption; it is not read at all): its image waits in the problems.
      if (error instanceof FileTooLargeError)
        return {tags: [], file: dir + stem + ext, problem: captionTooLargeProblem(error.size), tooLarge: true}
      if (error instanceof NotRegularFileError) {
        if (error.kind === 'folder') continue
        return {tags: [], file: dir + stem + ext, odd: error.kind}
      }
      // A caption name over the file-name limit, or a folder of that name, is simply no caption.
      if (isCode(error, 'ENAMETOOLONG', 'EISDIR', 'ENOTDIR', 'ELOOP', 'EACCES')) continue
      throw error
    }
    if (bytes === undefined) continue
    // Not UTF-8 or BOM-marked UTF-16: never adopted as mangled text; the image waits in the problems.
    const decoded = decodeCaption(bytes)
    if (decoded.problem !== undefined) return {tags: [], file: dir + stem + ext, problem: decoded.problem}
    return {tags: parseCaption(decoded.text, config.separator), file: dir + stem + ext}
  }
  return {tags: []}
}
