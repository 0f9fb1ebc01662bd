/**
 * Folder listings (fast-glob, imported on first use): the one place lora walks a folder tree. Reads only; nothing
 * here changes a file, so the fs adapter's failpoint seam does not count these calls.
 *
 * Folders named with a line break: fast-glob matches paths with picomatch's regular expressions, whose `**` is built
 * from `.`, which matches no line terminator (LF, CR, U+2028, U+2029). A pattern's `*` still matches such a name, so
 * fast-glob lists a folder named `a<LF>b`, but no `**` pattern matches anything below it: its files were never found
 * (validate did not check them, init -r did not import them). So after each walk, every folder it listed whose name
 * holds a line break (a real folder: not a link, not a dot folder, not a folder skipped) is walked again by fast-glob
 * with that folder as `cwd`, where the line break is in the cwd and in no path matched; the entries found are
 * prefixed with the folder's path, and a folder named with a line break below it is found and walked the same way.
 * No path is ever put into a pattern but a skipped folder's, escaped with `fg.escapePath`.
 */
import {join} from 'node:path'
import {BugError} from '../errors.js'
import {type FileKind, kindOf} from './fs.js'

/** What a listed entry is, from its directory entry (lstat-like: a symbolic link is `symlink`, never followed). */
export type EntryKind = 'file' | 'symlink' | 'folder' | 'other'

/** One listed entry: its path relative to the folder listed, `/`-separated, and its kind. */
export interface ListedEntry {
  path: string
  kind: EntryKind
}

/** A line terminator: what `.` in a JavaScript regular expression (and so picomatch's `**`) does not match. */
const LINE_BREAK = /[\n\r\u2028\u2029]/u

/** An entry of one fast-glob walk in object mode (the part of fast-glob's Entry used here). */
interface WalkEntry {
  path: string
  dirent: {
    isFile(): boolean
    isDirectory(): boolean
    isSymbolicLink(): boolean
    isFIFO(): boolean
    isCharacterDevice(): boolean
    isBlockDevice(): boolean
    isSocket(): boolean
  }
}

/** What one walk of one folder found: its entries, relative to it, and the folders to walk again (relative too). */
interface WalkResult {
  entries: WalkEntry[]
  again: string[]
}

/**
 * Walks `root` with `walk`, then every folder `walk` names to walk again, and the ones those name, and so on.
 * @param walk lists one folder: `cwd` is the folder, `prefix` its path relative to `root` ('' for `root` itself)
 * @returns every entry found, its path relative to `root`
 */
async function walkTree(
  root: string,
  walk: (cwd: string, prefix: string) => Promise<WalkResult>,
): Promise<WalkEntry[]> {
  const all: WalkEntry[] = []
  const pending = ['']
  for (let prefix = pending.pop(); prefix !== undefined; prefix = pending.pop()) {
    const {entries, again} = await walk(prefix === '' ? root : join(root, prefix), prefix)
    const under = (path: string) => (prefix === '' ? path : `${prefix}/${path}`)
    for (const e of entries) all.push({path: under(e.path), dirent: e.dirent})
    for (const folder of again) pending.push(under(folder))
  }
  return all
}

/** The last part of a `/`-separated path. */
function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** Whether a listed entry is a folder (not a link to one) whose own name holds a line break. */
function isLineBreakFolder(entry: WalkEntry): boolean {
  return entry.dirent.isDirectory() && !entry.dirent.isSymbolicLink() && LINE_BREAK.test(baseName(entry.path))
}

/**
 * fast-glob's options for the walks of listFilesBelow and listFoldersBelow: links never followed, unreadable folders
 * skipped, dirents returned; `unique: false`, as one pattern cannot list a file twice (the de-duplication costs ~10%
 * of the listing).
 */
const TREE_WALK = {followSymbolicLinks: false, suppressErrors: true, objectMode: true, unique: false} as const

/**
 * Entries below `root` whose names match `pattern` (fast-glob syntax, or several patterns listed in one walk;
 * case-insensitive), of every kind, without following symbolic links or entering dot folders (a pattern whose
 * last part names a dot entry, `.lora-tagger`, still finds such entries). A pattern reaches below the top folder
 * only through a leading `**` segment followed by a name pattern (any other use of `**` is refused); such a pattern
 * finds entries in folders named with a line break too (see the top of this file). The folders in `skip` (paths relative to `root`, compared
 * ignoring case) are not entered.
 * @returns entries in fast-glob's order (callers sort)
 */
