/**
 * The one write transaction every command that changes a dataset goes through (`withWriteTransaction`): check
 * that the change can be committed, take the writer lock, finish an interrupted change, run the edit (its
 * multi-file changes journaled through the transaction), commit what the edit says it did, release the lock.
 * Services describe the change; the order, the lock, the commit and the failure paths live here only.
 */
import {shellQuote} from '../core/shell.js'
import {join, relative, sep} from 'node:path'
import {BugError, DatasetBusyError, FileSystemError, InterruptedError, LoraError} from '../errors.js'
import {writeProblem} from '../adapters/fs.js'
import {
  checkGitReadsBelow,
  checkIdentity,
  checkIgnoreBeforeInit,
  GitError,
  GitRepo,
  hasGitLfs,
  type IgnoreCheck,
} from '../adapters/git.js'
import {commitMessage} from '../core/commit-message.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import {IMAGE_EXTENSIONS} from '../core/naming.js'
import {journalOpPaths} from '../core/containment.js'
import {VOCABULARY_FILE} from '../core/vocabulary.js'
import type {Dataset} from './dataset.js'
import {describeJournal, type Journal, type JournalOp, runJournal} from './journal.js'
import {beginChange, endChange, pendingStop, throwIfStopRequested} from './interrupts.js'
import type {HeldLock} from './lock.js'
import {warnOnce} from './warnings.js'

/**
 * Which repository a change is committed in:
 * - `'config'` (the default): the enclosing one, when the dataset's config has `git.autoCommit: true`;
 * - `'repository'`: the enclosing one whatever the config says, which must exist (`lora undo`);
 * - `{enable: {lfs}}`: the edit turns history on (`lora git enable`, `lora init --git`); the repository may not
 *   exist before the edit (the edit creates it), and git-lfs must be installed when `lfs`;
 * - `'none'`: never committed, git not checked (local files only: reference vocabularies, caches).
 */
export type HistoryMode = 'config' | 'repository' | 'none' | {enable: {lfs: boolean}}

/** How a write transaction runs. */
export interface WriteOptions {
  /** The command, named in the lock for a writer that finds the dataset busy (`lora tag`). */
  command: string
  /** False for `--no-commit`: the files change, nothing is committed, git is not checked. Default true. */
  commit?: boolean
  /** Compute only: the lock is taken (for a consistent read), the journal writes nothing, nothing is committed. */
  dryRun?: boolean
  /** Default `'config'`. */
  history?: HistoryMode
  /** How long to keep retrying while another writer holds the lock (ms; default 0: fail at once with exit 5). */
  waitForLockMs?: number
  /**
   * Where a warning before the commit goes (HEAD detached); default: the command's warning sink (store/warnings.ts,
   * stderr), once per command.
   */
  onWarning?: (text: string) => void
}

/** The commit an edit asks for: subject line, `Lora-Change` kind and `Lora-Images` ids (core/commit-message.ts). */
export interface CommitRequest {
  subject: string
  kind: string
  images: readonly string[]
  /** For `lora undo`: the full hash of the commit this one undoes (the `Lora-Undoes` trailer). */
  undoes?: string
}

/** What an edit returns: its result, and the commit to make (none: nothing worth a commit changed). */
export interface EditDone<T> {
  result: T
  message?: CommitRequest
}

/** What a transaction returns: the edit's result and the commit's hash (undefined when nothing was committed). */
export interface WriteDone<T> {
  result: T
  commit: string | undefined
}

