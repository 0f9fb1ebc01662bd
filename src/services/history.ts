/**
 * Dataset history in git: turning it on, undoing a change, and reading the tag-level history back (`lora log`,
 * `lora blame`); each change is committed by its write transaction (store/transaction.ts). What is committed: the
 * output folder (images, captions, tags.txt) and `.lora-tagger/` less its local files (lock, journal, session,
 * cache, reference vocabularies), which a `.gitignore` there keeps out.
 */
import {join, relative, sep} from 'node:path'
import {BugError, HistoryCaptionTooLargeError, LoraError, UsageError} from '../errors.js'
import {exists, WHOLE_READ_MAX_BYTES, writeFileAtomic} from '../adapters/fs.js'
import {
  checkGitReadsBelow,
  GitError,
  GitRepo,
  parseObjectSizes,
  statusPaths,
  runInFolder,
  runInFolderUntil,
  STOPPED,
} from '../adapters/git.js'
import {parseCaption} from '../core/caption.js'
import {CAPTION_MAX_BYTES, captionTooLargeProblem, overCapText} from '../core/caption-encoding.js'
import {type Dataset, readCaptionBytes, readOwnedText} from '../store/dataset.js'
import {randomBytes} from 'node:crypto'
import {
  type LoggedCommit,
  logFormat,
  parseLog,
  type TagEvent,
  tagEvents,
  TRAILER_CHANGE,
  TRAILER_UNDOES,
} from '../core/commit-message.js'
import {parseState, type DatasetState, type ImageRecord} from '../core/state.js'
import {parseVocabulary, serializeVocabulary} from '../core/vocabulary.js'
import {captionTagsProblem, type ControlCaption, controlCaptionsError, escapeControls} from '../core/terminal-text.js'
import {journalStateChange} from '../store/caption-files.js'
import type {JournalOp} from '../store/journal.js'
import {IMAGE_EXTENSIONS} from '../core/naming.js'
import {ignoreLinesFor} from '../core/gitignore.js'
import {
  datasetPathspecs,
  noHistoryError,
  requireRepository,
  type TransactionEdit,
  withWriteTransaction,
} from '../store/transaction.js'
import {resolveImageRef} from '../core/image-ref.js'
import {counted} from '../core/plural.js'

/** `.lora-tagger/.gitignore`: files that are local state, not dataset history. */
export const META_GITIGNORE = `# lora: local files, not part of the dataset's history
lock
journal.json
session.json
cache/
reference/
gallery/
.lora-tmp-*
`

/** The output folder's `.gitattributes`: images are binary (or LFS), captions diff as text. */
export function outputGitattributes(captionExtension: string, lfs: boolean): string {
  const image = lfs ? 'filter=lfs diff=lfs merge=lfs -text' : 'binary'
  return [
    '# lora: images are binary, captions and the vocabulary are text',
    ...IMAGE_EXTENSIONS.map((ext) => `*.${ext} ${image}`),
    `*${captionExtension} text eol=lf diff`,
    'tags.txt text eol=lf diff',
    '',
  ].join('\n')
}

/** What `lora git enable` (and `lora init --git`) did (`--json`, README "Dataset history in git"). */
export interface GitEnableReport {
  /** The repository's top-level folder: the enclosing repository's, or the dataset folder when `created`. */
  repository: string
  /** True when lora created the repository (there was no enclosing one). */
  created: boolean
  lfs: boolean
  /** The commit that recorded the dataset (full hash) and its subject; absent when nothing was committed. */
  commit?: string
  subject?: string
  /**
   * Files in the dataset folder git sees as untracked right after the commit (relative to the dataset folder,
   * `/`-separated), e.g. the originals `lora init` copied from; `[]` when `git status` shows nothing there.
   */
  untracked: string[]
  /** How many of `untracked` are originals `lora init` read: an image's, a duplicate's or a not-imported problem's source. */
  originals: number
  /** `.gitignore` lines for the dataset folder that would hide `untracked` (core/gitignore.ts); `[]` when none. */
  ignore: string[]
}

/**
 * Turns history on: uses the enclosing repository or creates one in the dataset folder, writes the ignore and
 * attribute files (never replacing ones it did not write), sets `git.autoCommit: true`, and commits the dataset,
 * as one write transaction (store/transaction.ts).
 * @param options.subject the commit subject; `{n} images` stands for the number of images (`1 image`, `3 images`)
 * @throws GitError without git, with `--lfs` but no git-lfs, or when the repository is mid-merge/locked
 * @throws DatasetBusyError when another writer holds the dataset; NotCommittedError when the commit failed
 */
export async function enableGit(dataset: Dataset, options: {lfs: boolean; subject: string}): Promise<GitEnableReport> {
  const {result, commit} = await withWriteTransaction(
    dataset,
    {command: 'lora git enable', history: {enable: {lfs: options.lfs}}},
    enableHistory(dataset, options),
  )
  return {...result, commit, subject: commit ? result.subject : undefined, ...(await leftUntracked(dataset))}
}

/**
 * What git sees as untracked in the dataset folder (right after history was turned on): the paths relative to the
 * dataset folder, how many are originals `lora init` read, and the `.gitignore` lines (for the dataset folder)
 * that would hide them. Untracked files elsewhere in an enclosing repository are not lora's and not listed.
 * @throws GitError when git fails
 */
export async function leftUntracked(
  dataset: Dataset,
): Promise<Pick<GitEnableReport, 'untracked' | 'originals' | 'ignore'>> {
  const repo = await GitRepo.open(dataset.root, dataset.gitFolders)
  if (!repo) return {untracked: [], originals: 0, ignore: []}
  const text = await repo.run(
    [
      '-c',
      'core.quotePath=false',
      'status',
      '--porcelain=v1',
      '-z',
      '--untracked-files=all',
      '--',
      relative(repo.top, dataset.root) || '.',
    ],
    'read the status',
  )
  const untracked = text
    .split('\0')
    .filter((e) => e.startsWith('?? '))
    .map((e) =>
      relative(dataset.root, join(repo.top, e.slice(3)))
        .split(sep)
        .join('/'),
    )
    .sort()
  const state = await dataset.loadState()
  const sources = new Set([...state.images, ...state.duplicates, ...state.problems].map((r) => r.source))
  // Only what lies outside lora's own folders is suggested for ignoring: lora commits those.
  const own = [dataset.paths.output, dataset.paths.meta].map(
    (p) => relative(dataset.root, p).split(sep).join('/') + '/',
  )
  return {
    untracked,
    originals: untracked.filter((p) => sources.has(p)).length,
    ignore: ignoreLinesFor(untracked.filter((p) => !own.some((o) => p.startsWith(o)))),
  }
}

