/**
 * Dataset history in git: turning it on, committing each change by pathspec, and reading the tag-level history
 * back (`lora log`, `lora blame`, `lora undo`). What is committed: the output folder (images, captions, tags.txt)
 * and `.lora-tagger/` less its local files (lock, journal, session, cache, reference vocabularies), which a
 * `.gitignore` there keeps out.
 */
import {join, relative} from 'node:path'
import {UsageError} from '../errors.js'
import {exists, readTextIfExists, writeFileAtomic} from '../adapters/fs.js'
import {GitError, GitRepo, hasGitLfs} from '../adapters/git.js'
import {parseCaption} from '../core/caption.js'
import type {Dataset} from '../store/dataset.js'
import {resyncFromCaptions} from './rescan.js'
import {commitMessage, LOG_FORMAT, parseLog, type TagEvent, tagEvents, TRAILER_CHANGE} from '../core/commit-message.js'
import {IMAGE_EXTENSIONS} from '../core/naming.js'

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

/** Records a dataset's changes in git when its config says so (and `--no-commit` was not given). */
export class History {
  private constructor(
    private readonly dataset: Dataset,
    private readonly repo: GitRepo | undefined,
  ) {}

  /**
   * Opens the history of a dataset. With `git.autoCommit` on and `commit` not false, checks that a commit can be
   * made (git installed, a repository, no merge/rebase in progress, no index.lock) before anything is changed.
   * @throws GitError when it cannot
   */
  static async open(dataset: Dataset, commit = true): Promise<History> {
    if (!dataset.config.git.autoCommit || !commit) return new History(dataset, undefined)
    const repo = await GitRepo.open(dataset.root)
    if (!repo) throw new GitError(`git.autoCommit is on, but ${dataset.root} is not in a git repository; nothing was changed.`, 'Run `lora git enable`, or set git.autoCommit: false in .lora-tagger/config.yaml.')
    await repo.checkReady()
    return new History(dataset, repo)
  }

  /** True when changes are committed. */
  get enabled(): boolean {
    return this.repo !== undefined
  }

  /** Commits the dataset's files (by pathspec) with `subject` and lora's trailers. Returns the hash, if any. */
  async record(subject: string, kind: string, images: readonly string[]): Promise<string | undefined> {
    if (!this.repo) return undefined
    return this.repo.commitPaths(datasetPathspecs(this.dataset, this.repo), commitMessage(subject, kind, images))
  }
}

