/**
 * Folder listings (fast-glob, imported on first use): the one place lora walks a folder tree. Reads only; nothing
 * here changes a file, so the fs adapter's failpoint seam does not count these calls.
 */

/** What a listed entry is, from its directory entry (lstat-like: a symbolic link is `symlink`, never followed). */
export type EntryKind = 'file' | 'symlink' | 'folder' | 'other'

/** One listed entry: its path relative to the folder listed, `/`-separated, and its kind. */
export interface ListedEntry {
  path: string
  kind: EntryKind
}

/**
 * Entries below `root` whose names match `pattern` (fast-glob syntax; case-insensitive), of every kind, without
 * following symbolic links or entering dot folders; `ignore` patterns are skipped.
 * @returns entries in fast-glob's order (callers sort)
 */
export async function findEntries(root: string, pattern: string, ignore: readonly string[]): Promise<ListedEntry[]> {
  const {default: fg} = await import('fast-glob')
  const found = await fg(pattern, {
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

/**
 * Every file below `root` (following symbolic links, as a trainer reading the folder would; not entering dot
 * folders or the folders named in `skipFolders` at any depth), relative and `/`-separated. Unreadable folders are
 * skipped.
 */
export async function listFilesBelow(root: string, skipFolders: readonly string[]): Promise<string[]> {
  const {default: fg} = await import('fast-glob')
  return fg('**/*', {
    cwd: root,
    onlyFiles: true,
    dot: false,
    followSymbolicLinks: true,
    suppressErrors: true,
    unique: false, // one pattern cannot list a file twice; the de-duplication costs ~10% of the listing
    ignore: skipFolders.map((name) => `**/${name}/**`),
  })
}