/**
 * The edit that turns history on (enableGit); for a transaction prepared with `history: {enable: {lfs}}`, which
 * checks before anything changes that it can, and commits the dataset after it.
 */
export function enableHistory(
  dataset: Dataset,
  options: {lfs: boolean; subject: string},
): TransactionEdit<Pick<GitEnableReport, 'repository' | 'created' | 'lfs'> & {subject: string}> {
  return async () => {
    let repo = await GitRepo.open(dataset.root, dataset.gitFolders)
    const created = !repo
    if (!repo) repo = await GitRepo.init(dataset.root)
    // The filter in the repository's own config; no hooks (--skip-repo): lora runs no repository hook (README
    // "Safety model"), and git-lfs's hooks serve pushes and file locking, which lora's commits do not need.
    if (options.lfs) await repo.run(['lfs', 'install', '--local', '--skip-repo'], 'set up git-lfs')
    await writeIfMissing(join(dataset.paths.meta, '.gitignore'), META_GITIGNORE)
    await writeIfMissing(join(dataset.paths.output, '.gitignore'), '.lora-tmp-*\n')
    await writeIfMissing(
      join(dataset.paths.output, '.gitattributes'),
      outputGitattributes(dataset.config.captionExtension, options.lfs),
    )
    await setAutoCommit(dataset, true)
    const state = await dataset.loadState()
    const subject = options.subject.replace('{n} images', counted(state.images.length, 'image'))
    return {
      result: {repository: repo.top, created, lfs: options.lfs, subject},
      message: {
        subject,
        kind: 'init',
        images: state.images.map((i) => i.id),
      },
    }
  }
}

async function writeIfMissing(path: string, text: string): Promise<void> {
  if (!(await exists(path))) await writeFileAtomic(path, text)
}

/** Sets `git.autoCommit` in config.yaml, keeping the rest of the file (and its comments) as it is. */
async function setAutoCommit(dataset: Dataset, on: boolean): Promise<void> {
  const {parseDocument} = await import('yaml')
  const doc = parseDocument(readOwnedText(dataset.root, dataset.paths.config, 'config file') ?? '')
  doc.setIn(['git', 'autoCommit'], on)
  await writeFileAtomic(dataset.paths.config, doc.toString())
}

/**
 * Maps a caption path, relative to `base` (the repository's top, or the dataset folder for `datasetLog`'s output),
 * to its image id, or undefined for other files.
 */
function captionMapper(dataset: Dataset, base: string): (path: string) => string | undefined {
  const out = relative(base, dataset.paths.output)
  const prefix = out ? out + '/' : ''
  const ext = dataset.config.captionExtension
  return (path) => {
    if (!path.startsWith(prefix)) return undefined
    const name = path.slice(prefix.length)
    if (name.includes('/') || !name.endsWith(ext) || name === 'tags.txt') return undefined
    return name.slice(0, -ext.length)
  }
}

/** Options of `lora log`. */
export interface LogOptions {
  /** Only this image's caption: the image as typed (number, id, file name or path; see core/image-ref.ts). */
  image?: string
  /** Only events adding or removing this tag. */
  tag?: string
  limit?: number
  /** The folder `image` paths are relative to. */
  cwd: string
}

/** `lora log --json`. */
export interface LogReport {
  events: TagEvent[]
}

/**
 * Tag-level history, newest first, from the caption files' diffs in git (commits made by hand count too), with the
 * skips (and skips taken back) read from state.json's diffs; with `tag`, only the events adding or removing it.
 * @throws UsageError when `image` matches no image; GitError when the dataset is not in a git repository
 */
export async function tagLog(dataset: Dataset, options: LogOptions): Promise<LogReport> {
  const image = options.image === undefined ? undefined : await findImage(dataset, options.image, options.cwd)
  // Paths relative to the dataset folder, both ways (datasetLog).
  const captionPath = image ? join(dataset.paths.output, dataset.captionFile(image.file)) : undefined
  const pathspec = captionPath
    ? toGitPath(relative(dataset.root, captionPath))
    : `:(glob)${toGitPath(relative(dataset.root, dataset.paths.output)) || '.'}/*${dataset.config.captionExtension}`
  // state.json too: a skip changes only the image's record there (one line per image, core/state.ts).
  const statePath = toGitPath(relative(dataset.root, dataset.paths.state))
  const commits = await datasetLog(dataset, [pathspec, statePath])
  let events = tagEvents(commits, captionMapper(dataset, dataset.root), dataset.config.separator, statePath)
  if (image) events = events.filter((e) => e.id === image.id)
  if (options.tag) events = events.filter((e) => e.added.includes(options.tag!) || e.removed.includes(options.tag!))
  if (options.limit !== undefined) events = events.slice(0, options.limit)
  return {events}
}

/**
 * `git log -p` of `pathspecs`, which are relative to the dataset folder, as are the paths in its output
 * (`--relative`), run in the dataset folder, which finds the repository itself (adapters/git.ts runInFolder; asking
 * for the repository first was a process of its own). No caption version larger than CAPTION_MAX_BYTES is read
 * whole (a repository from elsewhere may hold a multi-GB blob named like a caption). In the common case this is one
 * git process: the `git log -p`, its output watched as it comes and git stopped as soon as one file's diff shows
 * more than the cap of one version of it (or passes DIFF_WATCH_MAX_BYTES in all; state.json is not watched:
 * diffWatch). (`core.bigFileThreshold` cannot do it: lora's own
 * output/.gitattributes gives the captions the `diff` attribute, and git then diffs them as text whatever their
 * size.) Only when it was stopped, cappedLog reads the history again, each version's size known before it is read.
 * A change that shows less than the cap of a version past it (a line edited in it) is read as its lines, as any
 * change: at most the cap of one file's diff is held either way.
 * When the first `git log` fails, the
 * repository is opened as before, so its errors read as they did (no repository, git not installed, a repository
 * git refuses), and a second process, `rev-list -n 1 --all`, tells a repository with no commit yet (where `git
 * log` fails; its history is '') from a real failure.
 * @param extra more `git log` options (`--reverse`)
 */
