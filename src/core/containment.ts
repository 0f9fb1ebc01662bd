/**
 * Containment (README "Safety model", rule 1; exports, rule 3): every path that comes from a dataset file or a flag
 * must stay inside the place it belongs to. A dataset may come from anywhere (a git clone, an archive), so its
 * files are data to check, never paths to trust. These are the pure checks (lexical, on the text of a path; no
 * I/O); the store resolves symbolic links and calls them, and refuses a record that fails before any command acts
 * on it.
 */
import {shellQuote} from './shell.js'
import {isAbsolute, relative, sep} from 'node:path'
import {DatasetError, type OddFileKind, oddFileKindText, UsageError} from '../errors.js'
import {escapeControls} from './terminal-text.js'
import {IMAGE_EXTENSIONS} from './naming.js'
import {overCapText} from './caption-encoding.js'

/**
 * Why `name` is not a plain file name (one path component: not empty, no `/` or `\`, not `.` or `..`, no NUL),
 * or undefined when it is one.
 */
export function plainNameProblem(name: unknown): string | undefined {
  // Plain string searches, no regex or split: state.json of 100,000 images is checked on every load.
  if (typeof name !== 'string' || name === '') return 'is not a file name'
  if (name.includes('/') || name.includes('\\')) return 'holds a path separator'
  if (name === '.' || name === '..') return 'is "." or ".."'
  if (name.includes('\0')) return 'holds a NUL character'
  return undefined
}

/**
 * Why `path` is not a relative path that stays inside the folder it is relative to (lexically: not absolute, no
 * drive letter, no `..` component, no NUL, not empty), or undefined when it is one. `/`- or `\`-separated.
 */
export function relativePathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path === '') return 'is not a path'
  if (path.includes('\0')) return 'holds a NUL character'
  const first = path.charCodeAt(0)
  if (first === 0x2f || first === 0x5c || (path.charCodeAt(1) === 0x3a && /^[A-Za-z]/u.test(path))) return 'is absolute'
  // The common case, a path with no ".." and not only dots and separators, needs no split.
  if (!path.includes('..') && hasNameCharacter(path)) return undefined
  const parts = path.split(/[/\\]+/u).filter((p) => p !== '' && p !== '.')
  if (parts.length === 0) return 'names the folder itself'
  if (parts.includes('..')) return 'climbs out with ".."'
  return undefined
}

/** True when `path` holds a character other than `.`, `/` and `\` (so it names something below its folder). */
function hasNameCharacter(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c !== 0x2e && c !== 0x2f && c !== 0x5c) return true
  }
  return false
}

/**
 * True when `child` is `parent` or lies inside it. Both must be absolute and already resolved (symbolic links
 * followed) by the caller; the comparison is by path components, so `/data/set-2` is not inside `/data/set`.
 */
export function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child)
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith('..' + sep))
}

/** A shape with the fields of the state's records that name files (core/state.ts; kept loose: the file is unchecked input). */
interface RecordPaths {
  images: readonly unknown[]
  duplicates: readonly unknown[]
  problems: readonly unknown[]
}

const STATE_HINT =
  'A dataset from elsewhere must not point outside itself. Fix that record (`file` is a plain name such as img_0001.jpg in the output folder; `source` a path inside the dataset folder), or restore the file from git or a backup.'

/** What follows the id in an image record's file: one dot and an extension lora imports (core/naming.ts). */
const IMAGE_FILE_TAIL = new RegExp(`\\.(?:${IMAGE_EXTENSIONS.join('|')})$`, 'iuy')

/**
 * Why an image record's plain file name `file` is not `<id>.<image extension>` (as lora init and lora repair name
 * every image), or undefined when it is. Exports and caption files derive names from it: a file without an
 * extension, with a caption's, or of another id's stem would collide or lose characters. Makes no string.
 */
function imageFileProblem(id: unknown, file: string): string | undefined {
  if (typeof id !== 'string') return undefined // parseState names a record without an id first
  IMAGE_FILE_TAIL.lastIndex = id.length // sticky: matched from there
  return file.startsWith(id) && IMAGE_FILE_TAIL.test(file)
    ? undefined
    : 'is not the image id followed by an image extension such as .jpg'
}

/**
 * Checks the paths in a parsed state.json: every image record's `file` is a plain file name (it lives in the
 * output folder), its id followed by an image extension, and its `source` a relative path inside the dataset
 * folder; the `source` of duplicate and problem records likewise.
 * @param source the file's name, for messages (`.lora-tagger/state.json`)
 * @throws DatasetError naming the file and the record (its id, or its position), before anything acts on it
 */
