/**
 * The git adapter: every git call `lora` makes, through simple-git (imported on first use). Commits are always
 * made by pathspec (`git commit -- <paths>`), so changes the user staged elsewhere stay staged and uncommitted.
 */
import {existsSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {tmpdir} from 'node:os'
import {dirname, isAbsolute, join, relative, resolve, sep} from 'node:path'
import {LoraError} from '../errors.js'
import {type OddFileKind, oddFileKindText} from '../core/containment.js'
import {
  type FileKind,
  kindOf,
  linkTargetSync,
  lstatIfExistsSync,
  NotRegularFileError,
  readRegularTextIfExistsSync,
  removeTree,
  resolveReal,
} from './fs.js'
import {listFoldersBelow} from './listing.js'

/** A git failure the user can act on (exit 1). */
export class GitError extends LoraError {
  constructor(message: string, hint: string) {
    super(message, {code: 'git', hint})
  }
}

type SimpleGit = import('simple-git').SimpleGit

/** Environment variables passed through to git: the commit identity and dates. */
const IDENTITY_ENV = [
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_AUTHOR_DATE',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'GIT_COMMITTER_DATE',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_NOSYSTEM',
]

/** A repository, opened at a working folder. */
export class GitRepo {
  private constructor(
    private readonly git: SimpleGit,
    /**
     * The client for the reads that start no other program (`rev-parse --verify`, `var`): done when git's pipes
     * close, so no 50 ms timer of simple-git's outlives them (see client).
     */
    private readonly reader: SimpleGit,
    /** The repository's top folder. */
    readonly top: string,
    /** Its git directory, absolute (`.git` in the top folder, or elsewhere for a worktree). */
    private readonly gitDir: string,
    /** The `-c` settings every git command in it gets (safeConfig). */
    private readonly config: string[],
  ) {}

  /**
   * Opens the repository enclosing `dir`; undefined when `dir` is in none. Every git command run through it gets
   * `safeConfig`'s settings, so that nothing in the repository's own configuration or hooks runs a program. A
   * `.git` in `dir` itself must be the repository's own folder: a `.git` file (`gitdir: …`, as a worktree or
   * submodule has) or link would make lora's commits land in a repository outside the dataset, and a
   * `core.worktree` of its own would move its work tree out of `dir`; both are refused. Before any git process, the
   * files git would open for lora's commands are checked to be regular files (checkGitReads): a FIFO there would
   * make git wait forever.
   * @param folders folders inside the work tree, besides `dir`, whose `.gitattributes` and `.gitignore` git reads
   *   for lora's commands (a dataset's output folder and `.lora-tagger/`: Dataset.gitFolders)
   * @throws GitError when git is not installed, when `dir/.git` is not a folder or leads elsewhere, or when a file
   *   git reads is not a regular file
   */
  static async open(dir: string, folders: readonly string[] = []): Promise<GitRepo | undefined> {
    const own = ownGitFolder(dir)
    checkGitReads(dir, folders)
    const git = await client(dir, {config: ALWAYS_SAFE})
    try {
      // One git process for both: the top folder, then the git directory, one per line. A folder name with a line
      // break in it makes that ambiguous: then each is asked for alone. The configuration is listed alongside.
      const [paths, listing] = await Promise.all([
        git.raw(['rev-parse', '--show-toplevel', '--absolute-git-dir']),
        (await client(dir, {readOnly: true})).raw(['config', '--list', '--show-scope', '-z']),
      ])
      let lines = paths.replace(/\n$/u, '').split('\n')
      if (lines.length !== 2)
        lines = [
          (await git.raw(['rev-parse', '--show-toplevel'])).replace(/\n$/u, ''),
          (await git.raw(['rev-parse', '--absolute-git-dir'])).replace(/\n$/u, ''),
        ]
      const [top, gitDir] = lines
      if (own && (top !== resolveReal(dir) || gitDir !== join(top, '.git')))
        throw notOwnRepository(join(dir, '.git'), `a repository whose work tree is ${top} (core.worktree)`)
      const config = safeConfig(parseConfigList(listing))
      return new GitRepo(await client(top, {config}), await client(top, {readOnly: true, config}), top, gitDir, config)
    } catch (error) {
      if (error instanceof GitError) throw error
      if (/not a git repository/iu.test(messageOf(error))) return undefined
      throw wrap(error, 'open the git repository')
    }
  }

  /** Creates a repository in `dir` (`git init`) and opens it. */
  static async init(dir: string): Promise<GitRepo> {
    const git = await client(dir, {config: ALWAYS_SAFE})
    try {
      await git.raw(['init', '--quiet'])
    } catch (error) {
      throw wrap(error, 'create a git repository')
    }
    return (await GitRepo.open(dir))!
  }

  /**
   * Checks that a commit can be made now: no merge, rebase, cherry-pick or revert in progress, no `index.lock`
   * held by another git process, and an identity to commit with (`git var GIT_AUTHOR_IDENT`/`GIT_COMMITTER_IDENT`).
   * What it cannot see (a hook that refuses, a signing key that is missing) fails at the commit itself.
   * @throws GitError naming the state and what to do
   */
  async checkReady(): Promise<void> {
    const gitDir = this.gitDir
    if (existsSync(join(gitDir, 'index.lock'))) {
      throw new GitError(
        `The git index is locked (${join(gitDir, 'index.lock')} exists); nothing was changed.`,
        'Another git process is running. Wait for it; if none is, remove that file.',
      )
    }
    const states: [string, string][] = [
      ['MERGE_HEAD', 'a merge'],
      ['rebase-merge', 'a rebase'],
      ['rebase-apply', 'a rebase or am'],
      ['CHERRY_PICK_HEAD', 'a cherry-pick'],
      ['REVERT_HEAD', 'a revert'],
    ]
    for (const [file, what] of states) {
      if (existsSync(join(gitDir, file))) {
        throw new GitError(
          `The repository is in the middle of ${what}; nothing was changed.`,
          `Finish or abort it first (git status shows how), then rerun the command.`,
        )
      }
    }
    await checkIdentityWith(this.reader)
  }

  /**
   * Commits the files of one change and nothing else: of the files `git status` lists as changed or untracked under
   * `scope` (pathspecs relative to the top folder: a dataset's output folder and `.lora-tagger/`), those `keep`
   * accepts (each path relative to the top folder, `/`-separated) are staged, additions, changes and deletions, and
   * committed, exactly them (each given to git as a literal pathspec, on its standard input). Anything else changed
   * there (an image deleted or replaced by hand, a file of yours) stays as it was, uncommitted, and what you staged
   * elsewhere stays staged. Returns the new commit's hash; undefined when none of those files differs from HEAD.
   * Hooks run only from a `core.hooksPath` of your global or system git config (see safeConfig), unless `verify` is
   * false (`--no-verify`; config `git.verify: false`). `onDetached` is called (before the commit) when HEAD is
   * detached. Five git processes: status, add, status (branch, HEAD and what is staged, in `--porcelain=v2
   * --branch` form), commit, rev-parse.
   * @throws GitError when git fails (a hook refused, signing failed, no identity)
   */
  async commitChange(
    scope: string[],
    keep: (path: string) => boolean,
    message: string,
    options: {verify?: boolean; onDetached?: () => void} = {},
  ): Promise<string | undefined> {
    // --branch: git always prints (simple-git waits 50 ms more after a git that printed nothing; see client).
    const listed = parseStatusV2(
      await this.run(
        ['status', '--porcelain=v2', '--branch', '--no-ahead-behind', '-z', '--untracked-files=all', '--', ...scope],
        'list the changed dataset files',
      ),
    )
    const paths = [...new Set(listed.paths.filter(keep))]
    if (paths.length === 0) return undefined
    const pathspecs = paths.map((p) => `:(literal)${p}\0`).join('')
    // --verbose: git names what it staged (never silent; see above).
    await this.runWithInput(
      ['add', '-A', '--verbose', '--pathspec-from-file=-', '--pathspec-file-nul'],
      pathspecs,
      'stage the dataset files',
    )
    const status = parseStatusV2(
      await this.run(
        [
          '--no-optional-locks',
          'status',
          '--porcelain=v2',
          '--branch',
          '--no-ahead-behind',
          '-z',
          '--untracked-files=no',
          '--',
          ...scope,
        ],
        'inspect the staged files',
      ),
    )
    if (status.detached) options.onDetached?.()
    const mine = new Set(paths)
    if (!status.stagedPaths.some((p) => mine.has(p))) return undefined
    await this.runWithInput(
      [
        'commit',
        '--quiet',
        ...(options.verify === false ? ['--no-verify'] : []),
        '-m',
        message,
        '--pathspec-from-file=-',
        '--pathspec-file-nul',
      ],
      pathspecs,
      'commit',
    )
    // simple-git takes a failing git that printed nothing on stderr for a success: a hook that exits 1 silently.
    // A commit happened only if HEAD moved.
    const after = await this.head()
    if (!after || after === status.head)
      throw new GitError(
        'git failed to commit: git commit made no commit (a hook refused it without a message?)',
        'Run `git commit` by hand to see why.',
      )
    return after
  }

  /** `run`, with `input` on git's standard input (`--pathspec-from-file=-`). */
  private async runWithInput(args: string[], input: string, what: string): Promise<string> {
    try {
      return await (await client(this.top, {config: this.config, input})).raw(args)
    } catch (error) {
      throw wrap(error, what)
    }
  }

  /**
   * True when HEAD names a commit; false in a repository with no commit yet (an unborn branch). `rev-parse
   * --verify --quiet` fails silently only in that case (simple-git then resolves with empty output); a damaged
   * repository makes git print an error.
   * @throws GitError when git fails otherwise
   */
  async hasHead(): Promise<boolean> {
    return (await this.head()) !== undefined
  }

  /**
   * The commit HEAD points at (40 hex digits), or undefined when the repository has no commit yet; one git process
   * (see hasHead).
   * @throws GitError when git fails otherwise
   */
  async head(): Promise<string | undefined> {
    return (await this.read(['rev-parse', '--verify', '--quiet', 'HEAD'], 'read HEAD')).trim() || undefined
  }

  /** Runs git with `args` in the top folder; returns stdout. */
  async run(args: string[], what: string): Promise<string> {
    try {
      return await this.git.raw(args)
    } catch (error) {
      throw wrap(error, what)
    }
  }

  /**
   * Runs git with `args` in the top folder for a read that starts no other program (no hook, filter, fsmonitor,
   * pager, external diff or textconv: `rev-parse --verify`, `var`; not a command that reads the index, which may
   * run the user's fsmonitor hook); returns stdout. Done when git's pipes close (see client's `readOnly`).
   */
  async read(args: string[], what: string): Promise<string> {
    try {
      return await this.reader.raw(args)
    } catch (error) {
      throw wrap(error, what)
    }
  }

  /**
   * The sizes in bytes of the objects `specs` name (`<rev>:<path>`, the path relative to the top folder, or an
   * object's hash), in order; undefined for one that does not exist. One git process, `cat-file --batch-check`, which
   * reads no object's content: a blob's size is known before it is read (a caption in history may be any size).
   * A spec must hold no line break.
   * @throws GitError when git fails
   */
  async objectSizes(specs: readonly string[]): Promise<(number | undefined)[]> {
    if (specs.length === 0) return []
    try {
      const git = await this.batchClient(specs)
      return parseObjectSizes(await git.raw(['cat-file', '--batch-check=%(objectsize)']), specs.length)
    } catch (error) {
      throw wrap(error, 'read the size of a file in the history')
    }
  }

  /** A client for `cat-file --batch…` in the top folder, which reads `specs` on its standard input, one per line. */
  private batchClient(specs: readonly string[]): Promise<SimpleGit> {
    return client(this.top, {readOnly: true, input: specs.map((s) => s + '\n').join(''), config: this.config})
  }

  /**
   * The texts (UTF-8) of the files `specs` name (`<rev>:<path>`, the path relative to the top folder), in order;
   * undefined for one that does not exist. One git process, `cat-file --batch`, however many files (a `git show` each
   * cost a process, and 50 ms more for an empty file: simple-git waits after a git that printed nothing). Check the
   * sizes first (objectSizes) where a file may be large: every content is read whole. A spec must hold no line break.
   * @throws GitError when git fails
   */
  async readBlobs(specs: readonly string[]): Promise<(string | undefined)[]> {
    if (specs.length === 0) return []
    let out: Buffer
    try {
      const git = await this.batchClient(specs)
      // simple-git types its result as any: it is the output as a Buffer (`_catFile('buffer', …)`).
      out = (await git.binaryCatFile(['--batch'])) as Buffer
    } catch (error) {
      throw wrap(error, 'read a file in the history')
    }
    return parseCatFileBatch(out, specs.length)
  }

  /**
   * IgnoreCheck of `paths` (relative to the top folder) in this repository.
   * @throws GitError when git fails
   */
  async checkIgnore(paths: readonly string[]): Promise<IgnoreCheck[]> {
    try {
      return await ignoreCheck(await client(this.top, {input: nulJoined(paths), config: this.config}), [], paths)
    } catch (error) {
      throw wrap(error, 'check which dataset files git ignores')
    }
  }
}

/**
 * Runs git with `args` in `dir`, without asking first where its repository is: git finds the repository enclosing
 * `dir` itself, as `GitRepo.open` does, so a read that needs nothing else from the repository is one git process
 * instead of two (`open`'s `rev-parse`, then the command). Paths in `args` are relative to `dir`, and git's own
 * output names paths relative to the repository's top unless `args` say otherwise (`--relative`). The client is
 * the same as every other call's (the identity variables only; simple-git's guards against unsafe options), but
 * for how it tells that git is done: only by its pipes closing (see `client`'s `readOnly`), so `args` must be a
 * read that starts no other program (no hook, filter, external diff, textconv or pager): `git log --no-ext-diff
 * --no-textconv` without a terminal is one.
 * @param folders as for `GitRepo.open` (checkGitReads)
 * @param input what git reads on its standard input when `args` hold `--stdin` or `--batch…` (`cat-file`)
 * @returns git's stdout, or undefined when `dir` is in no repository (git says "not a git repository", the case
 *   `GitRepo.open` reads as no repository)
 * @throws GitError when git is not installed or fails otherwise (`what` names the step, as for `GitRepo.run`), or
 *   when a file git reads is not a regular file (checkGitReads)
 */
export async function runInFolder(
  dir: string,
  args: string[],
  what: string,
  folders: readonly string[] = [],
  input?: string,
): Promise<string | undefined> {
  const out = await runInFolderUntil(dir, args, what, folders, () => false, input)
  return out === STOPPED ? undefined : out
}

/** What runInFolderUntil returns when its `stop` said to stop. */
export const STOPPED: unique symbol = Symbol('stopped')

/**
 * runInFolder, with git's stdout watched as it comes: when `stop`, given each chunk in order, returns true, git is
 * killed then (SIGINT), and what it wrote is dropped, so that no more of it than `stop` lets through is held.
 * @returns git's stdout; undefined when `dir` is in no repository; STOPPED when `stop` stopped it
 * @throws as runInFolder
 */
export async function runInFolderUntil(
  dir: string,
  args: string[],
  what: string,
  folders: readonly string[],
  stop: (chunk: Buffer) => boolean,
  input?: string,
): Promise<string | undefined | typeof STOPPED> {
  ownGitFolder(dir)
  checkGitReads(dir, folders)
  const abort = new AbortController()
  const git = await client(dir, {readOnly: true, config: ALWAYS_SAFE, input, abort: abort.signal})
  git.outputHandler((_command, stdout) => {
    stdout.on('data', (chunk: Buffer) => {
      if (!abort.signal.aborted && stop(chunk)) abort.abort()
    })
  })
  try {
    return await git.raw(args)
  } catch (error) {
    if (abort.signal.aborted) return STOPPED
    if (/not a git repository/iu.test(messageOf(error))) return undefined
    throw wrap(error, what)
  }
}

/**
 * Parses `git cat-file --batch` output (git-cat-file(1), "BATCH OUTPUT"): for each object asked, `<oid> <type>
 * <size>` LF, then `<size>` bytes of content and a LF; or `<spec> missing` LF (also `ambiguous`). Contents are
 * decoded as UTF-8.
 * @throws Error when the output does not hold `count` answers
 */
export function parseCatFileBatch(out: Buffer, count: number): (string | undefined)[] {
  const texts: (string | undefined)[] = []
  let at = 0
  while (texts.length < count) {
    const eol = out.indexOf(0x0a, at)
    if (eol < 0) throw new Error(`git cat-file --batch gave ${texts.length} answers for ${count} objects`)
    const header = out.toString('utf8', at, eol)
    const found = /^[0-9a-f]+ \S+ (\d+)$/u.exec(header)
    if (!found) {
      texts.push(undefined)
      at = eol + 1
      continue
    }
    const size = Number(found[1])
    texts.push(out.toString('utf8', eol + 1, eol + 1 + size))
    at = eol + 1 + size + 1
  }
  return texts
}

/**
 * Parses `git cat-file --batch-check=%(objectsize)` output: one line per object asked, its size, or `<spec> missing`
 * (also `ambiguous`) for one that is not there.
 * @throws Error when git does not give one line per object
 */
export function parseObjectSizes(text: string, count: number): (number | undefined)[] {
  const lines = text.split('\n').slice(0, count)
  if (lines.length !== count) throw new Error(`git cat-file gave ${lines.length} lines for ${count} objects`)
  return lines.map((line) => (/^\d+$/u.test(line) ? Number(line) : undefined))
}

/**
 * The paths of `git status --porcelain=v1 -z --branch` output (git-status(1), "Short Format"): one `XY path` entry per
 * file, NUL-terminated, after the branch entry (`## main`), which is left out.
 */
export function statusPaths(text: string): string[] {
  return text
    .split('\0')
    .filter((e) => e.length > 3 && !e.startsWith('## '))
    .map((e) => e.slice(3))
}

/** What `git status --porcelain=v2 --branch -z` says about HEAD, the index and the work tree. */
interface StatusV2 {
  /** The commit HEAD points at; undefined before the first commit (`(initial)`). */
  head: string | undefined
  /** True when HEAD is detached (`# branch.head (detached)`). */
  detached: boolean
  /** True when the index differs from HEAD for some path (an entry whose X, the staged status, is not `.`). */
  staged: boolean
  /** The paths whose index differs from HEAD (relative to the top folder). */
  stagedPaths: string[]
  /**
   * Every path listed: changed in the index or the work tree, unmerged, or untracked (`? path`); for a rename or
   * copy, both paths.
   */
  paths: string[]
}

/**
 * Parses `git status --porcelain=v2 --branch -z` (git-status(1), "Porcelain Format Version 2"): NUL-terminated
 * records; `# branch.oid <hash | (initial)>`, `# branch.head <name | (detached)>`; changed entries `1 XY …`,
 * renamed or copied `2 XY …` (followed by one more record, the original path) and unmerged `u XY …`, where X is the
 * index's status against HEAD (`.` for unchanged).
 */
export function parseStatusV2(text: string): StatusV2 {
  const status: StatusV2 = {head: undefined, detached: false, staged: false, stagedPaths: [], paths: []}
  const records = text.split('\0')
  for (let i = 0; i < records.length; i++) {
    const record = records[i]
    if (record.startsWith('# branch.oid ')) {
      const oid = record.slice('# branch.oid '.length)
      status.head = oid === '(initial)' ? undefined : oid
    } else if (record === '# branch.head (detached)') status.detached = true
    else if (/^[12u] /u.test(record)) {
      // The path follows a fixed number of space-separated fields: 8 for `1`, 9 for `2` (its score), 10 for `u`.
      const fields = record[0] === '1' ? 8 : record[0] === '2' ? 9 : 10
      let at = 0
      for (let f = 0; f < fields && at >= 0; f++) at = record.indexOf(' ', at) + 1
      const path = record.slice(at)
      status.paths.push(path)
      if (record[2] !== '.') {
        status.staged = true
        status.stagedPaths.push(path)
      }
      if (record[0] === '2') {
        i++
        status.paths.push(records[i])
        if (record[2] !== '.') status.stagedPaths.push(records[i])
      }
    } else if (record.startsWith('? ')) status.paths.push(record.slice(2))
  }
  return status
}

/**
 * What git says of one path a dataset needs committed (GitRepo.checkIgnore, checkIgnoreBeforeInit), from a record of
 * `git check-ignore --stdin -z --verbose --non-matching` (git-check-ignore(1): `source NUL line NUL pattern NUL path
 * NUL`, never quoted; all three empty when no pattern matches the path). A matching pattern that starts with `!`
 * un-ignores the path (a literal leading `!` is written `\!`), which is how plain `check-ignore` decides too.
 */
export interface IgnoreCheck {
  /** The path as asked (relative to the repository's top folder). */
  path: string
  /** True when git ignores the path. */
  ignored: boolean
  /** The last pattern that matched, as written in its source; '' when none did. */
  pattern: string
  /** Where that pattern is (a file, relative to the top folder or absolute); '' when none matched. */
  source: string
  /** Its line number in `source` (from 1); 0 when none matched. */
  line: number
}

/** The paths NUL-terminated, as `check-ignore --stdin -z` reads them. */
function nulJoined(paths: readonly string[]): string {
  return paths.map((p) => p + '\0').join('')
}

/**
 * Runs the IgnoreCheck of `paths` with `git` (a client whose stdin input is `nulJoined(paths)`), `prefix` before
 * `check-ignore`: one git process, which prints a record for every path (so simple-git never waits on silence).
 * @throws whatever git throws; an Error when git does not give one record per path
 */
async function ignoreCheck(git: SimpleGit, prefix: string[], paths: readonly string[]): Promise<IgnoreCheck[]> {
  if (paths.length === 0) return []
  const out = await git.raw([...prefix, 'check-ignore', '--stdin', '-z', '--verbose', '--non-matching'])
  const fields = out.split('\0')
  const checks: IgnoreCheck[] = []
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const [source, line, pattern, path] = fields.slice(i, i + 4)
    checks.push({path, source, line: Number(line) || 0, pattern, ignored: pattern !== '' && !pattern.startsWith('!')})
  }
  if (checks.length !== paths.length || checks.some((c, i) => c.path !== paths[i]))
    throw new Error(`git check-ignore gave ${checks.length} records for ${paths.length} paths`)
  return checks
}