async function datasetLog(dataset: Dataset, pathspecs: string[], extra: string[] = []): Promise<LoggedCommit[]> {
  const mark = logMark()
  const statePath = toGitPath(relative(dataset.root, dataset.paths.state))
  const watch = diffWatch(statePath)
  let text: string | undefined | typeof STOPPED
  try {
    text = await runInFolderUntil(
      dataset.root,
      logArgs(['--relative', ...extra], pathspecs, mark),
      'read the history',
      dataset.gitFolders,
      watch.stop,
    )
  } catch (error) {
    const repo = await requireRepository(dataset)
    const hasCommits = await repo.run(['rev-list', '-n', '1', '--all'], 'read the history').then((t) => t.trim() !== '')
    if (!hasCommits) return []
    throw error
  }
  if (text === undefined) throw noHistoryError(dataset)
  if (text === STOPPED || watch.done()) return cappedLog(dataset, pathspecs, extra, mark)
  return parseLog(text, mark)
}

/**
 * How much of one file's `git log -p --unified=0` diff datasetLog takes before it stops git: a change between two
 * versions within CAPTION_MAX_BYTES is at most the lines of both, each with a `+` or `-`, plus hunk headers.
 */
const DIFF_WATCH_MAX_BYTES = 4 * CAPTION_MAX_BYTES + 64 * 1024

/**
 * A watch on `git log -p --unified=0` output, as it comes (`stop`, runInFolderUntil's): it says to stop git once
 * the lines one file's diff shows of one version, before or after (`-` or `+` lines, without that sign; git's `\ No
 * newline at end of file` taken off), pass CAPTION_MAX_BYTES, or once the whole diff of one file (from its `diff
 * --git` line to the next) passes DIFF_WATCH_MAX_BYTES; state.json's (`statePath`: one line per image, not capped)
 * is not watched. While a version's lines are within one byte of the cap it waits for the end of its file's diff
 * (the next `diff --git`, commit, or `done` at the end of the output) to tell. Keeps only a line's first bytes.
 */
function diffWatch(statePath: string): {stop: (chunk: Buffer) => boolean; done: () => boolean} {
  const header = Buffer.from('diff --git ')
  const stateHeader = Buffer.from(`diff --git a/${statePath} b/${statePath}\n`)
  const [plus, minus, at, backslash, recordStart] = [0x2b, 0x2d, 0x40, 0x5c, 0x1e]
  let head = Buffer.alloc(0) // the current line's first bytes, enough to tell a file's header
  let first = -1 // the current line's first byte; -1 before it comes
  let watching = false
  let inHunk = false
  let bytes = 0
  // Per side: the bytes of its lines (signs and newlines included), the lines, and the last line's side.
  const side = {[plus]: {bytes: 0, lines: 0}, [minus]: {bytes: 0, lines: 0}}
  let lastSide: number | undefined
  const shown = (s: {bytes: number; lines: number}) => s.bytes - s.lines
  const over = (slack: number) =>
    watching && (shown(side[plus]) > CAPTION_MAX_BYTES + slack || shown(side[minus]) > CAPTION_MAX_BYTES + slack)
  const reset = (watch: boolean) => {
    watching = watch
    inHunk = false
    bytes = 0
    for (const s of Object.values(side)) Object.assign(s, {bytes: 0, lines: 0})
    lastSide = undefined
  }
  const stop = (chunk: Buffer): boolean => {
    for (let from = 0; from < chunk.length;) {
      const newline = chunk.indexOf(0x0a, from)
      const end = newline < 0 ? chunk.length : newline + 1
      if (first < 0) {
        first = chunk[from]
        if (first === recordStart || first === 0x64) {
          // A commit, or a file's `diff --git` line (no line of a diff starts with `d`): the file before it ends.
          if (over(0)) return true
        }
        if (watching && inHunk && (first === plus || first === minus)) {
          side[first].lines++
          lastSide = first
        } else if (watching && inHunk && first === backslash && lastSide !== undefined) side[lastSide].bytes--
      }
      if (head.length < stateHeader.length)
        head = Buffer.concat([head, chunk.subarray(from, Math.min(end, from + stateHeader.length - head.length))])
      const n = end - from
      if (watching) {
        bytes += n
        if (inHunk && (first === plus || first === minus)) side[first].bytes += n
      }
      if (newline >= 0) {
        if (first === recordStart) reset(false)
        else if (head.subarray(0, header.length).equals(header)) reset(!head.equals(stateHeader))
        else if (first === at) inHunk = true
        head = Buffer.alloc(0)
        first = -1
      }
      if (bytes > DIFF_WATCH_MAX_BYTES || over(1)) return true
      from = end
    }
    return false
  }
  return {stop, done: () => over(0)}
}

/**
 * The history as datasetLog gives it, read without taking any caption version larger than CAPTION_MAX_BYTES: a
 * `git log --raw` first lists each commit's files and blobs, and `git cat-file --batch-check` their sizes (no
 * content); a caption with a version past the cap is left out of the `git log -p` (`:(exclude,literal)`), and its
 * versions within the cap are read one by one (`cat-file blob`), whole, as the file's removed and added lines, its
 * change to or from a larger version marked `tooLarge` (core/commit-message.ts LoggedCommit). Three git processes,
 * more only for such a caption; run only when datasetLog's watch stopped its `git log -p`.
 */
async function cappedLog(
  dataset: Dataset,
  pathspecs: string[],
  extra: string[],
  mark: string,
): Promise<LoggedCommit[]> {
  const read = (args: string[], input?: string) =>
    runInFolder(dataset.root, args, 'read the history', dataset.gitFolders, input)
  const listing = await read(rawLogArgs(['--relative', ...extra], pathspecs, mark))
  if (listing === undefined) throw noHistoryError(dataset)
  // The caption versions' sizes, before any is read: a repository from elsewhere may hold a huge one.
  const listed = parseRawLog(listing, mark)
  const isCaption = captionMapper(dataset, dataset.root)
  const blobs = [
    ...new Set(listed.flatMap((c) => c.entries.filter((e) => isCaption(e.path)).flatMap((e) => [e.before, e.after]))),
  ].filter((b) => !isNullBlob(b))
  const sizes = new Map<string, number>()
  if (blobs.length > 0) {
    const text = await read(['cat-file', '--batch-check=%(objectsize)'], blobs.map((b) => b + '\n').join(''))
    parseObjectSizes(text ?? '', blobs.length).forEach((size, i) => {
      if (size !== undefined && size > CAPTION_MAX_BYTES) sizes.set(blobs[i], size)
    })
  }
  const large = new Set(
    listed.flatMap((c) => c.entries.filter((e) => sizes.has(e.before) || sizes.has(e.after)).map((e) => e.path)),
  )
  const excluded = [...large].map((path) => `:(exclude,literal)${path}`)
  const text = await read(logArgs(['--relative', ...extra], [...pathspecs, ...excluded], mark))
  const commits = parseLog(text ?? '', mark)
  if (large.size === 0) return commits
  // A caption with a version too large: each of its versions read on its own (those within the cap), none diffed.
  const diffed = new Map(commits.map((c) => [c.hash, c]))
  const lines = async (blob: string): Promise<string[]> =>
    isNullBlob(blob) || sizes.has(blob) ? [] : ((await read(['cat-file', 'blob', blob])) ?? '').split('\n')
  const all: LoggedCommit[] = []
  for (const c of listed) {
    const files = [...(diffed.get(c.commit.hash)?.files ?? [])]
    for (const e of c.entries.filter((entry) => large.has(entry.path))) {
      const tooLarge = Math.max(sizes.get(e.before) ?? 0, sizes.get(e.after) ?? 0)
      files.push({
        path: e.path,
        removed: await lines(e.before),
        added: await lines(e.after),
        ...(tooLarge > 0 ? {tooLarge} : {}),
      })
    }
    all.push({...c.commit, files})
  }
  return all
}

