/**
 * Dataset history in git: turning it on, undoing a change, and reading the tag-level history back (`lora log`,
 * `lora blame`); each change is committed by its write transaction (store/transaction.ts). What is committed: the
 * output folder (images, captions, tags.txt) and `.lora-tagger/` less its local files (lock, journal, session,
 * cache, reference vocabularies), which a `.gitignore` there keeps out.
 */
import {join, relative} from 'node:path'
import {BugError, UsageError} from '../errors.js'
import {exists, readTextIfExists, writeFileAtomic} from '../adapters/fs.js'
import {GitError, GitRepo} from '../adapters/git.js'
import {debugLog} from '../adapters/debug.js'
import {parseCaption} from '../core/caption.js'
import type {Dataset} from '../store/dataset.js'
import {resyncFromCaptions} from './rescan.js'
import {LOG_FORMAT, parseLog, type TagEvent, tagEvents, TRAILER_CHANGE} from '../core/commit-message.js'
import {IMAGE_EXTENSIONS} from '../core/naming.js'
import {datasetPathspecs, requireRepository, type TransactionEdit, withWriteTransaction} from '../store/transaction.js'
import {resolveImageRef} from '../core/image-ref.js'
import type {ImageRecord} from '../core/state.js'

/** `.lora-tagger/.gitignore`: files that are local state, not dataset history. */
export const META_GITIGNORE = `# lora: local files, not part of the dataset's history
lock
journal.json
session.json
cache/
reference/
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

/** What `lora git enable` did. */
export interface GitEnableReport {
  repository: string
  created: boolean
  lfs: boolean
  commit?: string
}

/**
 * Turns history on: uses the enclosing repository or creates one in the dataset folder, writes the ignore and
 * attribute files (never replacing ones it did not write), sets `git.autoCommit: true`, and commits the dataset,
 * as one write transaction (store/transaction.ts).
 * @param options.subject the commit subject; `{n}` stands for the number of images
 * @throws GitError without git, with `--lfs` but no git-lfs, or when the repository is mid-merge/locked
 * @throws DatasetBusyError when another writer holds the dataset; NotCommittedError when the commit failed
 */
export async function enableGit(dataset: Dataset, options: {lfs: boolean; subject: string}): Promise<GitEnableReport> {
  const {result, commit} = await withWriteTransaction(dataset, {command: 'lora git enable', history: {enable: {lfs: options.lfs}}}, enableHistory(dataset, options))
  return {...result, commit}
}

/**
 * The edit that turns history on (enableGit); for a transaction prepared with `history: {enable: {lfs}}`, which
 * checks before anything changes that it can, and commits the dataset after it.
 */
export function enableHistory(dataset: Dataset, options: {lfs: boolean; subject: string}): TransactionEdit<Omit<GitEnableReport, 'commit'>> {
  return async () => {
    let repo = await GitRepo.open(dataset.root)
    const created = !repo
    if (!repo) repo = await GitRepo.init(dataset.root)
    if (options.lfs) await repo.run(['lfs', 'install', '--local'], 'set up git-lfs')
    await writeIfMissing(join(dataset.paths.meta, '.gitignore'), META_GITIGNORE)
    await writeIfMissing(join(dataset.paths.output, '.gitignore'), '.lora-tmp-*\n')
    await writeIfMissing(join(dataset.paths.output, '.gitattributes'), outputGitattributes(dataset.config.captionExtension, options.lfs))
    await setAutoCommit(dataset, true)
    const state = await dataset.loadState()
    return {
      result: {repository: repo.top, created, lfs: options.lfs},
      message: {subject: options.subject.replace('{n}', String(state.images.length)), kind: 'init', images: state.images.map((i) => i.id)},
    }
  }
}

async function writeIfMissing(path: string, text: string): Promise<void> {
  if (!(await exists(path))) await writeFileAtomic(path, text)
}

/** Sets `git.autoCommit` in config.yaml, keeping the rest of the file (and its comments) as it is. */
async function setAutoCommit(dataset: Dataset, on: boolean): Promise<void> {
  const {parseDocument} = await import('yaml')
  const doc = parseDocument((await readTextIfExists(dataset.paths.config)) ?? '')
  doc.setIn(['git', 'autoCommit'], on)
  await writeFileAtomic(dataset.paths.config, doc.toString())
}

/** Maps a repository-relative caption path to its image id, or undefined for other files. */
function captionMapper(dataset: Dataset, repo: GitRepo): (path: string) => string | undefined {
  const out = relative(repo.top, dataset.paths.output)
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
 * Tag-level history, newest first, from the caption files' diffs in git (commits made by hand count too).
 * @throws UsageError when `image` matches no image; GitError when the dataset is not in a git repository
 */
export async function tagLog(dataset: Dataset, options: LogOptions): Promise<LogReport> {
  const image = options.image === undefined ? undefined : await findImage(dataset, options.image, options.cwd)
  const repo = await requireRepository(dataset)
  const captionPath = image ? join(dataset.paths.output, dataset.captionFile(image.file)) : undefined
  const pathspec = captionPath ? relative(repo.top, captionPath) : `:(glob)${relative(repo.top, dataset.paths.output) || '.'}/*${dataset.config.captionExtension}`
  const text = await logText(repo, [pathspec])
  let events = tagEvents(parseLog(text), captionMapper(dataset, repo), dataset.config.separator)
  if (options.tag) events = events.filter((e) => e.added.includes(options.tag!) || e.removed.includes(options.tag!))
  if (options.limit !== undefined) events = events.slice(0, options.limit)
  return {events}
}

async function logText(repo: GitRepo, pathspecs: string[], extra: string[] = []): Promise<string> {
  const hasCommits = await repo.run(['rev-list', '-n', '1', '--all'], 'read the history').then((t) => t.trim() !== '')
  if (!hasCommits) return ''
  // --no-ext-diff --no-textconv: the captions' own text, and no diff program that a dataset's committed
  // .gitattributes could select from the user's git config (README "Safety model").
  return repo.run(['-c', 'core.quotePath=false', 'log', `--format=${LOG_FORMAT}`, '-p', '--unified=0', '--no-color', '--no-ext-diff', '--no-textconv', '--no-renames', ...extra, '--', ...pathspecs], 'read the history')
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
}

/**
 * For each tag in the image's caption, the commit that added it (`lora blame`).
 * @param options.image the image as typed (number, id, file name or path); `cwd` is what paths are relative to
 * @throws UsageError when `image` matches no image; GitError when the dataset is not in a git repository
 */