export async function findEntries(
  root: string,
  pattern: string | readonly string[],
  skip: readonly string[],
): Promise<ListedEntry[]> {
  const {default: fg} = await import('fast-glob')
  const patterns = typeof pattern === 'string' ? [pattern] : [...pattern]
  const deep = patterns.filter((p) => p.startsWith('**/'))
  for (const p of patterns) {
    if ((p.startsWith('**/') ? p.slice(3) : p).includes('**')) {
      throw new BugError(`findEntries: "${p}" uses ** other than as a leading **/`)
    }
  }
  const skipFolders = skip.map((s) => s.replace(/\/+$/u, '')).filter((s) => s !== '')
  const options = {
    caseSensitiveMatch: false,
    dot: false,
    followSymbolicLinks: false,
    objectMode: true,
  } as const
  const found = await walkTree(root, async (cwd, prefix) => {
    // The skipped folders as the walk of `cwd` sees them: those below it, relative to it (escaped: a path is not a
    // pattern).
    const base = prefix === '' ? '' : `${prefix.toLowerCase()}/`
    const below = skipFolders.filter((s) => s.toLowerCase().startsWith(base)).map((s) => s.slice(base.length))
    const ignore = below.map((s) => `${fg.escapePath(s)}/**`)
    const skipped = new Set(below.map((s) => s.toLowerCase()))
    const [entries, folders] = await Promise.all([
      fg(prefix === '' ? patterns : deep, {...options, cwd, onlyFiles: false, ignore}),
      // The folders to walk again, found by a walk of their own: the patterns list only entries named like images.
      deep.length > 0 ? fg('**/*', {...options, cwd, onlyDirectories: true, ignore}) : [],
    ])
    const again = folders.filter((f) => isLineBreakFolder(f) && !skipped.has(f.path.toLowerCase())).map((f) => f.path)
    return {entries, again}
  })
  return found.map((e) => ({
    path: e.path,
    kind: e.dirent.isFile()
      ? 'file'
      : e.dirent.isSymbolicLink()
        ? 'symlink'
        : e.dirent.isDirectory()
          ? 'folder'
          : 'other',
  }))
}

/** What a listed non-folder entry is, from its directory entry (a symbolic link is `symlink`, never followed). */
export type FileEntryKind = Exclude<FileKind, 'folder'>

/** One entry of `listFilesBelow`: its path relative to the folder listed, `/`-separated, and its kind. */
export interface FileEntry {
  path: string
  kind: FileEntryKind
}

/**
 * Every entry below `root` that is not a folder (regular files, symbolic links, FIFOs, devices, sockets), relative
 * and `/`-separated, with its kind. Symbolic links are never followed (a link to a folder is listed as a `symlink`
 * entry, not walked: a link out of the folder, to `/` or to `.` cannot make the listing read elsewhere or loop);
 * dot folders and the folders named in `skipFolders` (at any depth) are not entered, and a link named like one of
 * them is not listed. Folders named with a line break are walked like any other (see the top of this file).
 * Unreadable folders are skipped.
 */
export async function listFilesBelow(root: string, skipFolders: readonly string[]): Promise<FileEntry[]> {
  const {default: fg} = await import('fast-glob')
  const skipped = new Set(skipFolders)
  const found = await walkTree(root, async (cwd) => {
    const entries = await fg('**/*', {
      ...TREE_WALK,
      cwd,
      onlyFiles: false,
      dot: false,
      // Names, not paths: they hold below a folder walked again as well, relative to it.
      ignore: skipFolders.map((name) => `**/${name}/**`),
    })
    const again = entries.filter((e) => isLineBreakFolder(e) && !skipped.has(baseName(e.path))).map((e) => e.path)
    return {entries, again}
  })
  const entries: FileEntry[] = []
  for (const {path, dirent} of found) {
    if (dirent.isDirectory()) continue
    const kind = kindOf(dirent) as FileEntryKind
    if (kind === 'symlink' && skipped.has(baseName(path))) continue
    entries.push({path, kind})
  }
  return entries
}

/**
 * Every folder below `root` (not `root` itself), relative and `/`-separated, dot folders included: the folders a
 * walk of git's over `root` may enter. Symbolic links are never followed nor listed (git does not follow them
 * either); folders named in `skipNames` (`.git`) are neither listed nor entered. Folders named with a line break
 * are walked like any other (see the top of this file). Unreadable folders are skipped.
 */
export async function listFoldersBelow(root: string, skipNames: readonly string[]): Promise<string[]> {
  const {default: fg} = await import('fast-glob')
  const skipped = new Set(skipNames)
  const found = await walkTree(root, async (cwd) => {
    // `**/*`, not `**`: the last `*` matches a name holding a line break (see the top of this file).
    const listed = await fg('**/*', {
      ...TREE_WALK,
      cwd,
      onlyDirectories: true,
      dot: true,
      ignore: skipNames.map((name) => `**/${fg.escapePath(name)}/**`),
    })
    const entries = listed.filter((e) => !skipped.has(baseName(e.path)))
    return {entries, again: entries.filter(isLineBreakFolder).map((e) => e.path)}
  })
  return found.map((e) => e.path)
}