/** The all-zero blob name `git log --raw` gives the side of a file that does not exist (added or deleted). */
function isNullBlob(blob: string): boolean {
  return /^0+$/u.test(blob)
}

/** `git log --raw` as datasetLog reads it: each commit (no files yet) and the files it changed, with their blobs. */
interface RawLogged {
  commit: LoggedCommit
  entries: {path: string; before: string; after: string}[]
}

/**
 * Parses `git log --format=<logFormat(mark)> --raw -z --no-abbrev` (rawLogArgs): after each commit's header, a NUL,
 * then one `:<mode> <mode> <blob> <blob> <status> NUL <path> NUL` per file (git-diff(1), "Raw output format").
 */
function parseRawLog(text: string, mark: string): RawLogged[] {
  const out: RawLogged[] = []
  for (const record of text.split(`\x1eCOMMIT${mark}\x1f`).slice(1)) {
    const end = record.indexOf('\0')
    const [commit] = parseLog(`\x1eCOMMIT${mark}\x1f${end < 0 ? record : record.slice(0, end)}`, mark)
    const entries: RawLogged['entries'] = []
    const entry = /:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) [A-Z]\d*\0([^\0]*)\0/gu
    for (const m of (end < 0 ? '' : record.slice(end)).matchAll(entry))
      entries.push({before: m[1], after: m[2], path: m[3]})
    out.push({commit, entries})
  }
  return out
}

/** The arguments of the `git log --raw` that datasetLog reads first: logArgs' commits, each file's blobs, no diff. */
function rawLogArgs(extra: string[], pathspecs: string[], mark: string): string[] {
  return [
    'log',
    `--format=${logFormat(mark)}`,
    '--raw',
    '-z',
    '--no-abbrev',
    '--root',
    '--no-renames',
    ...extra,
    '--',
    ...pathspecs,
  ]
}

/**
 * A word no commit's text can be made to contain but by chance (16 random hex digits), marking the records and
 * fields of one `git log` run (core/commit-message.ts logFormat; commitsOf).
 */
function logMark(): string {
  return randomBytes(8).toString('hex')
}

/** A path as git takes it in a pathspec and prints it: `/`-separated. */
function toGitPath(path: string): string {
  return path.split(sep).join('/')
}

/** The arguments of `git log -p` that `lora log` and `lora blame` read (core/commit-message.ts parseLog). */
function logArgs(extra: string[], pathspecs: string[], mark: string): string[] {
  // --no-ext-diff --no-textconv: the captions' own text, and no diff program that a dataset's committed
  // .gitattributes could select from the user's git config (README "Safety model"). --root and the prefixes: the
  // first commit (often the import, `lora: init`) shows its diff and paths read `a/…` `b/…` whatever the user's
  // log.showRoot, diff.noprefix or diff.mnemonicPrefix say.
  return [
    '-c',
    'core.quotePath=false',
    'log',
    `--format=${logFormat(mark)}`,
    '-p',
    '--root',
    '--src-prefix=a/',
    '--dst-prefix=b/',
    '--unified=0',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '--no-renames',
    ...extra,
    '--',
    ...pathspecs,
  ]
}

/**
 * One line of `lora blame`: a tag and the commit that last added it (its hash, author date, author and subject,
 * as in a `lora log` event), all null when the tag is not committed yet.
 */
export interface BlameLine {
  tag: string
  commit: string | null
  date: string | null
  author: string | null
  subject: string | null
}

/** `lora blame --json`: the image's id and one line per tag of its caption, in caption order. */
export interface BlameReport {
  id: string
  tags: BlameLine[]
  /**
   * Only when the caption's history holds a version larger than lora reads for a caption: each commit that changed
   * the caption to or from such a version, the file and that version's size; tags are blamed on commits after it.
   */
  tooLarge?: {commit: string; path: string; size: number}[]
}

/**
 * For each tag in the image's caption, the commit that added it (`lora blame`).
 * @param options.image the image as typed (number, id, file name or path); `cwd` is what paths are relative to
 * @throws UsageError when `image` matches no image; GitError when the dataset is not in a git repository
 */
export async function blameImage(dataset: Dataset, options: {image: string; cwd: string}): Promise<BlameReport> {
  const image = await findImage(dataset, options.image, options.cwd)
  const path = join(dataset.paths.output, dataset.captionFile(image.file))
  const commits = await datasetLog(dataset, [toGitPath(relative(dataset.root, path))], ['--reverse'])
  const since = new Map<string, Omit<BlameLine, 'tag'>>()
  const tooLarge: BlameReport['tooLarge'] = []
  for (const c of commits) {
    for (const f of c.files) {
      // A version too large to read: its tags are unknown, so no tag is blamed on a commit before it.
      if (f.tooLarge !== undefined) {
        since.clear()
        tooLarge.push({commit: c.hash, path: f.path, size: f.tooLarge})
      }
      const before = new Set(parseCaption(f.removed.join('\n'), dataset.config.separator))
      const after = parseCaption(f.added.join('\n'), dataset.config.separator)
      for (const t of before) if (!after.includes(t)) since.delete(t)
      for (const t of after)
        if (!before.has(t)) since.set(t, {commit: c.hash, date: c.date, author: c.author, subject: c.subject})
    }
  }
  const current = parseCaption((await dataset.readCaption(image.file)) ?? '', dataset.config.separator)
  const uncommitted = {commit: null, date: null, author: null, subject: null}
  return {
    id: image.id,
    tags: current.map((tag) => ({tag, ...(since.get(tag) ?? uncommitted)})),
    ...(tooLarge.length > 0 ? {tooLarge} : {}),
  }
}