/**
 * IgnoreCheck for a repository that does not exist yet but would be created at `dir` (`git init`
 * there, as `lora git enable` does): git runs with a throw-away git directory (made in the system's temp folder,
 * removed after) and `dir` as its work tree, so it reads the user's real configuration: the global excludes
 * (`core.excludesFile`, default `$XDG_CONFIG_HOME/git/ignore`), the system config, and any `.gitignore` already in
 * `dir`. Nothing is written in `dir`.
 * @param paths relative to `dir`
 * @throws GitError when git is not installed or fails, or when a file it reads is not a regular file (checkGitReads)
 */
export async function checkIgnoreBeforeInit(dir: string, paths: readonly string[]): Promise<IgnoreCheck[]> {
  // git reads the `.gitignore` of every folder on the way to each path, `dir` the top one.
  checkGitReads(dir)
  const folders = new Set([dir])
  for (const path of paths)
    for (let folder = dirname(join(dir, path)); folder.startsWith(dir + sep); folder = dirname(folder))
      folders.add(folder)
  checkWorkTreeFiles(folders)
  // `--git-dir` must be allowed explicitly (simple-git refuses it otherwise): here it names only our scratch folder.
  const git = await client(dir, {unsafe: {allowUnsafeConfigPaths: true}, input: nulJoined(paths)})
  const scratch = join(tmpdir(), `lora-check-ignore-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await git.raw(['init', '--quiet', scratch])
    return await ignoreCheck(git, ['--git-dir', join(scratch, '.git'), '--work-tree', dir], paths)
  } catch (error) {
    throw wrap(error, 'check which dataset files git ignores')
  } finally {
    await removeTree(scratch)
  }
}

/**
 * True when `git lfs` is installed (`git lfs version` succeeds).
 * @throws GitError when git itself is not installed (that is not "no git-lfs"), or when a file git reads is not a
 *   regular file (checkGitReads)
 */
export async function hasGitLfs(dir: string): Promise<boolean> {
  checkGitReads(dir)
  const git = await client(dir, {config: ALWAYS_SAFE})
  try {
    await git.raw(['lfs', 'version'])
    return true
  } catch (error) {
    if (gitMissing(error)) throw wrap(error, 'run git')
    // git runs but `lfs` is not one of its commands
    return false
  }
}

/**
 * A simple-git client for `dir`. It starts no process: a missing git shows on the first command, whose spawn fails
 * (`spawn git ENOENT`), and `wrap` turns that into "git is not installed" (checking `git --version` first cost every
 * run a git process of its own).
 *
 * How simple-git tells that a git process is done (its `completion` option): by default when its pipes close, or 50
 * ms after it exits, whichever comes first (the second for a program git started that outlives it and holds a pipe
 * open: a hook's background job). Its 50 ms timer is left running either way, and it holds the process: a command
 * whose last step is a git call ends 50 ms after it. With `readOnly`, only the pipes closing counts (no timer); only
 * for a git command that starts no other program (runInFolder, GitRepo.read). Besides, simple-git waits 50 ms more
 * after a git that printed nothing on stdout or stderr, whatever the option: lora asks git to say what it did where
 * it can (`add --verbose`, `check-ignore --non-matching`); `commit --quiet` still waits, and so do `add` with nothing
 * to stage and `rev-parse --verify --quiet HEAD` before the first commit.
 * @param options.unsafe simple-git's `unsafe` options (checkIgnoreBeforeInit's `--git-dir`)
 * @param options.input what a git command given `--stdin` or `--batch…` reads (check-ignore, cat-file)
 * @param options.config `key=value` settings passed to every command as `-c` (safeConfig)
 * @param options.abort kills the running command when aborted
 */
async function client(
  dir: string,
  options: {
    unsafe?: {allowUnsafeConfigPaths: boolean}
    readOnly?: boolean
    input?: string
    config?: string[]
    abort?: AbortSignal
  } = {},
): Promise<SimpleGit> {
  const {simpleGit} = await import('simple-git')
  // simple-git drops GIT_* variables by default; keep the ones that set who commits and when, as git would.
  return simpleGit({
    baseDir: dir,
    maxConcurrentProcesses: 1,
    trimmed: false,
    allowEnvironment: IDENTITY_ENV,
    config: options.config ?? [],
    // simple-git refuses `-c` settings that could run a program unless allowed; safeConfig's settings are lora's
    // own neutral values (or your global config's), never taken from a dataset.
    ...(options.unsafe || options.config
      ? {
          unsafe: {
            ...options.unsafe,
            ...(options.config
              ? {
                  allowUnsafeFsMonitor: true,
                  allowUnsafeHooksPath: true,
                  allowUnsafeFilter: true,
                  allowUnsafeGpgProgram: true,
                }
              : {}),
          },
        }
      : {}),
    ...(options.readOnly ? {completion: {onClose: true, onExit: false}} : {}),
    // Kills the running git when aborted (runInFolderUntil).
    ...(options.abort ? {abort: options.abort} : {}),
    // What a command reading its standard input gets there (check-ignore --stdin, cat-file --batch, add and commit
    // --pathspec-from-file=-; the others get none).
    ...(options.input === undefined
      ? {}
      : {
          input: (commands: readonly string[]) =>
            commands.includes('--stdin') ||
            commands.includes('--pathspec-from-file=-') ||
            commands.some((c) => c.startsWith('--batch'))
              ? options.input
              : undefined,
        }),
  })
}

/** True when git could not be started at all (simple-git's error for a failed spawn: `spawn git ENOENT`). */
function gitMissing(error: unknown): boolean {
  return /\bspawn git\b/u.test(messageOf(error))
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function wrap(error: unknown, what: string): GitError {
  if (gitMissing(error))
    return new GitError(
      'git is not installed (no `git` command found).',
      'Install git, or turn dataset history off: `git: {autoCommit: false}` in .lora-tagger/config.yaml.',
    )
  return new GitError(
    `git failed to ${what}: ${messageOf(error).trim().split('\n').slice(0, 3).join(' ')}`,
    'Check `git status` in the dataset folder.',
  )
}

/**
 * True when `dir` holds a `.git` folder (the repository is then `dir`'s own), false when it holds no `.git` (git
 * looks in the folders above).
 * @throws GitError when `dir/.git` is a symbolic link or a file (`gitdir: …`): git would follow it out of `dir`
 */
function ownGitFolder(dir: string): boolean {
  const own = lstatIfExistsSync(join(dir, '.git'))
  if (own && !own.isDirectory())
    throw notOwnRepository(join(dir, '.git'), own.isSymbolicLink() ? 'a symbolic link' : 'not a folder')
  return own !== undefined
}

/**
 * The files of a git directory that git opens for lora's commands (read, or written: `COMMIT_EDITMSG`, the reflog),
 * whichever exist: those of the worktree's own git directory, then those of the common one (the same folder but
 * for a linked worktree). The ref HEAD names (`refs/heads/main`) and its reflog are added by checkGitReads.
 */
const GIT_DIR_FILES = ['HEAD', 'index', 'config.worktree', 'logs/HEAD', 'COMMIT_EDITMSG', 'sequencer/todo']
const COMMON_DIR_FILES = [
  'config',
  'packed-refs',
  'shallow',
  'info/attributes',
  'info/exclude',
  'info/grafts',
  'objects/info/alternates',
  'objects/info/commit-graph',
  'objects/info/commit-graphs/commit-graph-chain',
]
/** The files of a work tree's folders that git reads: in every folder on the way to a path (`.mailmap` too in the top one). */
const WORK_TREE_FILES = ['.gitattributes', '.gitignore']

/**
 * Checks, before any git process runs in `dir`, that every file git would open for lora's commands is a regular
 * file (README "Safety model": a dataset, `.git` included, may come from a stranger). git opens them without
 * looking: a FIFO where it expects `.git/HEAD`, `.git/config`, `.git/index` or a `.gitattributes` makes it wait
 * forever, and with it every lora command that runs git. The repository is found as git finds it, without running
 * git: the first folder from `dir` up holding a `.git` (a folder, or a `gitdir:` file as a linked worktree has;
 * `commondir` followed). Checked: the git directory's files (GIT_DIR_FILES, COMMON_DIR_FILES, the ref HEAD names and
 * its reflog), and `.gitattributes` and `.gitignore` in each folder from the top folder down to `dir` (with
 * `.mailmap` in the top one) and in `folders`. A symbolic link counts as what it leads to (lstat, readlink, no
 * open). About twenty lstat calls, a read of HEAD; nothing when `dir` is in no repository but the `HEAD` check of
 * each folder on the way up (git takes a folder holding `objects/`, `refs/` and `HEAD` for a bare repository).
 * Git objects themselves are not checked.
 * @param folders folders inside the work tree whose `.gitattributes` and `.gitignore` git reads besides those
 * @throws GitError naming the first file that is not a regular file (a FIFO, socket, device or folder, or a link to
 *   one) and what it is; nothing was changed
 */
export function checkGitReads(dir: string, folders: readonly string[] = []): void {
  const start = resolveReal(dir)
  const found = findGitDir(start)
  if (!found) return
  const {top, gitDir} = found
  const common = commonDirOf(gitDir)
  for (const file of GIT_DIR_FILES) checkRegularForGit(join(gitDir, file))
  for (const file of COMMON_DIR_FILES) checkRegularForGit(join(common, file))
  const ref = /^ref: (refs\/[^\n]+)\n?$/u.exec(readForGit(join(gitDir, 'HEAD')) ?? '')?.[1]
  if (ref && !ref.split('/').includes('..')) {
    checkRegularForGit(join(common, ref))
    checkRegularForGit(join(common, 'logs', ref))
  }
  checkRegularForGit(join(top, '.mailmap'))
  const below = relative(top, start)
  const steps = below === '' ? [] : below.split(sep)
  checkWorkTreeFiles([top, ...steps.map((_, i) => join(top, ...steps.slice(0, i + 1))), ...folders])
}

/**
 * checkGitReads for the folders below `trees` that a git command walking them enters (`git add -A -- <folder>`,
 * `git status` with untracked or ignored files): git reads the `.gitignore` of every folder it walks and
 * the `.gitattributes` of every folder holding a file it stages, so a FIFO there (in a subfolder of the output
 * folder, of `.lora-tagger/`, of the originals) would make it wait forever. The folders are listed by fast-glob
 * (adapters/listing.ts listFoldersBelow: dot folders entered, links not followed, `.git` folders skipped), then each
 * one's two files checked as checkGitReads checks them (lstat, readlink; nothing opened): one walk of each tree,
 * then two lstat calls per folder. `trees` themselves are checked too. Run before such a git command, after
 * checkGitReads (GitRepo.open), which checks the folders above.
 * @param trees absolute folders inside the work tree (a dataset's output folder and `.lora-tagger/`: Dataset.gitFolders;
 *   the dataset folder for `lora git enable`); one that does not exist is passed over
 * @throws GitError naming the first `.gitignore` or `.gitattributes` that is not a regular file (as checkGitReads);
 *   nothing was changed
 */
export async function checkGitReadsBelow(trees: readonly string[]): Promise<void> {
  for (const tree of trees) {
    const folders = await listFoldersBelow(tree, ['.git'])
    checkWorkTreeFiles([tree, ...folders.map((f) => join(tree, f))])
  }
}

/**
 * checkRegularForGit of the `.gitattributes` and `.gitignore` in each of `folders` (folders of a work tree).
 * @throws GitError naming the first that is not a regular file
 */
function checkWorkTreeFiles(folders: Iterable<string>): void {
  for (const folder of folders) for (const file of WORK_TREE_FILES) checkRegularForGit(join(folder, file))
}

/**
 * The repository enclosing `start` (a real path) as git's discovery finds it: its top folder and its git directory;
 * undefined when there is none. A `.git` that is neither a folder nor a regular file is passed over, as git does.
 * @throws GitError when a file git opens on the way (a `.git` file, a bare repository's `HEAD`) is not a regular file
 */
function findGitDir(start: string): {top: string; gitDir: string} | undefined {
  for (let level = start; ; level = dirname(level)) {
    const dotGit = join(level, '.git')
    const kind = kindFollowed(dotGit)
    if (kind === 'folder') return {top: level, gitDir: dotGit}
    if (kind === 'file') {
      const target = /^gitdir: (.+?)\r?\n?$/u.exec(readForGit(dotGit) ?? '')?.[1]
      if (target !== undefined) return {top: level, gitDir: isAbsolute(target) ? target : resolve(level, target)}
    }
    if (kind === undefined && kindFollowed(join(level, 'objects')) === 'folder') checkRegularForGit(join(level, 'HEAD'))
    if (dirname(level) === level) return undefined
  }
}

/** The common git directory of `gitDir`: what its `commondir` file names (a linked worktree's), else itself. */
function commonDirOf(gitDir: string): string {
  const named = readForGit(join(gitDir, 'commondir'))?.trim()
  return named ? resolve(gitDir, named) : gitDir
}

/**
 * What is at `path`, a symbolic link followed (without opening anything); undefined when nothing is, or a link
 * leads nowhere reachable.
 */
function kindFollowed(path: string): FileKind | undefined {
  const st = lstatIfExistsSync(path)
  if (!st) return undefined
  const kind = kindOf(st)
  return kind === 'symlink' ? linkTargetSync(path)?.kind : kind
}

/**
 * Reads a small file git reads (a `.git` file, `commondir`), never opening a FIFO or device (checkRegularForGit
 * first); undefined when it is not there.
 * @throws GitError when it is not a regular file
 */
function readForGit(path: string): string | undefined {
  checkRegularForGit(path)
  try {
    return readRegularTextIfExistsSync(path)
  } catch (error) {
    // A link to a regular file (checked above): read what it leads to, as git does.
    if (error instanceof NotRegularFileError) return readRegularTextIfExistsSync(linkTargetSync(path)!.real)
    throw error
  }
}

/**
 * Checks that `path`, when something is there, is a regular file or a symbolic link to one (git follows links in
 * its own folder; a link that leads nowhere, git reads as missing).
 * @throws GitError naming it and what it is
 */
function checkRegularForGit(path: string): void {
  const st = lstatIfExistsSync(path)
  if (!st || st.isFile()) return
  const kind = kindOf(st)
  if (kind !== 'symlink') throw notRegularForGit(path, oddFileKindText(kind as OddFileKind))
  const target = linkTargetSync(path)
  if (target && target.kind !== 'file')
    throw notRegularForGit(path, `a symbolic link to ${oddFileKindText(target.kind)}`)
}

/** A file git would open that is not a regular file (see checkGitReads). */
function notRegularForGit(path: string, what: string): GitError {
  return new GitError(
    `${path} is ${what}, where git reads a regular file: git would open it and could wait on it forever; nothing was changed.`,
    'A dataset from elsewhere may hold one: replace it with a regular file or remove it, then rerun; lora runs no git command on this repository until then.',
  )
}

/**
 * Checks that git has an identity to commit with when run in `dir`, which may be in no repository yet (`lora init
 * --git`, `lora git enable` before `git init`): then your global config and environment decide, as they will for the
 * repository lora creates.
 * @throws GitError naming what git says is missing, or when a file git reads is not a regular file (checkGitReads)
 */
export async function checkIdentity(dir: string): Promise<void> {
  checkGitReads(dir)
  await checkIdentityWith(await client(dir, {readOnly: true, config: ALWAYS_SAFE}))
}

/** `git var GIT_AUTHOR_IDENT` and `GIT_COMMITTER_IDENT` with `git` (see checkIdentity). */
async function checkIdentityWith(git: SimpleGit): Promise<void> {
  for (const who of ['GIT_AUTHOR_IDENT', 'GIT_COMMITTER_IDENT']) {
    try {
      await git.raw(['var', who])
    } catch (error) {
      throw new GitError(
        `git has no identity to commit with (${
          messageOf(error)
            .trim()
            .split('\n')
            .find((l) => /identity|email|name/iu.test(l)) ?? 'user.name / user.email unset'
        }); nothing was changed.`,
        'Tell git who you are: git config --global user.name "Your Name" && git config --global user.email you@example.com',
      )
    }
  }
}

/** A `.git` in the dataset folder that is not the repository's own folder (see GitRepo.open). */
function notOwnRepository(path: string, what: string): GitError {
  return new GitError(
    `${path} is ${what}: lora keeps a dataset's history only in a repository of the dataset's own, so nothing outside it is written; nothing was changed.`,
    "If the repository is yours, commit with git yourself and turn lora's commits off (`git: {autoCommit: false}` in .lora-tagger/config.yaml), or move the dataset into a repository of its own (`git init` in the dataset folder).",
  )
}

/** One setting from `git config --list --show-scope -z`. */
export interface ConfigEntry {
  /** Where it was read: `system`, `global`, `local`, `worktree`, `command` (a file a `local` one includes is `local`). */
  scope: string
  /** As git prints it: section and name in lower case, a subsection as written (`filter.Evil.clean`). */
  key: string
  /** The value; undefined for a key written without one (a true boolean). */
  value: string | undefined
}

/**
 * Parses `git config --list --show-scope -z` (git-config(1), `--null`: each entry is `scope NUL key LF value NUL`,
 * or `scope NUL key NUL` for a key without a value).
 */
export function parseConfigList(text: string): ConfigEntry[] {
  const fields = text.split('\0')
  const entries: ConfigEntry[] = []
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [scope, record] = [fields[i], fields[i + 1]]
    const cut = record.indexOf('\n')
    entries.push(
      cut < 0
        ? {scope, key: record, value: undefined}
        : {scope, key: record.slice(0, cut), value: record.slice(cut + 1)},
    )
  }
  return entries
}

/** What every git command lora runs in a dataset gets, whatever the repository says (see safeConfig). */
const ALWAYS_SAFE = ['core.fsmonitor=false', 'log.showSignature=false']

/**
 * The filter `git lfs install --local` writes into a repository's own config (`lora init --git --lfs` runs it):
 * exactly these values are kept, as they run git-lfs, a program you installed, on the file; any other value of
 * these keys is replaced as for any filter.
 */
const GIT_LFS_FILTER: Record<string, string> = {
  'filter.lfs.clean': 'git-lfs clean -- %f',
  'filter.lfs.smudge': 'git-lfs smudge -- %f',
  'filter.lfs.process': 'git-lfs filter-process',
  'filter.lfs.required': 'true',
}

/** The settings of a repository's own configuration that name a program git runs, and their value when unset. */
const PROGRAM_KEYS: [RegExp, string][] = [
  [/^filter\..+\.(clean|smudge|process)$/u, ''],
  [/^filter\..+\.required$/u, 'false'],
  [/^gpg\.(program|[^.]+\.program|ssh\.defaultkeycommand)$/u, ''],
]

/**
 * The `-c` settings that make a repository's own configuration and folder run no program when lora runs git in it
 * (README "Safety model": a dataset is data, not code, and its `.git` may come from a stranger, in an archive).
 * Settings given with `-c` win over every configuration file:
 * - `core.fsmonitor=false` (git runs an fsmonitor hook on each command that reads the index) and
 *   `log.showSignature=false` (checking a signature runs gpg);
 * - `core.hooksPath`: the one your global or system config sets, else `/dev/null`, so no hook in the repository's
 *   `.git/hooks` (nor a hooks path of its own) runs;
 * - each filter driver's `clean`, `smudge`, `process` and `required`, and each gpg program, that the repository's
 *   own config sets (scope `local` or `worktree`): the value your global or system config gives that key (git-lfs's
 *   filter, set by `git lfs install`, keeps working), else empty (git then runs no filter) or `false`; when it
 *   sets a gpg program, `commit.gpgSign=false` too. git-lfs's own filter as `git lfs install --local` writes it
 *   (GIT_LFS_FILTER) is kept.
 * Diff drivers are left: lora runs git's diffs with `--no-ext-diff --no-textconv`. Network settings are left:
 * lora runs no network command.
 * @param entries `git config --list --show-scope -z` in the repository (parseConfigList)
 * @returns `key=value` strings for simple-git's `config` option
 */
export function safeConfig(entries: readonly ConfigEntry[]): string[] {
  const yours = (key: string): string | undefined => {
    let value: string | undefined
    for (const e of entries) if ((e.scope === 'global' || e.scope === 'system') && e.key === key) value = e.value
    return value
  }
  const settings = new Map<string, string>([['core.hooksPath', yours('core.hookspath') ?? '/dev/null']])
  for (const {scope, key, value} of entries) {
    if (scope !== 'local' && scope !== 'worktree') continue
    const program = PROGRAM_KEYS.find(([pattern]) => pattern.test(key))
    if (!program || (value !== undefined && GIT_LFS_FILTER[key] === value)) continue
    settings.set(key, yours(key) ?? program[1])
    if (key.startsWith('gpg.')) settings.set('commit.gpgSign', 'false')
  }
  return [...ALWAYS_SAFE, ...[...settings].map(([key, value]) => `${key}=${value}`)]
}