export function checkStatePaths(state: RecordPaths, source: string): void {
  const images = state.images
  for (let index = 0; index < images.length; index++) {
    const record = (images[index] ?? {}) as {id?: unknown; file?: unknown; source?: unknown}
    const fileProblem = plainNameProblem(record.file) ?? imageFileProblem(record.id, record.file as string)
    const sourceProblem = fileProblem ? undefined : relativePathProblem(record.source)
    if (!fileProblem && !sourceProblem) continue
    const name =
      typeof record.id === 'string' ? `image record ${escapeControls(record.id)}` : `image record #${index + 1}`
    if (fileProblem)
      throw new DatasetError(
        `${source}: ${name} has file ${shown(record.file)}, which ${fileProblem}: it must name a file in the output folder; nothing was done.`,
        STATE_HINT,
      )
    throw new DatasetError(
      `${source}: ${name} has source ${shown(record.source)}, which ${sourceProblem}: it must be a path inside the dataset folder; nothing was done.`,
      STATE_HINT,
    )
  }
  for (const [kind, list] of [
    ['duplicate', state.duplicates],
    ['problem', state.problems],
  ] as const) {
    for (const [index, item] of list.entries()) {
      const record = (item ?? {}) as {source?: unknown}
      const problem = relativePathProblem(record.source)
      if (problem)
        throw new DatasetError(
          `${source}: ${kind} record #${index + 1} has source ${shown(record.source)}, which ${problem}: it must be a path inside the dataset folder; nothing was done.`,
          STATE_HINT,
        )
    }
  }
}

/** The paths a journal op names (core of store/journal.ts's ops), each with its field name. */
export function journalOpPaths(op: unknown): {field: string; path: unknown}[] {
  const o = (op ?? {}) as {op?: unknown; path?: unknown; source?: unknown; target?: unknown}
  return o.op === 'place-image'
    ? [
        {field: 'source', path: o.source},
        {field: 'target', path: o.target},
      ]
    : [{field: 'path', path: o.path}]
}

/**
 * Checks a parsed journal.json: an object with a list of ops of the known kinds (`place-image`, `create`, `write`),
 * each naming paths inside the dataset folder (relative, no `..`).
 * @param source the file's name, for messages (`.lora-tagger/journal.json`)
 * @throws DatasetError naming the file and the op, before any op is applied
 */
export function checkJournalPaths(journal: unknown, source: string): void {
  const hint = `lora writes its journal for one change and removes it when done; one that points outside the dataset was not written by lora. Remove ${source} (no change of lora's is pending in it), then rerun the command.`
  const ops = (journal as {ops?: unknown} | null)?.ops
  if (!Array.isArray(ops))
    throw new DatasetError(`${source} is not a lora journal (it has no list of ops); nothing was done.`, hint)
  for (const [index, op] of ops.entries()) {
    const kind = (op as {op?: unknown} | null)?.op
    if (kind !== 'place-image' && kind !== 'create' && kind !== 'write')
      throw new DatasetError(
        `${source}: op #${index + 1} is of an unknown kind ${shown(kind)}; nothing was done.`,
        hint,
      )
    for (const {field, path} of journalOpPaths(op)) {
      const problem = relativePathProblem(path)
      if (problem)
        throw new DatasetError(
          `${source}: op #${index + 1} (${kind}) has ${field} ${shown(path)}, which ${problem}: it must be a path inside the dataset folder; nothing was done.`,
          hint,
        )
    }
  }
}

/**
 * The error for a journal's `place-image` op whose source is not the image lora recorded: not a regular file (a
 * symbolic link, FIFO, device or folder, which is never read, copied or linked), or bytes without the op's sha256.
 * The journal stays; the hint says to put the original back, or to remove a journal lora did not write.
 * @param source the journal's name, for messages (`.lora-tagger/journal.json`)
 * @param index the op's index in the journal's `ops` (0-based; messages count from 1)
 * @param op the op's `source` and `target`
 * @param problem what is wrong with the source, as the end of a clause (`is a symbolic link, not a regular image file`)
 */
export function journalSourceError(
  source: string,
  index: number,
  op: {source: string; target: string},
  problem: string,
): DatasetError {
  return new DatasetError(
    `${source}: op #${index + 1} (place-image) has source ${shown(op.source)}, which ${problem}; nothing was placed at ${shown(op.target)}.`,
    `lora's journal places only images lora read and hashed. Remove ${source} if lora did not write it (no change of lora's is pending in it); if ${escapeControls(op.source)} was replaced since lora's change began, put the original back instead. Then rerun the command.`,
  )
}