/** The image a reference names (core/image-ref.ts). @throws UsageError when it names none */
async function findImage(dataset: Dataset, ref: string, cwd: string): Promise<ImageRecord> {
  return resolveImageRef((await dataset.loadState()).images, ref, {
    cwd,
    root: dataset.root,
    outputDir: dataset.paths.output,
  })
}

/**
 * Caption files with changes not committed (for `lora status`), relative to the output folder: changed, staged,
 * untracked, and untracked ones a `.gitignore` rule hides from git (they are not committed either, and never will
 * be while the rule stands); undefined when history is off or the dataset is in no repository.
 * @throws GitError when git fails (not installed, a broken repository): that is not "no history"; when a
 *   `.gitignore` or `.gitattributes` in the output folder or below is not a regular file (checkGitReadsBelow)
 */
export async function uncommittedCaptions(dataset: Dataset): Promise<string[] | undefined> {
  if (!dataset.config.git.autoCommit) return undefined
  const repo = await GitRepo.open(dataset.root, dataset.gitFolders)
  if (!repo) return undefined
  // git walks the output folder's subfolders, reading their `.gitignore`.
  await checkGitReadsBelow([dataset.paths.output])
  const out = relative(repo.top, dataset.paths.output) || '.'
  const pathspec = `:(glob)${out}/*${dataset.config.captionExtension}`
  // One git process for both the changed or untracked captions and the ignored ones (`--ignored` with
  // `--untracked-files=all` names each ignored file, also inside an ignored folder, as `ls-files --others --ignored
  // --exclude-standard` does). `--branch` makes git always print a line (`## main`): simple-git waits 50 ms more after
  // a git that printed nothing (see adapters/git.ts `client`), which every `lora status` of a clean dataset paid twice.
  const text = await repo.run(
    [
      '-c',
      'core.quotePath=false',
      'status',
      '--porcelain=v1',
      '-z',
      '--branch',
      '--untracked-files=all',
      '--ignored',
      '--',
      pathspec,
    ],
    'read the status',
  )
  const paths = statusPaths(text)
  return [
    ...new Set(
      paths
        .filter((p) => !p.endsWith('/tags.txt') && p !== 'tags.txt')
        .map((p) => relative(dataset.paths.output, join(repo.top, p))),
    ),
  ]
}

/** `lora undo` result (`--json` shape, README "Dataset history in git"). */
export interface UndoReport {
  /** The full hash of the commit undone, and its subject. */
  reverted: string
  subject: string
  /** The new commit (`undo 3f2a9c1: …`, trailer `Lora-Undoes: <reverted>`); undefined when nothing was committed. */
  commit?: string
  /** Ids of the images whose captions or status went back. */
  images: string[]
  /** Files the undone commit changed outside the dataset (repository-relative): left as they are. */
  outside: string[]
  /** Warnings given before committing (a detached HEAD). */
  warnings: string[]
}

/** A commit `lora undo` cannot undo because it is already undone (exit 1); names it and the undo commit. */
export class AlreadyUndoneError extends LoraError {
  constructor(target: {hash: string; subject: string}, by: {hash: string; subject: string}) {
    super(`${described(target)} is already undone, by ${described(by)}; nothing was changed.`, {
      code: 'already-undone',
      hint: `To bring it back, undo the undo: lora undo ${by.hash.slice(0, 7)}. To undo the next older change instead: lora undo.`,
    })
  }
}

/** `3f2a9c1 "tag img_0001: +a"`: a commit as the undo messages name it (short hash, subject escaped). */
function described(c: {hash: string; subject: string}): string {
  return `${c.hash.slice(0, 7)} "${escapeControls(c.subject)}"`
}

/** The hint of the undo refusals that need another commit named. */
const GIVE_A_COMMIT =
  'Give a commit from `lora log` (a hash such as 3f2a9c1), or run `lora undo` alone to undo the newest change.'

/**
 * Undoes a commit (default: the newest lora change not undone yet, skipping undo commits: an undo stack) on the
 * dataset's files only: each caption the commit changed goes back to its text before the commit, provided it
 * still holds the commit's text (otherwise a later change conflicts, and nothing changes); the status of each
 * image whose record the commit changed goes back likewise; the state's copy of the tags and tags.txt are then
 * rebuilt from the captions (derived data, never merged by git). Changes of the commit outside the dataset are
 * left as they are and listed in `outside`. Nothing in git is reset, aborted or reverted: the result is written as
 * one journaled change and committed by pathspec with a `Lora-Undoes: <hash>` trailer, in one write transaction
 * (store/transaction.ts), committed in the enclosing repository whatever `git.autoCommit` says.
 * @param options.target the commit to undo, as given (`3f2a9c1`); default the newest lora change not undone
 * @param options.onWarning called before committing, e.g. when HEAD is detached
 * @throws UsageError (exit 2) for an unknown commit, one outside the current branch, or one that changed nothing in
 *   the dataset; or when there is no lora change left to undo
 * @throws AlreadyUndoneError (exit 1) when the commit is already undone
 * @throws GitError when captions have uncommitted changes, a caption conflicts with a later commit (naming the
 *   images and that commit), or the commit adds, removes or replaces files other than captions (an import)
 * @throws DatasetBusyError when another writer holds the dataset; NotCommittedError when the undo is saved but
 *   its commit failed
 */
export async function undoCommit(
  dataset: Dataset,
  options: {target?: string; onWarning?: (text: string) => void} = {},
): Promise<UndoReport> {
  const warnings: string[] = []
  const {result, commit} = await withWriteTransaction(
    dataset,
    {
      command: 'lora undo',
      history: 'repository',
      // A detached HEAD is warned about before the commit (store/transaction.ts); the report lists it too.
      onWarning: (text) => {
        warnings.push(text)
        options.onWarning?.(text)
      },
    },
    async (tx) => {
      const repo = tx.repo
      if (!repo) throw new BugError('lora undo ran without its repository.')
      const pathspecs = datasetPathspecs(dataset, repo)
      const target =
        options.target === undefined
          ? await nextToUndo(repo, pathspecs)
          : await resolveTarget(repo, pathspecs, options.target)
      const dirty = await uncommittedCaptionsOf(dataset, repo)
      if (dirty.length > 0) {
        throw new GitError(
          `Not undoing: captions have uncommitted changes (${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ', …' : ''}), which the undo could overwrite. Nothing was changed.`,
          'Commit them (`lora status --rescan` takes them in and commits them) or discard them (`git restore <file>`), then run lora undo again.',
        )
      }
      const plan = await planUndo(dataset, repo, target)
      const images = plan.images
      const message = {
        subject: `undo ${target.hash.slice(0, 7)}: ${target.subject}`,
        kind: 'undo',
        images,
        undoes: target.hash,
      }
      await journalStateChange(tx, {
        kind: 'undo',
        ops: plan.ops,
        state: plan.state,
        stateChanged: plan.stateChanged,
        vocabulary: plan.vocabulary,
        vocabularyBefore: plan.vocabularyBefore,
        // Recorded in the journal: an undo interrupted and finished by the next command keeps its trailer.
        commit: message,
      })
      return {
        result: {reverted: target.hash, subject: target.subject, images, outside: plan.outside},
        message,
      }
    },
  )
  return {...result, commit, warnings}
}