export async function blameImage(dataset: Dataset, options: {image: string; cwd: string}): Promise<BlameReport> {
  const image = await findImage(dataset, options.image, options.cwd)
  const repo = await requireRepository(dataset)
  const path = join(dataset.paths.output, dataset.captionFile(image.file))
  const commits = parseLog(await logText(repo, [relative(repo.top, path)], ['--reverse']))
  const since = new Map<string, Omit<BlameLine, 'tag'>>()
  for (const c of commits) {
    for (const f of c.files) {
      const before = new Set(parseCaption(f.removed.join('\n'), dataset.config.separator))
      const after = parseCaption(f.added.join('\n'), dataset.config.separator)
      for (const t of before) if (!after.includes(t)) since.delete(t)
      for (const t of after) if (!before.has(t)) since.set(t, {commit: c.hash, date: c.date, author: c.author, subject: c.subject})
    }
  }
  const current = parseCaption((await dataset.readCaption(image.file)) ?? '', dataset.config.separator)
  const uncommitted = {commit: null, date: null, author: null, subject: null}
  return {id: image.id, tags: current.map((tag) => ({tag, ...(since.get(tag) ?? uncommitted)}))}
}

/** The image a reference names (core/image-ref.ts). @throws UsageError when it names none */
async function findImage(dataset: Dataset, ref: string, cwd: string): Promise<ImageRecord> {
  return resolveImageRef((await dataset.loadState()).images, ref, {cwd, root: dataset.root, outputDir: dataset.paths.output})
}

/**
 * Caption files with changes not committed (for `lora status`); undefined when history is off or the dataset is in
 * no repository.
 * @throws GitError when git fails (not installed, a broken repository): that is not "no history"
 */
export async function uncommittedCaptions(dataset: Dataset): Promise<string[] | undefined> {
  if (!dataset.config.git.autoCommit) return undefined
  const repo = await GitRepo.open(dataset.root)
  if (!repo) return undefined
  const out = relative(repo.top, dataset.paths.output) || '.'
  const text = await repo.run(['-c', 'core.quotePath=false', 'status', '--porcelain=v1', '-z', '--untracked-files=all', '--', `:(glob)${out}/*${dataset.config.captionExtension}`], 'read the status')
  return text
    .split('\0')
    .filter((e) => e.length > 3)
    .map((e) => e.slice(3))
    .filter((p) => !p.endsWith('/tags.txt') && p !== 'tags.txt')
    .map((p) => relative(dataset.paths.output, join(repo.top, p)))
}