// OddFileKind and oddFileKindText live in errors.ts (its error printer names odd files too); re-exported here, where
// the containment rules use them.
export {type OddFileKind, oddFileKindText} from '../errors.js'

/**
 * The error for a dataset file that is not a regular file (rule 1: lora reads, writes and deletes only regular
 * files there, never through a symbolic link).
 * @param rel the file, relative to the dataset folder
 * @param what what lora expected there (`caption file`, `state file`, ...)
 */
export function oddFileError(rel: string, kind: OddFileKind, what: string): DatasetError {
  return new DatasetError(
    `${escapeControls(rel)} is ${oddFileKindText(kind)}, not a regular ${what}; lora does not read or write through it, and nothing was done.`,
    kind === 'symlink'
      ? `Replace the link with a regular file (e.g. \`cp --remove-destination "$(readlink -f ${shellQuote(rel)})" ${shellQuote(rel)}\` if its target is yours to copy), or remove it; then rerun the command.`
      : `Remove it or move it out of the way (a ${what} must be a regular file), then rerun the command.`,
  )
}

/**
 * The error for one of the dataset's own files (state.json, the journal, tags.txt, the config) larger than lora
 * reads (fs adapter WHOLE_READ_MAX_BYTES): lora writes these itself and never makes one that large, so it was put
 * there by hand or by someone else. Nothing of it was read (exit 1).
 * @param rel the file, relative to the dataset folder (escaped here)
 * @param size its size in bytes
 * @param maxBytes the most lora reads of it
 * @param what what the file is (`state file`, `journal file`)
 */
export function tooLargeFileError(rel: string, size: number, maxBytes: number, what: string): DatasetError {
  return new DatasetError(
    `${escapeControls(rel)} ${overCapText(size, maxBytes)} for a ${what}; nothing of it was read, and nothing was done.`,
    `lora never writes a ${what} that large: look at what it holds (\`head -c 300 ${escapeControls(shellQuote(rel))}\`), then put back lora's own (from the dataset's history, \`git log -- ${escapeControls(shellQuote(rel))}\`, or a backup) or move it away, and run the command again.`,
  )
}

/**
 * The error for a file named on the command line that lora reads (`lora tags import FILE`) but that is not a
 * regular file (rule 1: never read through a symbolic link, never open a FIFO or device where a file is expected,
 * so nothing can hang or read a secret by a link): a usage error (exit 2) naming the file, what it is, and what to
 * pass instead.
 * @param given the path as the user typed it
 * @param kind what is there
 * @param target for a symbolic link: where it leads (resolved), to suggest passing that file itself
 * @param command the command line to repeat with the real file (`lora tags import`)
 */
export function notRegularInputError(given: string, kind: OddFileKind, command: string, target?: string): UsageError {
  const quote = (p: string) => (/^[\w./@%+=:,-]+$/u.test(p) ? p : `'${p.replace(/'/gu, `'\\''`)}'`)
  return new UsageError(
    `${escapeControls(given)} is ${oddFileKindText(kind)}, not a regular file; lora reads only regular files here (it does not follow links or open pipes and devices), and nothing was done.`,
    kind === 'symlink' && target
      ? `Pass the real file: ${command} ${escapeControls(quote(target))}`
      : `Pass the real file (a regular file holding the data): ${command} FILE`,
  )
}

/** One place an export must not write into: its resolved path and how messages name it. */
export interface ProtectedPlace {
  path: string
  name: string
}

/**
 * Why an export destination is refused (rule 3), or undefined when it may be written: the destination (resolved,
 * symbolic links followed) is or lies inside one of the protected places (the dataset folder, its output folder,
 * `.lora-tagger/`, a folder holding originals). The first place it lies inside is named; list the narrowest first.
 * @param given the destination as the user gave it; `resolved` the same, resolved
 */
export function exportDestinationProblem(
  given: string,
  resolved: string,
  places: readonly ProtectedPlace[],
): UsageError | undefined {
  const place = places.find((p) => isInside(resolved, p.path))
  if (!place) return undefined
  const through = resolved === given ? '' : ` (it resolves to ${escapeControls(resolved)})`
  return new UsageError(
    `The export destination ${escapeControls(given)}${through} is ${resolved === place.path ? '' : 'inside '}${place.name} (${escapeControls(place.path)}); an export never writes into the dataset, so nothing was written.`,
    'Choose a destination outside the dataset folder, e.g. `lora export ../train`.',
  )
}

function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(escapeControls(value)) : String(JSON.stringify(value) ?? value)
}