/** A commit as `lora undo` reads it: hash, subject, and its `Lora-Change` / `Lora-Undoes` trailers. */
interface UndoCommitInfo {
  hash: string
  subject: string
  change: string
  undoes: string
}

/**
 * The commits `git log args` lists, newest first, with their subject and lora trailers. Records and fields are
 * marked with a random word (logMark): a subject or trailer holding separator bytes cannot make a commit of its own
 * or move a field (a forged `Lora-Undoes` would hide a real change from `lora undo`).
 */
async function commitsOf(repo: GitRepo, args: string[]): Promise<UndoCommitInfo[]> {
  const mark = logMark()
  const field = `%x1f${mark}%x1f`
  const format = `%H${field}%s${field}%(trailers:key=${TRAILER_CHANGE},valueonly,separator=%x2c)${field}%(trailers:key=${TRAILER_UNDOES},valueonly,separator=%x2c)%x1e${mark}%x1e`
  const text = await repo.run(['log', `--format=${format}`, ...args], 'read the history')
  return text
    .split(`\x1e${mark}\x1e`)
    .map((r) => r.replace(/^\n/u, ''))
    .filter((r) => r.includes(`\x1f${mark}\x1f`))
    .map((r) => {
      const [hash, subject, change, undoes] = r.split(`\x1f${mark}\x1f`)
      return {hash, subject, change: change.trim(), undoes: undoes.trim()}
    })
}

/**
 * Walks the dataset's commits newest first, as an undo stack: an undo commit (not itself undone) marks the commit
 * it undoes; undo commits and undone commits are skipped. Calls `visit` with each commit and the undo commit that
 * undoes it (if any), until `visit` returns true.
 */
async function walkUndoStack(
  repo: GitRepo,
  pathspecs: string[],
  visit: (c: UndoCommitInfo, undoneBy: UndoCommitInfo | undefined) => boolean,
): Promise<void> {
  if (!(await repo.hasHead())) return
  const undoneBy = new Map<string, UndoCommitInfo>()
  for (const c of await commitsOf(repo, ['HEAD', '--', ...pathspecs])) {
    if (visit(c, undoneBy.get(c.hash))) return
    if (c.change === 'undo' && c.undoes && !undoneBy.has(c.hash)) undoneBy.set(c.undoes, c)
  }
}

/** The newest lora change not undone yet. @throws UsageError when there is none (or it is an import, `init`) */
async function nextToUndo(repo: GitRepo, pathspecs: string[]): Promise<UndoCommitInfo> {
  let found: UndoCommitInfo | undefined
  await walkUndoStack(repo, pathspecs, (c, by) => {
    if (!by && c.change && c.change !== 'undo') found = c
    return found !== undefined
  })
  // The import of the images (`init`) is where the stack ends: undo reverts tag changes, not imports.
  if (!found || found.change === 'init') {
    throw new UsageError(
      found
        ? `Nothing left to undo: the next older lora change, ${described(found)}, is where this history of the images starts (their import, or history turned on), and lora undo does not undo that.`
        : 'Nothing left to undo: every lora change in this history is undone already (or there is none).',
      'See `lora log` for the history; `lora undo <commit>` undoes a given tag change, and an undo commit can be undone to bring its change back.',
    )
  }
  return found
}

/**
 * The commit `ref` names, checked: it exists, is in the current branch's history, touched the dataset, and is not
 * undone already.
 * @throws UsageError, AlreadyUndoneError
 */
async function resolveTarget(repo: GitRepo, pathspecs: string[], ref: string): Promise<UndoCommitInfo> {
  const shown = escapeControls(ref)
  const hash = ref.startsWith('-')
    ? ''
    : (await repo.run(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], 'find the commit')).trim()
  if (!hash)
    throw new UsageError(`Unknown commit "${shown}": no commit of that name in this repository.`, GIVE_A_COMMIT)
  const base = (await repo.hasHead())
    ? (await repo.run(['merge-base', hash, 'HEAD'], 'compare the commit with HEAD').catch(() => '')).trim()
    : ''
  if (base !== hash)
    throw new UsageError(
      `Commit "${shown}" is not in the history of the current branch, so its change is not here to undo.`,
      GIVE_A_COMMIT,
    )
  const [info] = await commitsOf(repo, ['-1', hash])
  const touches =
    (await repo.run(['log', '-1', '--format=%H', hash, '--', ...pathspecs], 'read the commit')).trim() === hash
  if (!touches)
    throw new UsageError(
      `Commit "${shown}" ("${escapeControls(info.subject)}") changed nothing in this dataset, so there is nothing to undo.`,
      GIVE_A_COMMIT,
    )
  let by: UndoCommitInfo | undefined
  await walkUndoStack(repo, pathspecs, (c, undoneBy) => {
    if (c.hash === hash) by = undoneBy
    return c.hash === hash
  })
  if (by) throw new AlreadyUndoneError(info, by)
  return info
}

/** What an undo writes: the caption ops, the rebuilt state and vocabulary, the images and the files left out. */
interface UndoPlan {
  ops: JournalOp[]
  state: DatasetState
  stateChanged: boolean
  vocabulary: Set<string>
  vocabularyBefore: string
  images: string[]
  outside: string[]
}

/**
 * Plans the undo of `target` on the working files: every check is made before anything is written.
 * @throws GitError for a caption conflict (naming the images and the later commit), a merge commit, or a commit
 *   that adds, removes or replaces files other than captions in the dataset
 * @throws LoraError `caption-control` when a caption it would bring back holds a tag with a control or bidi
 *   character (core/terminal-text.ts captionTagsProblem), naming the image and the caption file
 */