/** The transaction as the edit sees it. */
export interface WriteTransaction {
  readonly dataset: Dataset
  /** True on a dry run: `journal` writes nothing, and the edit must write nothing either. */
  readonly dryRun: boolean
  /**
   * The repository the change will be committed in, checked ready; undefined when nothing will be committed, or
   * when the edit itself turns history on (`{enable}`: the repository is opened after the edit).
   */
  readonly repo: GitRepo | undefined
  /**
   * Applies `ops` as one journaled change (store/journal.ts): after a kill at any instant, the next command
   * finishes it. Writes nothing on a dry run.
   * @param kind what the change is, for messages (`tag`, `init`, ...)
   * @param onOp called after each op (progress)
   * @param options.commit the commit the edit will ask for, when it knows it before the change (`lora undo`):
   *   recorded in the journal when this transaction commits, so that a change interrupted and finished by the next
   *   command (commitRecovered) gets the same commit message, trailers included
   */
  journal(
    kind: string,
    ops: JournalOp[],
    onOp?: (op: JournalOp) => void,
    options?: {commit?: CommitRequest},
  ): Promise<void>
  /**
   * Names files (relative to the dataset folder) the change takes in without writing them, to commit with it: an
   * image replaced by hand that `lora status --rescan` takes in. The files the journaled ops write are committed
   * without this (see changeFilter).
   */
  include(paths: readonly string[]): void
}

/** The edit run inside a transaction. */
export type TransactionEdit<T> = (tx: WriteTransaction) => Promise<EditDone<T>>

/**
 * The change is saved in the dataset's files, but its git commit failed (exit 1): a hook refused it, signing
 * failed (`commit.gpgsign` without a usable key), git has no identity. The files are consistent (the journal
 * finished); only the commit is missing, `lora status` lists the captions as uncommitted, and the next committed
 * lora change takes the files in with it. The hint gives the git command that commits the change by hand.
 */
export class NotCommittedError extends LoraError {
  /**
   * @param reason what git reported
   * @param command the shell command that commits the saved change (`git -C … commit -m … -- output .lora-tagger`)
   */
  constructor(reason: string, cause: unknown, command?: string) {
    super(`Saved, but not committed: ${reason}`, {
      code: 'not-committed',
      hint:
        'The change is in the dataset files; only its commit is missing. Fix what git reports, then commit them with git' +
        (command ? `: ${command}` : ' (`git status` lists them)') +
        ', or let the next lora change commit them with its own (its captions, tags.txt and .lora-tagger/; not the images it added).',
      cause,
    })
  }
}

/** A transaction whose commit check is done: `run` it once or several times (each run is one transaction). */
export interface PreparedWrite {
  /**
   * Runs one transaction (see withWriteTransaction for the order and the failure paths).
   * @throws whatever the edit throws; DatasetBusyError, NotCommittedError
   */
  run<T>(edit: TransactionEdit<T>): Promise<WriteDone<T>>
}

/**
 * Checks, before anything changes, that the changes to come can be committed (when they will be), and returns
 * the prepared transaction. Prepare once and run several times when the check must come before a long wait, as
 * in `lora next`, which checks before the prompt and saves after it (the typing is never lost to a git problem
 * found late; a problem that appears while the user types ends in NotCommittedError, the answer saved).
 * @throws FileSystemError when `.lora-tagger/` or the output folder cannot be written (checkWritable)
 * @throws GitError when history is on and git is not installed, there is no repository, or it is mid-merge,
 *   mid-rebase, mid-cherry-pick, mid-revert or its index is locked, git has no identity to commit with, or a
 *   `.gitignore` rule ignores the dataset's files (checkNotIgnored); when a `.gitignore` or `.gitattributes` the
 *   commit's walk would read (in the output folder, `.lora-tagger/` or a folder below them; with `{enable}`, anywhere
 *   in the dataset folder) is not a regular file (adapters/git.ts checkGitReadsBelow); with `{enable: {lfs: true}}`,
 *   when git-lfs is not installed
 */
export async function prepareWrite(dataset: Dataset, options: WriteOptions): Promise<PreparedWrite> {
  const history = options.history ?? 'config'
  const commits =
    options.commit !== false &&
    !options.dryRun &&
    history !== 'none' &&
    (history !== 'config' || dataset.config.git.autoCommit)
  // Local files only (`'none'`: reference vocabularies, caches) live in .lora-tagger/; other changes reach output/.
  if (!options.dryRun) await checkWritable(dataset, history === 'none' ? [dataset.paths.meta] : undefined)
  let repo: GitRepo | undefined
  if (commits) {
    if (typeof history === 'object') await checkHistoryCanBeEnabled(dataset, history.enable.lfs)
    else repo = await openReadyRepository(dataset, history)
  }
  return {
    run: (edit) => runTransaction(dataset, options, commits ? (repo ?? 'after-edit') : undefined, edit),
  }
}

