/**
 * Folder listings (fast-glob, imported on first use): the one place lora walks a folder tree. Reads only; nothing
 * here changes a file, so the fs adapter's failpoint seam does not count these calls.
 */
import {type FileKind, kindOf} from './fs.js'

/** What a listed entry is, from its directory entry (lstat-like: a symbolic link is `symlink`, never followed). */
export type EntryKind = 'file' | 'symlink' | 'folder' | 'other'

/** One listed entry: its path relative to the folder listed, `/`-separated, and its kind. */
export interface ListedEntry {
  path: string
  kind: EntryKind
}

/**
 * Entries below `root` whose names match `pattern` (fast-glob syntax, or several patterns listed in one walk;
 * case-insensitive), of every kind, without following symbolic links or entering dot folders (a pattern whose
 * last part names a dot entry, `.lora-tagger`, still finds such entries); `ignore` patterns are skipped.
 * @returns entries in fast-glob's order (callers sort)
 */
export async function findEntries(
  root: string,
  pattern: string | readonly string[],
  ignore: readonly string[],
): Promise<ListedEntry[]> {
  const {default: fg} = await import('fast-glob')
  const found = await fg(typeof pattern === 'string' ? pattern : [...pattern], {
    cwd: root,
    caseSensitiveMatch: false,
    onlyFiles: false,
    dot: false,
    followSymbolicLinks: false,
    objectMode: true,
    ignore: [...ignore],
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
 * them is not listed. Unreadable folders are skipped.
 */
export async function listFilesBelow(root: string, skipFolders: readonly string[]): Promise<FileEntry[]> {
  const {default: fg} = await import('fast-glob')
  const found = await fg('**/*', {
    cwd: root,
    onlyFiles: false,
    dot: false,
    followSymbolicLinks: false,
    suppressErrors: true,
    objectMode: true,
    unique: false, // one pattern cannot list a file twice; the de-duplication costs ~10% of the listing
    ignore: skipFolders.map((name) => `**/${name}/**`),
  })
  const skipped = new Set(skipFolders)
  const entries: FileEntry[] = []
  for (const {path, dirent} of found) {
    if (dirent.isDirectory()) continue
    const kind = kindOf(dirent) as FileEntryKind
    if (kind === 'symlink' && skipped.has(path.slice(path.lastIndexOf('/') + 1))) continue
    entries.push({path, kind})
  }
  return entries
}