async function planUndo(dataset: Dataset, repo: GitRepo, target: UndoCommitInfo): Promise<UndoPlan> {
  const short = target.hash.slice(0, 7)
  const parents = (await repo.run(['rev-list', '--parents', '-n', '1', target.hash], 'read the commit'))
    .trim()
    .split(' ')
    .slice(1)
  if (parents.length > 1)
    throw new GitError(
      `Cannot undo ${described(target)}: it is a merge commit, and lora undo undoes single changes. Nothing was changed.`,
      'Undo the changes the merge brought in one by one (`lora log` lists them).',
    )
  const parent = parents[0]
  const changed = (
    await repo.run(
      [
        '-c',
        'core.quotePath=false',
        'diff-tree',
        '-r',
        '-z',
        '--no-renames',
        '--no-commit-id',
        '--name-status',
        '--root',
        target.hash,
      ],
      'read the commit',
    )
  )
    .split('\0')
    .filter(Boolean)
  const files: {status: string; path: string}[] = []
  for (let i = 0; i + 1 < changed.length; i += 2) files.push({status: changed[i], path: changed[i + 1]})

  const out = relative(repo.top, dataset.paths.output)
  const meta = relative(repo.top, dataset.paths.meta)
  const inside = (path: string, dir: string) => dir === '' || path === dir || path.startsWith(dir + '/')
  const statePath = relative(repo.top, dataset.paths.state)
  const vocabularyPath = relative(repo.top, dataset.paths.vocabulary)
  const captionOf = captionMapper(dataset, repo.top)
  const state = await dataset.loadState()
  const byId = new Map(state.images.map((image, index) => [image.id, index]))

  const outside: string[] = []
  const captions: {path: string; id: string; before: string}[] = []
  const others: string[] = []
  let stateTouched = false
  let vocabularyTouched = false
  for (const f of files) {
    if (!inside(f.path, out) && !inside(f.path, meta)) outside.push(f.path)
    else if (f.path === statePath) stateTouched = true
    else if (f.path === vocabularyPath) vocabularyTouched = true
    else if (f.status === 'M' && captionOf(f.path) && byId.has(captionOf(f.path)!))
      captions.push({path: f.path, id: captionOf(f.path)!, before: ''})
    else if (inside(f.path, meta) && f.status === 'M')
      continue // config.yaml and other settings: kept as they are now
    else others.push(f.path)
  }
  if (others.length > 0) {
    throw new GitError(
      `Cannot undo ${described(target)}: it adds, removes or replaces files other than captions in the dataset (${others
        .slice(0, 3)
        .map((o) => escapeControls(o))
        .join(', ')}${others.length > 3 ? ', …' : ''}), and lora undo undoes tag changes only. Nothing was changed.`,
      `Undo a later tag change instead, or undo this one by hand: git revert ${short}.`,
    )
  }

  // Both versions of every caption, and of state.json and tags.txt when the commit changed them (state.json only
  // with a parent), are read by one git process, after one more has given their sizes: a repository from elsewhere
  // may hold a huge blob named like one of them (captions past CAPTION_MAX_BYTES, the others past
  // WHOLE_READ_MAX_BYTES are refused, nothing of them read).
  const captionVersions = [
    ...captions.map((c) => ({rev: target.hash, path: c.path, id: c.id})),
    ...(parent ? captions.map((c) => ({rev: parent, path: c.path, id: c.id})) : []),
  ]
  const stateSpecs = stateTouched && parent ? [`${parent}:${statePath}`, `${target.hash}:${statePath}`] : []
  const vocabularySpecs = vocabularyTouched
    ? [...(parent ? [parent] : []), target.hash].map((rev) => `${rev}:${vocabularyPath}`)
    : []
  const otherSpecs = [...stateSpecs, ...vocabularySpecs]
  const sizes = await repo.objectSizes([...captionVersions.map((v) => `${v.rev}:${v.path}`), ...otherSpecs])
  checkCaptionSizes(dataset, repo, target, captionVersions, sizes.slice(0, captionVersions.length))
  checkHistoryFileSizes(dataset, repo, target, otherSpecs, sizes.slice(captionVersions.length))
  const texts = await repo.readBlobs([...captionVersions.map((v) => `${v.rev}:${v.path}`), ...otherSpecs])
  const versions = texts.slice(0, captionVersions.length)
  const stateTexts = texts.slice(captionVersions.length, captionVersions.length + stateSpecs.length)
  const vocabularyTexts = texts.slice(captionVersions.length + stateSpecs.length)
  // Each caption must still hold the commit's text; otherwise a later commit changed it.
  const conflicts: {id: string; by: string}[] = []
  for (const [i, c] of captions.entries()) {
    const after = versions[i] ?? ''
    // Never through a link, never blocking on a FIFO, never more than 1 MiB: an odd or huge file where the caption
    // was is refused, naming it.
    const current = readCaptionBytes(dataset.root, join(repo.top, c.path))?.toString('utf8')
    if (current !== after) {
      const [later] = await commitsOf(repo, ['-1', `${target.hash}..HEAD`, '--', c.path])
      conflicts.push({
        id: c.id,
        by: later ? `${later.hash.slice(0, 7)} "${escapeControls(later.subject)}"` : 'a change not committed',
      })
      continue
    }
    c.before = parent ? (versions[captions.length + i] ?? '') : ''
  }
  if (conflicts.length > 0) {
    const laters = [...new Set(conflicts.map((c) => c.by))]
    const ids = conflicts.map((c) => c.id)
    const first = laters[0].slice(0, 7)
    throw new GitError(
      `Cannot undo ${described(target)}: ${ids.join(', ')} ${ids.length === 1 ? 'was' : 'were'} changed again later, by ${laters.join(' and ')}. Nothing was changed.`,
      /^[0-9a-f]{7}$/u.test(first)
        ? `Undo the later change first (lora undo ${first}), then this one; or edit the caption by hand (lora tag ${ids[0]} --set "...").`
        : `Commit or discard the caption's change first, then run lora undo again; or edit the caption by hand (lora tag ${ids[0]} --set "...").`,
    )
  }

  // A caption the undo would bring back whose tags lora does not take in (a control or bidi character, written by
  // hand and committed): the same rule as `status --rescan` (core/terminal-text.ts captionTagsProblem).
  const unsafe: ControlCaption[] = []
  for (const c of captions) {
    const problem = captionTagsProblem(parseCaption(c.before, dataset.config.separator))
    if (problem !== undefined) unsafe.push({id: c.id, path: dataset.rel(join(repo.top, c.path)), problem})
  }
  if (unsafe.length > 0)
    throw controlCaptionsError(unsafe, {
      lead: `Cannot undo ${described(target)}: it would bring back ${unsafe.length === 1 ? 'a caption holding a tag' : `${unsafe.length} captions holding tags`} lora does not take in`,
      hint: `Edit the caption instead (lora tag ${unsafe[0].id} --set "..."); or bring it back by hand (git restore --source=${short}^ -- ${unsafe[0].path}, from the dataset folder), remove that character, then run \`lora status --rescan\`.`,
    })

  // Statuses the commit changed go back when the image still has the commit's status (skip / unskip).
  const images = new Set(captions.map((c) => c.id))
  let stateChanged = false
  if (stateSpecs.length > 0) {
    // state.json at the parent and at the commit (read above; absent: no record).
    const statusesAt = (text: string | undefined) =>
      new Map(text === undefined ? [] : parseState(text).images.map((i) => [i.id, i]))
    const before = statusesAt(stateTexts[0])
    const after = statusesAt(stateTexts[1])
    for (const [id, {status}] of after) {
      const old = before.get(id)
      const index = byId.get(id)
      if (old === undefined || old.status === status || index === undefined || state.images[index].status !== status)
        continue
      // The skip reason (lora curate) goes back with the status: the one the image had then, or none.
      const record = {...state.images[index], status: old.status, updatedAt: new Date().toISOString()}
      if (old.status === 'skipped' && old.skipReason !== undefined) record.skipReason = old.skipReason
      else delete record.skipReason
      state.images[index] = record
      images.add(id)
      stateChanged = true
    }
  }

  // The captions' text goes back; the state's copy of their tags and the vocabulary follow (as a rescan does).
  const ops: JournalOp[] = captions.map((c) => ({
    op: 'write',
    path: dataset.rel(join(repo.top, c.path)),
    text: c.before,
  }))
  const vocabularyBefore = await dataset.loadVocabulary()
  const vocabulary = new Set(vocabularyBefore)
  if (vocabularyTouched) {
    // tags.txt at the parent (none before the first commit) and at the commit (read above).
    const was = new Set(parent ? parseVocabulary(vocabularyTexts[0] ?? '') : [])
    const became = new Set(parseVocabulary(vocabularyTexts.at(-1) ?? ''))
    for (const t of became) if (!was.has(t)) vocabulary.delete(t)
    for (const t of was) if (!became.has(t)) vocabulary.add(t)
  }
  const separator = dataset.config.separator
  const now = new Date().toISOString()
  for (const c of captions) {
    const index = byId.get(c.id)!
    const image = state.images[index]
    const tags = parseCaption(c.before, separator)
    const meaningful = tags.filter((t) => t !== dataset.config.trigger)
    // An image whose (restored) status is auto keeps it: its caption is still a model's, unreviewed.
    const status =
      meaningful.length > 0
        ? image.status === 'auto'
          ? 'auto'
          : 'tagged'
        : image.status === 'skipped'
          ? 'skipped'
          : 'pending'
    state.images[index] = {...image, tags, status, updatedAt: now}
    stateChanged = true
  }
  for (const image of state.images) for (const t of image.tags) if (t !== dataset.config.trigger) vocabulary.add(t)
  return {
    ops,
    state,
    stateChanged,
    vocabulary,
    vocabularyBefore: serializeVocabulary(vocabularyBefore),
    images: state.images.filter((i) => images.has(i.id)).map((i) => i.id),
    outside,
  }
}