/** The paths (relative to the repository top) that make up the dataset's history. */
function datasetPathspecs(dataset: Dataset, repo: GitRepo): string[] {
  return [relative(repo.top, dataset.paths.output) || '.', relative(repo.top, dataset.paths.meta)]
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
 * attribute files (never replacing ones it did not write), sets `git.autoCommit: true`, and commits the dataset.
 * @throws GitError without git, with `--lfs` but no git-lfs, or when the repository is mid-merge/locked
 */
export async function enableGit(dataset: Dataset, options: {lfs: boolean; subject: string}): Promise<GitEnableReport> {
  await checkGitCanBeEnabled(dataset.root, options.lfs)
  let repo = await GitRepo.open(dataset.root)
  const lock = await dataset.lock('lora git enable')
  try {
    const created = !repo
    if (!repo) repo = await GitRepo.init(dataset.root)
    if (options.lfs) await repo.run(['lfs', 'install', '--local'], 'set up git-lfs')
    await writeIfMissing(join(dataset.paths.meta, '.gitignore'), META_GITIGNORE)
    await writeIfMissing(join(dataset.paths.output, '.gitignore'), '.lora-tmp-*\n')
    await writeIfMissing(join(dataset.paths.output, '.gitattributes'), outputGitattributes(dataset.config.captionExtension, options.lfs))
    await setAutoCommit(dataset, true)
    const state = await dataset.loadState()
    const history = await History.open(await reopen(dataset))
    const commit = await history.record(options.subject.replace('{n}', String(state.images.length)), 'init', state.images.map((i) => i.id))
    return {repository: repo.top, created, lfs: options.lfs, commit}
  } finally {
    await lock.release()
  }
}

/**
 * Checks, before any change, that history can be turned on for a folder: git installed, the enclosing repository
 * (if any) not mid-merge or locked, and git-lfs installed when asked for.
 * @throws GitError otherwise
 */
export async function checkGitCanBeEnabled(dir: string, lfs: boolean): Promise<void> {
  const repo = await GitRepo.open(dir)
  if (repo) await repo.checkReady()
  if (lfs && !(await hasGitLfs(dir))) {
    throw new GitError('--lfs needs git-lfs, which is not installed; nothing was changed.', 'Install git-lfs (e.g. `apt install git-lfs`), or enable history without --lfs.')
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

async function reopen(dataset: Dataset): Promise<Dataset> {
  const {openDataset} = await import('../store/dataset.js')
  return openDataset(dataset.root)
}

/** Opens the repository of a dataset for reading its history. @throws GitError when there is none */
async function requireRepo(dataset: Dataset): Promise<GitRepo> {
  const repo = await GitRepo.open(dataset.root)
  if (!repo) throw new GitError(`${dataset.root} is not in a git repository, so it has no history.`, 'Turn history on with `lora git enable`.')
  return repo
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
  /** Only this image's caption. */
  image?: {id: string; file: string}
  /** Only events adding or removing this tag. */
  tag?: string
  limit?: number
}

/** `lora log --json`. */
export interface LogReport {
  events: TagEvent[]
}

/**
 * Tag-level history, newest first, from the caption files' diffs in git (commits made by hand count too).
 */
export async function tagLog(dataset: Dataset, options: LogOptions): Promise<LogReport> {
  const repo = await requireRepo(dataset)
  const captionPath = options.image ? join(dataset.paths.output, dataset.captionFile(options.image.file)) : undefined
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

/** One line of `lora blame`. */
export interface BlameLine {
  tag: string
  /** The commit that last added the tag, or null when it is not committed yet. */
  commit: {hash: string; date: string; author: string; subject: string} | null
}

/** For each tag in the image's caption, the commit that added it (`lora blame`). */
export async function blameImage(dataset: Dataset, image: {id: string; file: string}): Promise<{image: string; tags: BlameLine[]}> {
  const repo = await requireRepo(dataset)
  const path = join(dataset.paths.output, dataset.captionFile(image.file))
  const commits = parseLog(await logText(repo, [relative(repo.top, path)], ['--reverse']))
  const since = new Map<string, BlameLine['commit']>()
  for (const c of commits) {
    for (const f of c.files) {
      const before = new Set(parseCaption(f.removed.join('\n'), dataset.config.separator))
      const after = parseCaption(f.added.join('\n'), dataset.config.separator)
      for (const t of before) if (!after.includes(t)) since.delete(t)
      for (const t of after) if (!before.has(t)) since.set(t, {hash: c.hash, date: c.date, author: c.author, subject: c.subject})
    }
  }
  const current = parseCaption((await dataset.readCaption(image.file)) ?? '', dataset.config.separator)
  return {image: image.id, tags: current.map((tag) => ({tag, commit: since.get(tag) ?? null}))}
}

/** Caption files with changes not committed (for `lora status`). */
export async function uncommittedCaptions(dataset: Dataset): Promise<string[] | undefined> {
  if (!dataset.config.git.autoCommit) return undefined
  const repo = await GitRepo.open(dataset.root).catch(() => undefined)
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
 * copy of the captions and tags.txt in line with the reverted captions, and commits that as one commit.
 * @throws GitError when captions have uncommitted changes, the commit is not lora's, or the revert conflicts
 */
export async function undoCommit(dataset: Dataset, commit?: string): Promise<UndoReport> {
  const repo = await requireRepo(dataset)
  await repo.checkReady()
  const dirty = await uncommittedCaptionsOf(dataset, repo)
  if (dirty.length > 0) {
    throw new GitError(`Captions have uncommitted changes (${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ', …' : ''}); not undoing.`, 'Commit or discard them first (git status shows them).')
  }
  const pathspecs = datasetPathspecs(dataset, repo)
  const target = commit ?? (await lastLoraCommit(repo, pathspecs))
  if (!target) throw new UsageError('No lora commit to undo.', 'See `lora log` for the history.')
  const info = parseLog(await repo.run(['log', '-1', `--format=${LOG_FORMAT}`, target, '--'], 'read the commit'))[0]
  if (!info) throw new UsageError(`No commit "${target}".`, 'Give a commit from `lora log`.')
  const lock = await dataset.lock('lora undo')
  try {
    try {
      await repo.run(['revert', '--no-commit', '--no-edit', info.hash], 'revert')
    } catch (error) {
      await repo.run(['revert', '--abort'], 'abort the revert').catch(() => undefined)
      throw new GitError(`Undoing ${info.hash.slice(0, 7)} conflicts with later changes; nothing was changed.`, `Undo the later commits first (lora log shows them), or revert by hand: git revert ${info.hash.slice(0, 7)}. (${(error as Error).message})`)
    }
    await resyncFromCaptions(dataset)
    // The images whose captions the reverted commit changed.
    const events = tagEvents(parseLog(await logText(repo, [relative(repo.top, dataset.paths.output) || '.'], ['-1', info.hash])), captionMapper(dataset, repo), dataset.config.separator)
    const images = [...new Set(events.map((e) => e.image))]
    const subject = `undo ${info.hash.slice(0, 7)}: ${info.subject}`
    await repo.run(['add', '-A', '--', ...pathspecs], 'stage the dataset files')
    await repo.run(['commit', '--quiet', '--no-verify', '-m', commitMessage(subject, 'undo', images), '--', ...pathspecs], 'commit the undo')
    // git revert --no-commit leaves its sequencer state when other paths were staged; clear it.
    await repo.run(['revert', '--quit'], 'finish the revert').catch(() => undefined)
    const hash = (await repo.run(['rev-parse', 'HEAD'], 'read the new commit')).trim()
    return {reverted: info.hash, subject: info.subject, commit: hash, images}
  } finally {
    await lock.release()
  }
}

async function uncommittedCaptionsOf(dataset: Dataset, repo: GitRepo): Promise<string[]> {
  const out = relative(repo.top, dataset.paths.output) || '.'
  const text = await repo.run(['-c', 'core.quotePath=false', 'status', '--porcelain=v1', '-z', '--', out], 'read the status')
  return text
    .split('\0')
    .filter((e) => e.length > 3)
    .map((e) => e.slice(3))
}

async function lastLoraCommit(repo: GitRepo, pathspecs: string[]): Promise<string | undefined> {
  const text = await repo.run(['log', `--format=%H%x1f%(trailers:key=${TRAILER_CHANGE},valueonly)`, '--', ...pathspecs], 'read the history').catch(() => '')
  for (const line of text.split('\n')) {
    const [hash, kind] = line.split('\x1f')
    if (hash && kind?.trim() && kind.trim() !== 'undo') return hash
  }
  return undefined
}
