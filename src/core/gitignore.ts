/**
 * `.gitignore` lines that hide given files from `git status`, for a message that tells the user how (`lora init
 * --git` leaves the originals untracked beside the dataset). Pure: no I/O.
 *
 * Pattern syntax (gitignore(5)): a leading `/` anchors a pattern to the folder of the `.gitignore` holding it; `*`
 * matches anything but `/`; `\` escapes `*`, `?`, `[`, `\`, a leading `#` or `!`, and a trailing space.
 */

/**
 * The lines for a `.gitignore` in the folder the `paths` are relative to: one `/<dir>/*.<ext>` per folder and
 * extension (so `/*.jpg` for `a.jpg` and `b.jpg`), or the file itself (`/<path>`) when it has no extension. The
 * extension is kept as written (git matches case-sensitively unless `core.ignoreCase`). Sorted, no duplicates.
 * @param paths `/`-separated paths relative to that folder, e.g. `cat.jpg`, `more/dog.PNG`
 */
export function ignoreLinesFor(paths: readonly string[]): string[] {
  const lines = new Set<string>()
  for (const path of paths) {
    const slash = path.lastIndexOf('/')
    const dir = slash === -1 ? '' : path.slice(0, slash + 1)
    const name = path.slice(slash + 1)
    const dot = name.lastIndexOf('.')
    lines.add(
      dot > 0 && dot < name.length - 1
        ? `/${escapePattern(dir)}*.${escapePattern(name.slice(dot + 1))}`
        : `/${escapePattern(path)}`,
    )
  }
  return [...lines].sort()
}

/** Escapes the characters a gitignore pattern treats specially, so `text` matches itself. */
function escapePattern(text: string): string {
  return text.replace(/[\\*?[]/gu, (c) => `\\${c}`).replace(/ $/u, '\\ ')
}