/**
 * Checks that each caption version (`rev`, `path` relative to the repository's top, and its image `id`) is at most
 * CAPTION_MAX_BYTES before any is read; `sizes` are theirs, in order (GitRepo.objectSizes: no content read).
 * @throws HistoryCaptionTooLargeError naming the first larger one, its commit, its size and the cap; nothing changed
 */
function checkCaptionSizes(
  dataset: Dataset,
  repo: GitRepo,
  target: UndoCommitInfo,
  versions: readonly {rev: string; path: string; id: string}[],
  sizes: readonly (number | undefined)[],
): void {
  const i = sizes.findIndex((size) => size !== undefined && size > CAPTION_MAX_BYTES)
  if (i < 0) return
  const {rev, path, id} = versions[i]
  const shown = escapeControls(dataset.rel(join(repo.top, path)))
  throw new HistoryCaptionTooLargeError(
    `Cannot undo ${described(target)}: ${shown} at ${rev.slice(0, 7)} ${captionTooLargeProblem(sizes[i]!)}; nothing of it was read, and nothing was changed.`,
    `A caption file holds one line of tags; this version is not one. Set the caption by hand instead (lora tag ${id} --set "..."), or undo another change.`,
  )
}

/**
 * Checks the sizes (`sizes`, from `cat-file --batch-check`, in the order of `specs`) of versions of lora's own files
 * in the history (`<rev>:<path>`, the path relative to the repository top: state.json, tags.txt) before they are read:
 * a repository from elsewhere may hold a huge blob under such a name, and nothing past the fs adapter's
 * WHOLE_READ_MAX_BYTES is read.
 * @throws GitError naming the first version past the cap, its commit and size (nothing of it read, nothing changed)
 */
function checkHistoryFileSizes(
  dataset: Dataset,
  repo: GitRepo,
  target: UndoCommitInfo,
  specs: readonly string[],
  sizes: readonly (number | undefined)[],
): void {
  const i = sizes.findIndex((size) => size !== undefined && size > WHOLE_READ_MAX_BYTES)
  if (i < 0) return
  const colon = specs[i].indexOf(':')
  const shown = escapeControls(dataset.rel(join(repo.top, specs[i].slice(colon + 1))))
  throw new GitError(
    `Cannot undo ${described(target)}: ${shown} at ${specs[i].slice(0, 7)} ${overCapText(sizes[i]!, WHOLE_READ_MAX_BYTES)} of it; nothing of it was read, and nothing was changed.`,
    `lora never writes a file that large, so that version is not lora's. Undo the change by hand (git revert ${target.hash.slice(0, 7)}), or set the captions with lora tag.`,
  )
}

async function uncommittedCaptionsOf(dataset: Dataset, repo: GitRepo): Promise<string[]> {
  const out = relative(repo.top, dataset.paths.output) || '.'
  // `--branch`: git always prints (see uncommittedCaptions).
  const text = await repo.run(
    ['-c', 'core.quotePath=false', 'status', '--porcelain=v1', '-z', '--branch', '--', out],
    'read the status',
  )
  // Caption files (and tags.txt) only: an image changed by hand or a file of yours is not what the undo writes.
  return statusPaths(text).filter((path) => path.endsWith(dataset.config.captionExtension))
}