/**
 * Checks that the dataset's folders can be written (`.lora-tagger/` and the output folder, or where they will be
 * created; `dirs` narrows that): a change that could only be half-applied is refused before the first write.
 * @throws FileSystemError naming the folder (permission denied, read-only file system)
 */
export async function checkWritable(
  dataset: Dataset,
  dirs: readonly string[] = [dataset.paths.meta, dataset.paths.output],
): Promise<void> {
  for (const dir of dirs) {
    const problem = await writeProblem(dir)
    if (!problem) continue
    const what =
      problem.code === 'EROFS'
        ? `The file system is read-only (${problem.path})`
        : `Permission denied (${problem.path} is not writable)`
    throw new FileSystemError(
      `${what}; nothing was changed.`,
      problem.code === 'EROFS'
        ? 'Make it writable (remount read-write), or work on a copy of the dataset.'
        : `Give yourself write permission (chmod u+w ${problem.path}), or work on a copy of the dataset.`,
    )
  }
}

/**
 * Runs `edit` as one write transaction on `dataset`, in this order:
 * 1. Checks before anything changes (prepareWrite): the dataset's folders writable (FileSystemError) and, when the
 *    change will be committed, that git can commit it (GitError). A problem found here changes nothing.
 * 2. The writer lock (`.lora-tagger/lock`), retried for `waitForLockMs`; another writer holding it fails with
 *    DatasetBusyError (exit 5), nothing changed.
 * 3. Under the lock: temp files of killed writers removed and an interrupted change (journal.json) finished.
 *    A failure there releases the lock and is thrown.
 * 4. The edit, with the transaction (`tx.journal` for its journaled changes; nothing written on a dry run). If it
 *    throws, nothing is committed, the lock is released, and its error is thrown: a change it journaled is
 *    complete, one interrupted mid-journal is finished by the next command.
 * 5. The commit, under the lock, when the edit returned a `message`, history is on, and it is not a dry run or
 *    `--no-commit`: of the files changed in the output folder and `.lora-tagger/`, the dataset's own and those the
 *    change wrote or took in (changeFilter), each named to git, so whatever else the user changed or staged stays
 *    as it was; the repository's hooks run unless `git.verify: false`. Nothing staged: no commit. If git fails here
 *    (a hook, signing), the change is saved but not committed: the lock is released and NotCommittedError (exit 1)
 *    says so, with git's reason and the git command that commits it.
 * 6. The lock is released in every case. If releasing fails after an earlier error, that earlier error is the
 *    one thrown (the lock left behind names this process, which no longer runs, so the next writer reclaims it).
 * 7. A stop signal (SIGINT, SIGTERM, SIGHUP) received from the first journal write until the commit waits for
 *    the change to be finished and committed; then, the lock released, InterruptedError says what was finished
 *    (store/interrupts.ts). One received before the journal stops the process at once (nothing was changed).
 *
 * @returns the edit's result and the new commit's hash (undefined when nothing was committed)
 * @throws GitError (step 1), DatasetBusyError (2), DatasetError (3), the edit's errors (4), NotCommittedError (5),
 *   InterruptedError (7)
 */
export async function withWriteTransaction<T>(
  dataset: Dataset,
  options: WriteOptions,
  edit: TransactionEdit<T>,
): Promise<WriteDone<T>> {
  return (await prepareWrite(dataset, options)).run(edit)
}