/** `lora undo` result. */
export interface UndoReport {
  reverted: string
  subject: string
  commit?: string
  images: string[]
}

/**
 * Reverts a lora commit (default: the newest one touching the dataset) with `git revert`, then brings the state's
 * copy of the captions and tags.txt in line with the reverted captions, and commits that as one commit; all in one
 * write transaction (store/transaction.ts) committed in the enclosing repository whatever `git.autoCommit` says.
 * @param options.target the commit to revert, as given (`3f2a9c1`); default the newest lora commit
 * @throws GitError when captions have uncommitted changes, the commit is not lora's, or the revert conflicts
 * @throws DatasetBusyError when another writer holds the dataset; NotCommittedError when the revert is saved but
 *   its commit failed
 */
export async function undoCommit(dataset: Dataset, options: {target?: string} = {}): Promise<UndoReport> {
  const {result, commit} = await withWriteTransaction(dataset, {command: 'lora undo', history: 'repository'}, async (tx) => {
    const repo = tx.repo
    if (!repo) throw new BugError('lora undo ran without its repository.')
    const dirty = await uncommittedCaptionsOf(dataset, repo)
    if (dirty.length > 0) {
      throw new GitError(`Captions have uncommitted changes (${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ', …' : ''}); not undoing.`, 'Commit or discard them first (git status shows them).')
    }
    const target = options.target ?? (await lastLoraCommit(repo, datasetPathspecs(dataset, repo)))
    if (!target) throw new UsageError('No lora commit to undo.', 'See `lora log` for the history.')
    const info = parseLog(await repo.run(['log', '-1', `--format=${LOG_FORMAT}`, target, '--'], 'read the commit'))[0]
    if (!info) throw new UsageError(`No commit "${target}".`, 'Give a commit from `lora log`.')
    try {
      await repo.run(['revert', '--no-commit', '--no-edit', info.hash], 'revert')
    } catch (error) {
      // The revert's own error is the one to report; a failed abort is only shown in debug output.
      await repo.run(['revert', '--abort'], 'abort the revert').catch((abortError: unknown) => debugLog('lora:git', 'git revert --abort failed', abortError))
      throw new GitError(`Undoing ${info.hash.slice(0, 7)} conflicts with later changes; nothing was changed.`, `Undo the later commits first (lora log shows them), or revert by hand: git revert ${info.hash.slice(0, 7)}. (${(error as Error).message})`)
    }
    // The reverted files stay in the working tree; the revert's own state (REVERT_HEAD, sequencer) is cleared now,
    // so that a failed commit leaves no revert in progress to block the next change.
    await repo.run(['revert', '--quit'], 'finish the revert').catch((quitError: unknown) => debugLog('lora:git', 'git revert --quit failed', quitError))
    await resyncFromCaptions(tx)
    // The images whose captions the reverted commit changed.
    const events = tagEvents(parseLog(await logText(repo, [relative(repo.top, dataset.paths.output) || '.'], ['-1', info.hash])), captionMapper(dataset, repo), dataset.config.separator)
    const images = [...new Set(events.map((e) => e.id))]
    return {result: {reverted: info.hash, subject: info.subject, images}, message: {subject: `undo ${info.hash.slice(0, 7)}: ${info.subject}`, kind: 'undo', images}}
  })
  return {reverted: result.reverted, subject: result.subject, commit, images: result.images}
}

async function uncommittedCaptionsOf(dataset: Dataset, repo: GitRepo): Promise<string[]> {
  const out = relative(repo.top, dataset.paths.output) || '.'
  const text = await repo.run(['-c', 'core.quotePath=false', 'status', '--porcelain=v1', '-z', '--', out], 'read the status')
  return text
    .split('\0')
    .filter((e) => e.length > 3)
    .map((e) => e.slice(3))
}

/**
 * The newest commit made by a lora change (not an undo) touching the dataset; undefined when there is none, or
 * when the repository has no commit yet.
 * @throws GitError when git cannot read the history (a damaged repository): that is not "no lora commit"
 */
async function lastLoraCommit(repo: GitRepo, pathspecs: string[]): Promise<string | undefined> {
  if (!(await repo.hasHead())) return undefined
  const text = await repo.run(['log', `--format=%H%x1f%(trailers:key=${TRAILER_CHANGE},valueonly)`, '--', ...pathspecs], 'read the history')
  for (const line of text.split('\n')) {
    const [hash, kind] = line.split('\x1f')
    if (hash && kind?.trim() && kind.trim() !== 'undo') return hash
  }
  return undefined
}