async function runTransaction<T>(
  dataset: Dataset,
  options: WriteOptions,
  commitTo: GitRepo | 'after-edit' | undefined,
  edit: TransactionEdit<T>,
): Promise<WriteDone<T>> {
  const dryRun = options.dryRun === true
  const lock = await lockDataset(dataset, options.command, options.waitForLockMs ?? 0)
  // The change in flight for a stop signal (store/interrupts.ts): from its journal until its commit.
  let inFlight: string | undefined
  let result: WriteDone<T>
  // The files the change wrote or took in (relative to the dataset folder): with the dataset's own files, what is
  // committed (changeFilter).
  const files: string[] = []
  try {
    const tx: WriteTransaction = {
      dataset,
      dryRun,
      repo: commitTo === 'after-edit' ? undefined : commitTo,
      include(paths) {
        files.push(...paths)
      },
      async journal(kind, ops, onOp, journalOptions) {
        if (dryRun) return
        files.push(...opFiles(ops))
        const journal: Journal = {version: 1, kind, createdAt: new Date().toISOString(), ops}
        const commit = journalOptions?.commit
        if (commit && commitTo) journal.commit = {...commit, images: [...commit.images]}
        if (inFlight === undefined && beginChange(describeJournal(journal))) inFlight = describeJournal(journal)
        await runJournal(dataset.root, dataset.paths.meta, journal, onOp)
      },
    }
    const done = await edit(tx)
    // A change written without a journal (turning history on) is still not cut off in the middle of its commit.
    if (done.message && commitTo && inFlight === undefined && beginChange(`the ${done.message.kind} change`))
      inFlight = `the ${done.message.kind} change`
    // Turning history on commits the whole dataset; any other change its own files (changeFilter).
    const commit =
      done.message && commitTo
        ? await commitSaved(dataset, commitTo, done.message, options.onWarning ?? warnOnce, {
            files: typeof options.history === 'object' ? 'all' : files,
          })
        : undefined
    result = {result: done.result, commit}
  } catch (error) {
    if (inFlight !== undefined) endChange(false)
    await releaseQuietly(lock)
    // Ctrl-C reaches git too (the terminal signals the whole process group): a commit cut short by the same
    // interrupt is reported as the interrupt, with how to commit the saved change.
    const signal = pendingStop()
    if (inFlight !== undefined && signal && error instanceof NotCommittedError) {
      throw new InterruptedError(
        signal,
        `Interrupted: finished ${inFlight}; nothing lost, but it was not committed (${error.message.replace(/^Saved, but not committed: /u, '')}).`,
        error.hint,
      )
    }
    throw error
  }
  if (inFlight !== undefined) endChange()
  // Released after success: a failure to release is reported (the change itself is complete).
  await lock.release()
  // A stop signal that arrived during the change: the change is finished (and committed); now stop.
  if (inFlight !== undefined) throwIfStopRequested(result.commit ? `${inFlight} and committed it` : inFlight)
  return result
}

/** Releases the lock after an earlier error, which is the one to report; a lock left behind is reclaimed as stale (its pid is gone). */
async function releaseQuietly(lock: {release(): Promise<void>}): Promise<void> {
  try {
    await lock.release()
  } catch {
    // Deliberately ignored: see above.
  }
}

/**
 * Commits the saved change, running the repository's hooks unless the config says `git.verify: false`; any failure
 * becomes NotCommittedError (the change stays saved) with the command that commits it by hand. On a detached HEAD
 * a warning comes first (`onWarning`, else the command's warning sink, once per command). Also used to commit an
 * interrupted change once it is finished (commitRecovered).
 * @param options.checkBelow check first the `.gitignore` and `.gitattributes` files `git add` would read below the
 *   dataset's folders (adapters/git.ts checkGitReadsBelow; prepareWrite did not, for a recovered change)
 * @param options.files what the change wrote or took in (relative to the dataset folder), or `'all'` (history turned
 *   on: the whole dataset); see changeFilter
 */
async function commitSaved(
  dataset: Dataset,
  commitTo: GitRepo | 'after-edit',
  message: CommitRequest,
  onWarning: (text: string) => void,
  options: {checkBelow?: boolean; files: readonly string[] | 'all'},
): Promise<string | undefined> {
  let repo: GitRepo | undefined
  const text = commitMessage(message.subject, message.kind, message.images, message.undoes)
  try {
    // A change finished from its journal had no check before it (prepareWrite's): the one of `git add`'s walk here.
    if (options.checkBelow) await checkGitReadsBelow(dataset.gitFolders)
    repo = commitTo === 'after-edit' ? await GitRepo.open(dataset.root, dataset.gitFolders) : commitTo
    if (!repo) throw new BugError(`History was turned on for ${dataset.root}, but it is in no git repository.`)
    return await repo.commitChange(datasetPathspecs(dataset, repo), changeFilter(dataset, repo, options.files), text, {
      verify: dataset.config.git.verify,
      onDetached: () => onWarning(detachedHeadWarning(message.kind)),
    })
  } catch (error) {
    throw new NotCommittedError(
      error instanceof Error ? error.message : String(error),
      error,
      repo ? commitCommand(repo.top, datasetPathspecs(dataset, repo), message.subject) : undefined,
    )
  }
}

/** The warning before a commit on a detached HEAD (README "Dataset history in git"). */
export function detachedHeadWarning(kind: string): string {
  const what = kind === 'undo' ? 'the undo' : `the ${kind} change`
  return `HEAD is detached (no branch checked out): ${what} is committed on the detached HEAD; \`git switch -c <name>\` keeps it on a branch.`
}

/**
 * Commits an interrupted change that the next command finished from its journal (store/journal.ts), with the
 * commit message its own command would have made (the journal's `commit`, written only when that command was going
 * to commit): an undo finished this way carries its `Lora-Undoes` trailer, so `lora undo` walks the undo stack as
 * after an uninterrupted undo. Nothing is committed when the dataset is in no repository any more.
 * @throws NotCommittedError when git fails (the change is saved; the hint gives the command that commits it)
 */
export async function commitRecovered(
  dataset: Dataset,
  message: CommitRequest,
  ops: readonly JournalOp[],
): Promise<string | undefined> {
  const repo = await GitRepo.open(dataset.root, dataset.gitFolders)
  if (!repo) return undefined
  return commitSaved(dataset, repo, message, warnOnce, {checkBelow: true, files: opFiles(ops)})
}

/** The files journal ops write (relative to the dataset folder): an image's copy or link, a caption, state.json. */
function opFiles(ops: readonly JournalOp[]): string[] {
  return ops.flatMap((op) =>
    journalOpPaths(op).flatMap(({path}) => (typeof path === 'string' && path !== '' ? [path] : [])),
  )
}

/**
 * Which of the files `git status` lists as changed in the dataset's folders a change commits (paths relative to the
 * repository's top folder): everything in `.lora-tagger/` (lora's own; its local files are ignored by its
 * `.gitignore`), in the output folder the caption files (the configured extension), `tags.txt`, `.gitignore` and
 * `.gitattributes` (so that a caption change whose commit failed goes in with the next change), and the files the
 * change wrote or took in (`files`, relative to the dataset folder: images `init` placed, images `status --rescan`
 * took in). An image deleted or replaced by hand, or a file of yours in the output folder, stays out: `git
 * checkout` still restores it, and `lora undo` can undo the change. `'all'`: everything (history turned on).
 */
export function changeFilter(
  dataset: Dataset,
  repo: GitRepo,
  files: readonly string[] | 'all',
): (path: string) => boolean {
  if (files === 'all') return () => true
  const fromTop = (abs: string) => relative(repo.top, abs).split(sep).join('/')
  const meta = fromTop(dataset.paths.meta) + '/'
  const out = fromTop(dataset.paths.output)
  const outPrefix = out === '' ? '' : out + '/'
  const own = new Set(files.map((f) => fromTop(join(dataset.root, f))))
  const ext = dataset.config.captionExtension
  return (path) => {
    if (path.startsWith(meta) || own.has(path)) return true
    if (!path.startsWith(outPrefix)) return false
    const name = path.slice(outPrefix.length)
    if (name.includes('/')) return false
    return name.endsWith(ext) || name === VOCABULARY_FILE || name === '.gitignore' || name === '.gitattributes'
  }
}

/** The shell command that stages and commits the dataset's paths by hand, with the subject lora would have used. */
function commitCommand(top: string, pathspecs: string[], subject: string): string {
  const paths = pathspecs.map(shellQuote).join(' ')
  return `git -C ${shellQuote(top)} add -A -- ${paths} && git -C ${shellQuote(top)} commit -m ${shellQuote(subject)} -- ${paths}`
}

/** Takes the writer lock (finishing an interrupted change), retrying while busy for up to `waitMs`. */
async function lockDataset(dataset: Dataset, command: string, waitMs: number): Promise<HeldLock> {
  const deadline = Date.now() + waitMs
  for (;;) {
    try {
      return await dataset.lock(command)
    } catch (error) {
      if (!(error instanceof DatasetBusyError) || Date.now() >= deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

/** The paths (relative to the repository top) that make up the dataset's history: the output folder and `.lora-tagger/`. */
export function datasetPathspecs(dataset: Dataset, repo: GitRepo): string[] {
  return [relative(repo.top, dataset.paths.output) || '.', relative(repo.top, dataset.paths.meta)]
}

/**
 * Opens the repository enclosing a dataset, for reading its history or for `lora undo`.
 * @throws GitError when there is none, or git is not installed
 */
export async function requireRepository(dataset: Dataset): Promise<GitRepo> {
  const repo = await GitRepo.open(dataset.root, dataset.gitFolders)
  if (!repo) throw noHistoryError(dataset)
  return repo
}

/** The error for a dataset in no git repository, where history is asked for (`lora log`, `blame`, `undo`). */
export function noHistoryError(dataset: Dataset): GitError {
  return new GitError(
    `${dataset.root} is not in a git repository, so it has no history.`,
    'Turn history on with `lora git enable`: changes made from then on can be undone and blamed (earlier ones cannot; `lora tag IMAGE --set`, `--unskip` change an image back by hand).',
  )
}

async function openReadyRepository(dataset: Dataset, history: 'config' | 'repository'): Promise<GitRepo> {
  let repo: GitRepo | undefined
  if (history === 'repository') repo = await requireRepository(dataset)
  else {
    repo = await GitRepo.open(dataset.root, dataset.gitFolders)
    if (!repo)
      throw new GitError(
        `git.autoCommit is on, but ${dataset.root} is not in a git repository; nothing was changed.`,
        'Run `lora git enable`, or set git.autoCommit: false in .lora-tagger/config.yaml.',
      )
  }
  // Each commit's `git add -A` walks the output folder and `.lora-tagger/`, subfolders included.
  await checkGitReadsBelow(dataset.gitFolders)
  await repo.checkReady()
  await checkNotIgnored(dataset, repo)
  return repo
}

/**
 * Checks that git would take the dataset's files: none of `.lora-tagger/state.json`, `.lora-tagger/config.yaml`,
 * the output folder, its `tags.txt`, a caption or an image name is ignored by a `.gitignore` (an enclosing
 * repository's, or the user's global excludes). `git add` refuses an ignored path named on its command line, and
 * skips ignored files inside a folder without a word, so a change made anyway would be saved but never committed.
 * Paths git already tracks are never ignored.
 * @throws GitError naming the ignored path and the rule (file and line) that ignores it; nothing was changed
 */
export async function checkNotIgnored(dataset: Dataset, repo: GitRepo): Promise<void> {
  const top = repo.top
  throwIfIgnored(
    dataset,
    top,
    await repo.checkIgnore(datasetSamplePaths(dataset, top)),
    "the repository's top .gitignore",
  )
}

/**
 * checkNotIgnored for a dataset in no repository yet, whose history turns on by creating one in the dataset
 * folder: asks git as that repository would (adapters/git.ts checkIgnoreBeforeInit), so the user's global
 * excludes (`core.excludesFile`) count, before anything is created.
 * @throws GitError naming the ignored path and the rule; nothing was changed
 */
async function checkNotIgnoredBeforeInit(dataset: Dataset): Promise<void> {
  const check = await checkIgnoreBeforeInit(dataset.root, datasetSamplePaths(dataset, dataset.root))
  throwIfIgnored(dataset, dataset.root, check, "a .gitignore in the dataset folder, the new repository's top")
}

/**
 * The paths whose being ignored would keep a change out of its commit, relative to `top`: the state, the config,
 * the output folder, its `tags.txt`, and a caption and an image of every extension under a name no image has yet
 * (paths git already tracks are never reported, and new images and captions are what a rule such as `*.jpg` would
 * silently leave out).
 */
function datasetSamplePaths(dataset: Dataset, top: string): string[] {
  const {paths, config} = dataset
  const sample = `${config.prefix}99999999`
  const files = [
    paths.state,
    paths.config,
    paths.output,
    join(paths.output, 'tags.txt'),
    join(paths.output, sample + config.captionExtension),
    ...IMAGE_EXTENSIONS.map((ext) => join(paths.output, `${sample}.${ext}`)),
  ]
  return files.map((f) => relative(top, f) || '.')
}

/**
 * Throws the GitError for the first path git ignores (IgnoreCheck, adapters/git.ts), if any, naming the rule that
 * ignores it (pattern, source file and line, as git gives them). Git's text is escaped in the message.
 */
function throwIfIgnored(dataset: Dataset, top: string, checks: readonly IgnoreCheck[], where: string): void {
  const {paths} = dataset
  const first = checks.find((c) => c.ignored)
  if (first === undefined) return
  const {path, pattern, source, line} = first
  const meta = relative(top, paths.meta)
  const unignore =
    path === meta || path.startsWith(meta + '/')
      ? `!/${gitignoreLiteral(meta)}/`
      : `!/${gitignoreLiteral(relative(top, paths.output) || '.')}/**`
  throw new GitError(
    `git ignores ${esc(path)} (rule "${esc(pattern)}" in ${esc(source)}, line ${line}), so this dataset's changes cannot be committed; nothing was changed.`,
    `Let git take the dataset's files: remove that rule, or add a line after it that un-ignores them (\`${esc(unignore)}\` in ${where}); or commit nothing: set git.autoCommit: false in .lora-tagger/config.yaml, or use --no-commit.`,
  )
}

/**
 * `path` as a gitignore pattern that matches it literally (gitignore(5): a backslash escapes the next character;
 * `*`, `?` and `[` are wildcards; trailing spaces are dropped unless escaped).
 */
function gitignoreLiteral(path: string): string {
  return path.replace(/[\\*?[]/gu, '\\$&').replace(/ (?= *$)/gu, '\\ ')
}

/**
 * Checks that history can be turned on for a folder: git installed, the enclosing repository (if any) not
 * mid-merge or locked, git ignoring none of the dataset's files (checkNotIgnored; with no repository yet, as the
 * one created in the dataset folder would, global excludes included), every `.gitignore` and `.gitattributes` in the
 * dataset folder and below a regular file (adapters/git.ts checkGitReadsBelow: the commit and the status after it
 * walk it), and git-lfs installed when asked for.
 * @throws GitError otherwise
 */
async function checkHistoryCanBeEnabled(dataset: Dataset, lfs: boolean): Promise<void> {
  const repo = await GitRepo.open(dataset.root, dataset.gitFolders)
  // The commit walks the output folder and `.lora-tagger/`, and the status after it (leftUntracked) the whole
  // dataset folder, originals' subfolders included.
  await checkGitReadsBelow([dataset.root])
  if (repo) {
    await repo.checkReady()
    await checkNotIgnored(dataset, repo)
  } else {
    await checkIdentity(dataset.root)
    await checkNotIgnoredBeforeInit(dataset)
  }
  if (lfs && !(await hasGitLfs(dataset.root))) {
    throw new GitError(
      '--lfs needs git-lfs, which is not installed; nothing was changed.',
      'Install git-lfs (e.g. `apt install git-lfs`), or enable history without --lfs.',
    )
  }
}
